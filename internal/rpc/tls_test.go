package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "atcc test coordinator"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	checkLeaks(t)
	cert, pool := selfSigned(t)
	srv := newTestServer(t, ServerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, &tc{})
	cfg := testClientConfig(srv.Addr().String())
	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	cfg.HeartbeatInterval = 10 * time.Millisecond // PINGs over TLS too
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.AddResource(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := begin(ctx, c, "tls-"+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// A client that does not trust the certificate never gets a session.
	cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	cfg.DialTimeout = 100 * time.Millisecond
	untrusting := newTestClient(t, cfg)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := untrusting.Ping(short); !errors.Is(err, ErrNoSession) {
		t.Errorf("Ping with an untrusted certificate: %v", err)
	}
	// Nor does a plain-TCP client.
	cfg.TLS = nil
	plain := newTestClient(t, cfg)
	short2, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if err := plain.Ping(short2); !errors.Is(err, ErrNoSession) {
		t.Errorf("Ping without TLS: %v", err)
	}
}

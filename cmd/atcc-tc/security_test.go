package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// tryBegin begins a transaction with cfg within 3 seconds.
func tryBegin(cfg rpc.ClientConfig) error {
	cfg.DialTimeout = time.Second
	c, err := rpc.NewClient(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = c.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "t"})
	return err
}

func TestServeWithAccessKeys(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("# ak sk [app]\nak1 sk1\nak2 sk2 orders\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, "-access-keys", keys)
	cfg := rpc.ClientConfig{Addresses: []string{addr}, ApplicationID: "test"}
	if err := tryBegin(cfg); err == nil {
		t.Fatal("an unsigned client began a transaction")
	}
	cfg.AccessKey, cfg.SecretKey = "ak1", "sk1"
	if err := tryBegin(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.AccessKey, cfg.SecretKey = "ak2", "sk2" // bound to orders
	if err := tryBegin(cfg); err == nil {
		t.Fatal("a key bound to orders registered as test")
	}
}

func TestServeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caKey, ca := newCert(t, "test CA", nil, nil, true)
	srvKey, srv := newCert(t, "coordinator", ca, caKey, false)
	cliKey, cli := newCert(t, "orders-svc", ca, caKey, false)
	write := func(name string, blocks ...*pem.Block) string {
		var b bytes.Buffer
		for _, bl := range blocks {
			pem.Encode(&b, bl)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyBlock := func(k *ecdsa.PrivateKey) *pem.Block {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	addr := serve(t, "-tls-cert", write("srv.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}),
		"-tls-key", write("srv.key", keyBlock(srvKey)),
		"-tls-client-ca", write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		"-cert-apps", "orders-svc=orders")
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	cfg := rpc.ClientConfig{Addresses: []string{addr}, ApplicationID: "orders",
		TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	if err := tryBegin(cfg); err == nil {
		t.Fatal("a client without a certificate began a transaction")
	}
	cfg.TLS.Certificates = []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}}
	if err := tryBegin(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ApplicationID = "billing"
	if err := tryBegin(cfg); err == nil {
		t.Fatal("orders' certificate registered as billing")
	}
}

// newCert makes a certificate for cn signed by parent (self-signed when nil).
func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, c
}

func TestSecurityBadArguments(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("only-a-key\n"), 0o600)
	for _, args := range [][]string{
		{"-tls-cert", "x.pem"},
		{"-tls-key", "x.key"},
		{"-tls-client-ca", "ca.pem"},
		{"-tls-cert", "missing.pem", "-tls-key", "missing.key"},
		{"-access-keys", "missing"},
		{"-access-keys", bad},
		{"-cert-apps", "cn=app"},
	} {
		var out, errs bytes.Buffer
		if err := run(nil, args, &out, &errs); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

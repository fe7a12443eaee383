package seataconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeCert writes a self-signed certificate and its key as PEM files in
// dir.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tc.example"},
		DNSNames:              []string{"tc.example"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	conf := filepath.Join(dir, "seatago.yml")
	require.NoError(t, os.WriteFile(conf, []byte(`
seata:
  service: {vgroup-mapping: {default_tx_group: d}, grouplist: {d: "tc.example:8091"}}
  transport:
    tls:
      enabled: true
      ca-file: ca.pem
      cert-file: ca.pem
      key-file: `+filepath.Join(dir, "key.pem")+`
      server-name: tc.example
`), 0o600))
	s, err := LoadSeataGo(conf, Options{})
	require.NoError(t, err)
	require.NotNil(t, s.Client.TLS)
	assert.Equal(t, "tc.example", s.Client.TLS.ServerName)
	assert.Equal(t, uint16(tls.VersionTLS12), s.Client.TLS.MinVersion)
	require.Len(t, s.Client.TLS.Certificates, 1)
	require.NotNil(t, s.Client.TLS.RootCAs)
	// The pool holds the CA: the certificate verifies against it.
	leaf, err := x509.ParseCertificate(s.Client.TLS.Certificates[0].Certificate[0])
	require.NoError(t, err)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: s.Client.TLS.RootCAs, DNSName: "tc.example"})
	require.NoError(t, err)
}

func TestTLSOffAndErrors(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	base := "seata:\n  service: {vgroup-mapping: {default_tx_group: d}, grouplist: {d: \"h:1\"}}\n  transport:\n    tls:\n"
	for name, tc := range map[string]struct{ tls, want string }{
		"off":          {"      enabled: false\n      ca-file: nope.pem\n", ""},
		"missing ca":   {"      enabled: true\n      ca-file: nope.pem\n", "transport.tls.ca-file: open"},
		"not pem":      {"      enabled: true\n      ca-file: seatago.yml\n", ":6: transport.tls.ca-file: no PEM certificate in seatago.yml"},
		"cert alone":   {"      enabled: true\n      cert-file: ca.pem\n", ":6: transport.tls.cert-file: a certificate file needs transport.tls.key-file"},
		"key alone":    {"      enabled: true\n      key-file: ca.pem\n", ":6: transport.tls.key-file: a key file needs transport.tls.cert-file"},
		"bad key pair": {"      enabled: true\n      cert-file: ca.pem\n      key-file: ca.pem\n", ":6: transport.tls.cert-file: with transport.tls.key-file"},
	} {
		t.Run(name, func(t *testing.T) {
			conf := filepath.Join(dir, "seatago.yml")
			require.NoError(t, os.WriteFile(conf, []byte(base+tc.tls), 0o600))
			s, err := LoadSeataGo(conf, Options{})
			if tc.want == "" {
				require.NoError(t, err)
				assert.Nil(t, s.Client.TLS)
				return
			}
			require.ErrorIs(t, err, ErrInvalid)
			var ke *KeyError
			require.ErrorAs(t, err, &ke)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

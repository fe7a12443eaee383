package rpc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// The digests below were computed by hand, outside this package (a few
// lines of Python's hmac module following RamSignAdapter step by step),
// and the first is Apache Seata's own test vector
// (core/src/test/java/org/apache/seata/core/auth/RamSignAdapterTest.java).
func TestSeataDigestGolden(t *testing.T) {
	for _, c := range []struct {
		group, ip string
		ts        int64
		secret    string
		want      string
	}{
		{"testGroup", "127.0.0.1", 1702564471650, "exampleEncryptKey", "6g9nMk6BRLFxl7bf5ZfWaEZvGdho3JBmwvx5rqgSUCE="},
		{"default_tx_group", "192.168.1.10", 1733443200123, "mySecretK3y", "2T3EI6VjcrzqVOe9O4ldJl38aT0aDmWLeEtC+AnU88o="},
		{"my_test_tx_group", "127.0.0.1", 1700000000000, "secret", "5AQA7lqiZ5xRe2wm3fDKOkLWkpL4NkR8zvNoCE+QRNc="},
		// 23:59:59.999 UTC: the date of the key is the UTC one.
		{"g", "10.0.0.1", 1733529599999, "s", "nas5eYIYmQI7RqE+8iF4WbN7+kOt7YbJqfVmqFCvojg="},
	} {
		if got := seataDigest(c.group, c.ip, c.ts, c.secret); got != c.want {
			t.Errorf("seataDigest(%q, %q, %d, %q) = %s, want %s", c.group, c.ip, c.ts, c.secret, got, c.want)
		}
	}
}

// TestServerAuthCheck covers every refusal of the digest check.
func TestServerAuthCheck(t *testing.T) {
	now := time.UnixMilli(1733443200123)
	a := &ServerAuth{AccessKeys: []AccessKey{{Key: "ak1", Secret: "sk1"}, {Key: "ak2", Secret: "sk2", ApplicationID: "orders"}}}
	sign := func(ak, sk, group, ip string, at time.Time) string {
		return signedExtraData(ak, sk, group, ip, at)
	}
	ok := []struct{ app, extra string }{
		{"any", sign("ak1", "sk1", "g", "10.0.0.7", now)},
		{"orders", sign("ak2", "sk2", "g", "10.0.0.7", now)},
		{"any", sign("ak1", "sk1", "g", "10.0.0.7", now.Add(-4*time.Minute))},
		// Java's TM: its own lines first, then vgroup and ip appended by RegisterTMRequest.
		{"any", "ak=ak1\ndigest=" + seataDigest("g", "10.1.2.3", now.UnixMilli(), "sk1") + "\ntimestamp=" + itoa(int(now.UnixMilli())) + "\nauthVersion=V4\nvgroup=g\nip=10.1.2.3\n"},
	}
	for _, c := range ok {
		if who, err := a.check(c.app, "g", c.extra, nil, now); err != nil || !strings.HasPrefix(who, "ak:") {
			t.Errorf("check(%q, %q) = %q, %v; want accepted", c.app, c.extra, who, err)
		}
	}
	bad := []struct{ why, app, group, extra string }{
		{"no credentials", "any", "g", ""},
		{"ak null (Java without a key)", "any", "g", "ak=null\ndigest=g,1.2.3.4,1\ntimestamp=1\n"},
		{"unknown key", "any", "g", sign("ak9", "sk1", "g", "10.0.0.7", now)},
		{"wrong secret", "any", "g", sign("ak1", "sk2", "g", "10.0.0.7", now)},
		{"other group", "any", "h", sign("ak1", "sk1", "g", "10.0.0.7", now)},
		{"stale", "any", "g", sign("ak1", "sk1", "g", "10.0.0.7", now.Add(-6*time.Minute))},
		{"future", "any", "g", sign("ak1", "sk1", "g", "10.0.0.7", now.Add(6*time.Minute))},
		{"key bound to another app", "billing", "g", sign("ak2", "sk2", "g", "10.0.0.7", now)},
		{"ip changed", "any", "g", strings.Replace(sign("ak1", "sk1", "g", "10.0.0.7", now), "ip=10.0.0.7", "ip=10.0.0.8", 1)},
	}
	for _, c := range bad {
		if who, err := a.check(c.app, c.group, c.extra, nil, now); !errors.Is(err, errAuth) {
			t.Errorf("%s: check = %q, %v; want refused", c.why, who, err)
		}
	}
	if who, err := (&ServerAuth{}).check("x", "g", "", nil, now); who != "" || err != nil {
		t.Errorf("auth off: %q, %v", who, err)
	}
}

// TestServerAuthRegistration: with access keys configured, an unsigned
// client is refused (identified = false, connection closed) while a signed
// one, beside it, keeps working.
func TestServerAuthRegistration(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Auth: ServerAuth{AccessKeys: []AccessKey{{Key: "ak", Secret: "sk"}}}}, &tc{})
	good := testClientConfig(srv.Addr().String())
	good.AccessKey, good.SecretKey = "ak", "sk"
	c := newTestClient(t, good)
	ctx := context.Background()
	if err := c.AddResource(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := begin(ctx, c, "ok"); err != nil {
		t.Fatal(err)
	}
	for _, ss := range srv.Sessions() {
		if ss.Roles() == 0 {
			continue // a connection still registering
		}
		if got := ss.Authenticated(); got != "ak:ak" {
			t.Errorf("session %d (roles %v, app %q) authenticated as %q", ss.ID(), ss.Roles(), ss.ApplicationID(), got)
		}
	}

	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterTMRequest{Version: "2.2.0", ApplicationID: "x", TxServiceGroup: "g"}))
	f := mustRecv(t, r)
	if resp, ok := f.Body.(*protocol.RegisterTMResponse); !ok || resp.Identified {
		t.Fatalf("unsigned RegisterTM answered %+v", f.Body)
	}
	if f, err := r.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("got %+v, %v; want the connection closed", f, err)
	}
	r = dialRaw(t, srv.Addr().String())
	wrong := signedExtraData("ak", "not-sk", "g", "127.0.0.1", time.Now())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "x", TxServiceGroup: "g", ExtraData: wrong, ResourceIDs: "r1"}))
	if resp, ok := mustRecv(t, r).Body.(*protocol.RegisterRMResponse); !ok || resp.Identified {
		t.Fatal("RegisterRM with a wrong digest accepted")
	}
	if err := begin(ctx, c, "still ok"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().Refused; got["registration"] != 2 || len(got) != 1 {
		t.Errorf("Stats.Refused = %v, want 2 registrations", got)
	}
}

// TestServerCertBoundApplication: a verified client certificate bound to
// an application authenticates its sessions, for that application only.
func TestServerCertBoundApplication(t *testing.T) {
	checkLeaks(t)
	serverCert, serverPool := selfSigned(t)
	ca, caKey := testCA(t)
	clientCert := issueClient(t, ca, caKey, "orders-service")
	caPool := x509.NewCertPool()
	caPool.AddCert(ca)
	srv := newTestServer(t, ServerConfig{
		TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: caPool,
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
		Auth: ServerAuth{CertApplications: map[string]string{"orders-service": "orders"}},
	}, &tc{})
	cfg := testClientConfig(srv.Addr().String())
	cfg.TLS = &tls.Config{RootCAs: serverPool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}
	cfg.ApplicationID = "orders"
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := begin(ctx, c, "ok"); err != nil {
		t.Fatal(err)
	}
	if ss := sessionsWith(srv, RoleTM); len(ss) != 1 || ss[0].Authenticated() != "cert:orders-service" {
		t.Fatalf("sessions %v", ss)
	}
	cfg.ApplicationID = "billing" // the same certificate, another application
	cfg.DialTimeout = 500 * time.Millisecond
	impostor := newTestClient(t, cfg)
	ctx2, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := begin(ctx2, impostor, "no"); err == nil {
		t.Fatal("a certificate bound to orders registered as billing")
	}
}

func testCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func issueClient(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestServerConnectionLimits: connections over MaxConnections are closed
// at once, and a slot frees when a connection leaves; the legitimate
// client, connected first, keeps working throughout.
func TestServerConnectionLimits(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Limits: ServerLimits{MaxConnections: 4, RegisterTimeout: -1}}, &tc{})
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := c.AddResource(ctx, "r"); err != nil { // TM and RM: 2 connections
		t.Fatal(err)
	}
	if err := begin(ctx, c, "x"); err != nil {
		t.Fatal(err)
	}
	var held []*rawConn
	for range 2 {
		r := dialRaw(t, srv.Addr().String())
		r.send(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 1})
		mustRecv(t, r)
		held = append(held, r)
	}
	for range 3 {
		r := dialRaw(t, srv.Addr().String())
		if f, err := r.recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("connection over the limit: got %+v, %v; want it closed", f, err)
		}
	}
	if err := begin(ctx, c, "still"); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().Refused["connection_limit"]; got != 3 {
		t.Errorf("Stats.Refused[connection_limit] = %d, want 3", got)
	}
	held[0].nc.Close()
	eventually(t, "a slot frees", func() bool { return srv.Stats().Sessions == 3 })
	r := dialRaw(t, srv.Addr().String())
	r.send(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 1})
	mustRecv(t, r)
}

// TestServerPerHostLimit: one host cannot take every connection.
func TestServerPerHostLimit(t *testing.T) {
	a := newAdmission(ServerLimits{MaxConnections: 10, MaxConnectionsPerHost: 2}.withDefaults(), nil)
	for range 2 {
		if err := a.admit("10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.admit("10.0.0.1"); !errors.Is(err, errTooManyConns) {
		t.Fatalf("third connection from one host: %v", err)
	}
	if err := a.admit("10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	a.release("10.0.0.1")
	if err := a.admit("10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if d := (ServerLimits{}).withDefaults().MaxConnections; d > fdBudget() {
		t.Errorf("default MaxConnections %d is above the descriptor budget %d", d, fdBudget())
	}
}

// TestServerRegisterDeadline: a connection that only sends heartbeats is
// closed after RegisterTimeout; a registered one beside it stays.
func TestServerRegisterDeadline(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Limits: ServerLimits{RegisterTimeout: 200 * time.Millisecond}}, &tc{})
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := begin(ctx, c, "x"); err != nil {
		t.Fatal(err)
	}
	r := dialRaw(t, srv.Addr().String())
	for {
		r.send(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 1})
		if _, err := r.recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // a heartbeat every 20ms: heartbeats do not count
	}
	if err := begin(ctx, c, "still"); err != nil {
		t.Fatal(err)
	}
}

// partialFrame writes the header of a frame of n bytes and body bytes of
// it, never completing it.
func partialFrame(t *testing.T, r *rawConn, n, body int) {
	t.Helper()
	b, err := protocol.AppendFrame(nil, seata(protocol.RequestSync, 1, &protocol.GlobalBeginRequest{TransactionName: "x"}))
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint32(b[3:7], uint32(n)) // full length
	b = append(b[:protocol.HeaderLength], make([]byte, body)...)
	if _, err := r.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestServerBufferedBytesLimit: incomplete frames count against
// MaxBufferedBytes from their header; the connection that would pass it is
// closed, and the budget returns when the holders leave.
func TestServerBufferedBytesLimit(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Limits: ServerLimits{MaxBufferedBytes: 3 << 20, MaxFrameBytes: 2 << 20}}, &tc{})
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := begin(ctx, c, "x"); err != nil {
		t.Fatal(err)
	}
	tooLong := dialRaw(t, srv.Addr().String())
	partialFrame(t, tooLong, 3<<20, 10)
	if _, err := tooLong.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("a frame over MaxFrameBytes: %v, want closed", err)
	}
	first := dialRaw(t, srv.Addr().String())
	partialFrame(t, first, 2<<20, 100)
	eventually(t, "first frame counted", func() bool { return srv.adm.buffered.Load() == 2<<20 })
	second := dialRaw(t, srv.Addr().String())
	partialFrame(t, second, 2<<20, 100)
	if _, err := second.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("a frame over MaxBufferedBytes: %v, want closed", err)
	}
	if err := begin(ctx, c, "still"); err != nil {
		t.Fatal(err)
	}
	first.nc.Close()
	eventually(t, "budget returned", func() bool { return srv.adm.buffered.Load() == 0 })
}

// TestServerResourceLimits: a RegisterRM with too many or too long
// resource ids is refused and its connection closed.
func TestServerResourceLimits(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Limits: ServerLimits{MaxResourceIDs: 3, MaxResourceIDBytes: 16}}, &tc{})
	for _, ids := range []string{"a,b,c,d", strings.Repeat("x", 17)} {
		r := dialRaw(t, srv.Addr().String())
		r.send(seata(protocol.RequestSync, 1, &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "x", TxServiceGroup: "g", ResourceIDs: ids}))
		if resp, ok := mustRecv(t, r).Body.(*protocol.RegisterRMResponse); !ok || resp.Identified {
			t.Fatalf("RegisterRM %q accepted", ids)
		}
		if _, err := r.recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("RegisterRM %q: connection not closed: %v", ids, err)
		}
	}
	// Three ids in two registrations fill the session; the fourth is refused.
	r := dialRaw(t, srv.Addr().String())
	for i, ids := range []string{"a,b", "c", "d"} {
		r.send(seata(protocol.RequestSync, int32(i+1), &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "x", TxServiceGroup: "g", ResourceIDs: ids}))
		resp, _ := mustRecv(t, r).Body.(*protocol.RegisterRMResponse)
		if want := i < 2; resp == nil || resp.Identified != want {
			t.Fatalf("RegisterRM %q: %+v, want identified %v", ids, resp, want)
		}
	}
}

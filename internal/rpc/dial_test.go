package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// notACoordinator listens on loopback and runs serve on every accepted
// connection: a TCP server that is not a Seata coordinator.
func notACoordinator(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestConnectFailsFastWithTheCause is issue 13's coordinator-down case for
// every kind of wrong address: a begin and a ping fail within DialTimeout
// plus 2 s (a bound, not a speed assertion), with an error that names the
// address and the cause.
func TestConnectFailsFastWithTheCause(t *testing.T) {
	checkLeaks(t)
	const dialTimeout = time.Second
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	garbage := func(t *testing.T) string {
		return notACoordinator(t, func(c net.Conn) {
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			_, _ = io.Copy(io.Discard, c)
		})
	}
	silent := func(t *testing.T) string {
		return notACoordinator(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	}
	for _, tt := range []struct {
		name   string
		addr   func(t *testing.T) string
		tls    bool
		want   error  // errors.Is target, or nil
		reason string // in the text
	}{
		{"refused", closedPort, false, syscall.ECONNREFUSED, "connection refused"},
		{"garbage", garbage, false, ErrNotCoordinator, "not a Seata coordinator"},
		{"silent", silent, false, context.DeadlineExceeded, "no answer within DialTimeout"},
		{"tls to plain", garbage, true, nil, "TLS handshake with"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr(t)
			cfg := testClientConfig(addr)
			cfg.DialTimeout = dialTimeout
			cfg.reconnectMin, cfg.reconnectMax = time.Second, time.Second
			cfg.RequestTimeout = time.Minute // fail fast must not wait for it
			if tt.tls {
				cfg.TLS = &tls.Config{InsecureSkipVerify: true}
			}
			c := newTestClient(t, cfg)
			start := time.Now()
			_, err := c.Call(context.Background(), RoleTM, &protocol.GlobalBeginRequest{})
			took := time.Since(start)
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
			if !errors.Is(err, ErrNoSession) {
				t.Fatalf("err = %v", err)
			}
			if took > dialTimeout+2*time.Second {
				t.Errorf("begin failed after %v, want within DialTimeout %v + 2s", took, dialTimeout)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %q, want the address %s and %q in it", err, addr, tt.reason)
			}
			start = time.Now()
			if err := c.Ping(context.Background()); !errors.Is(err, ErrNoSession) {
				t.Errorf("Ping: %v", err)
			}
			if took := time.Since(start); took > dialTimeout+2*time.Second {
				t.Errorf("Ping failed after %v", took)
			}
		})
	}
}

// A session lost to a coordinator restart is not a failure: a begin issued
// while the slot reconnects waits for the reconnection.
func TestBeginWaitsForReconnectAfterLoss(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	srv := newTestServer(t, ServerConfig{}, h)
	addr := srv.Addr().String()
	cfg := testClientConfig(addr)
	cfg.reconnectMin, cfg.reconnectMax = 200*time.Millisecond, 200*time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ss := range sessionsWith(srv, RoleTM) {
		ss.Close()
	}
	eventually(t, "session lost", func() bool { return c.Stats().Sessions < 2 })
	if err := begin(context.Background(), c, "after-loss"); err != nil {
		t.Fatalf("begin after a lost session: %v", err)
	}
}

// getty's lines go to the logger of the client that dials the address they
// name, at debug level and without stack traces; other clients' loggers
// and stderr see none of them.
func TestGettyLinesGoToTheirClient(t *testing.T) {
	checkLeaks(t)
	var bufA, bufB, bufOther syncBuffer
	logger := func(w io.Writer) *slog.Logger {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	SetGettyLogger(logger(&bufOther))
	t.Cleanup(func() { SetGettyLogger(nil) })
	dead := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	addrA, addrB := dead(), dead()
	for _, x := range []struct {
		addr string
		buf  *syncBuffer
	}{{addrA, &bufA}, {addrB, &bufB}} {
		cfg := testClientConfig(x.addr)
		cfg.Logger = logger(x.buf)
		c := newTestClient(t, cfg)
		if err := c.Ping(context.Background()); !errors.Is(err, ErrNoSession) {
			t.Fatalf("Ping: %v", err)
		}
		c.Close()
	}
	a, b := bufA.String(), bufB.String()
	if !strings.Contains(a, "lib=getty") || !strings.Contains(a, addrA) || strings.Contains(a, addrB) {
		t.Errorf("client A's log:\n%s", a)
	}
	if !strings.Contains(b, "lib=getty") || !strings.Contains(b, addrB) || strings.Contains(b, addrA) {
		t.Errorf("client B's log:\n%s", b)
	}
	for _, l := range strings.Split(strings.TrimSpace(a+b), "\n") {
		if strings.Contains(l, "lib=getty") && !strings.Contains(l, "level=DEBUG") {
			t.Errorf("getty line above debug: %s", l)
		}
	}
	if strings.Contains(a+b, ".go:") {
		t.Errorf("stack trace in the logs:\n%s%s", a, b)
	}
	if o := bufOther.String(); strings.Contains(o, addrA) || strings.Contains(o, addrB) {
		t.Errorf("fallback logger got a client's lines:\n%s", o)
	}
}

func TestGettySinkMatchesWholePorts(t *testing.T) {
	s := &gettySink{keys: []string{"127.0.0.1:809", ":77"}}
	for msg, want := range map[string]bool{
		"dial 127.0.0.1:809 failed":  true,
		"dial 127.0.0.1:8091 failed": false,
		"{atcc:127.0.0.1:77<->x}":    true,
		"127.0.0.1:7700":             false,
		"end 127.0.0.1:809":          true,
	} {
		if got := s.matches(msg); got != want {
			t.Errorf("matches(%q) = %v", msg, got)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestResetSessionIsNotRedialledByGetty pins the getty session attribute
// that pool.go copies (gettyIgnoreReconnect): when the coordinator resets a
// session, getty's client must not redial from inside the session's read
// goroutine (which would hold up OnClose, and so the failing of the
// session's calls, for a whole dial), and the supervisor reconnects
// instead. A redial would show up as one more connection at the
// coordinator, refused by the client without registering.
func TestResetSessionIsNotRedialledByGetty(t *testing.T) {
	ftc := newFakeTC(t, true, nil)
	c := newTestClient(t, testClientConfig(ftc.addr()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	conns := ftc.connections()
	if len(conns) != 2 {
		t.Fatalf("%d connections, want 2 (TM and RM)", len(conns))
	}
	// attempt.run disarms the redial once getty's RunEventLoop returns,
	// shortly after the session has registered.
	eventually(t, "the RM session disarmed", func() bool {
		disarmed, _ := c.slotList(RoleRM)[0].cur.Load().gs.GetAttribute(gettyIgnoreReconnect).(bool)
		return disarmed
	})
	for _, fc := range conns {
		if Role(fc.role.Load()) == RoleRM {
			fc.nc.(*net.TCPConn).SetLinger(0) // Close sends a RST: a read error other than EOF
			fc.nc.Close()
		}
	}
	eventually(t, "the RM session re-registered", func() bool {
		rm := 0
		for _, fc := range ftc.connections() {
			if Role(fc.role.Load()) == RoleRM {
				rm++
			}
		}
		return rm == 2
	})
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(ftc.connections()); n != 3 {
		t.Errorf("%d connections, want 3: getty redialled the reset session", n)
	}
}

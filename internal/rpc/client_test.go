package rpc

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestRegistration(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	srv := newTestServer(t, ServerConfig{}, h)
	cfg := testClientConfig(srv.Addr().String())
	cfg.TxServiceGroup = "my_group"
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.AddResource(ctx, "jdbc:mysql://db1:3306/a"); err != nil {
		t.Fatal(err) // remembered: no session yet
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "one TM and one RM session", func() bool {
		return len(sessionsWith(srv, RoleTM)) == 1 && len(sessionsWith(srv, RoleRM)) == 1
	})
	tm, rm := sessionsWith(srv, RoleTM)[0], sessionsWith(srv, RoleRM)[0]
	if tm == rm {
		t.Fatal("TM and RM share a session; want one connection per role")
	}
	for _, ss := range []*ServerSession{tm, rm} {
		if ss.ApplicationID() != "test-app" || ss.TxServiceGroup() != "my_group" || ss.Version() != "2.2.0" {
			t.Errorf("session %d: app %q group %q version %q", ss.ID(), ss.ApplicationID(), ss.TxServiceGroup(), ss.Version())
		}
		if want := "test-app:" + ss.RemoteAddr(); ss.ClientID() != want {
			t.Errorf("ClientID = %q, want %q", ss.ClientID(), want)
		}
	}
	if got := rm.ResourceIDs(); !slices.Equal(got, []string{"jdbc:mysql://db1:3306/a"}) {
		t.Errorf("RM resources = %q", got)
	}
	if len(tm.ResourceIDs()) != 0 {
		t.Errorf("TM resources = %q", tm.ResourceIDs())
	}

	// A resource added later is registered on the live RM session before
	// AddResource returns.
	eventually(t, "SessionRegistered for TM and RM", func() bool { return h.registrations() == 2 })
	before := h.registrations()
	if err := c.AddResource(ctx, "jdbc:mysql://db2:3306/b"); err != nil {
		t.Fatal(err)
	}
	if !rm.HasResource("jdbc:mysql://db2:3306/b") || len(rm.ResourceIDs()) != 2 {
		t.Errorf("RM resources after AddResource = %q", rm.ResourceIDs())
	}
	if err := c.AddResource(ctx, "jdbc:mysql://db2:3306/b"); err != nil {
		t.Fatal(err) // a duplicate does nothing
	}
	if err := c.AddResource(ctx, "a,b"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("AddResource with a comma: %v", err)
	}
	eventually(t, "SessionRegistered for the added resource", func() bool { return h.registrations() == before+1 })
	if st := c.Stats(); st.Sessions != 2 || st.Down != 0 || st.Queued != 0 {
		t.Errorf("Stats = %+v, want 2 sessions, none down, none queued", st)
	}
}

func TestCallRoundTrip(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	srv := newTestServer(t, ServerConfig{}, h)
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := begin(ctx, c, "tx-1"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Call(ctx, RoleRM, &protocol.BranchRegisterRequest{XID: srv.Addr().String() + ":1", ResourceID: "r", LockKey: "t:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.(*protocol.BranchRegisterResponse).BranchID; got != 42 {
		t.Errorf("BranchID = %d", got)
	}
	if _, err := c.Call(ctx, RoleTM, &protocol.BranchCommitRequest{}); !errors.Is(err, ErrInvalidRequest) || IsRetryable(err) {
		t.Errorf("Call with a TC->RM request: %v", err)
	}
	if _, err := c.Call(ctx, Role(7), &protocol.GlobalBeginRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Call with a bad role: %v", err)
	}
}

func TestCoordinatorError(t *testing.T) {
	checkLeaks(t)
	h := &tc{handle: func(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		switch req.(type) {
		case *protocol.BranchRegisterRequest:
			return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultFailed,
				Msg: "TransactionException[lock conflict]", ExceptionCode: protocol.CodeLockKeyConflict}}
		case *protocol.GlobalCommitRequest:
			return &protocol.GlobalCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed,
				ExceptionCode: protocol.CodeTransactionTimeout}, GlobalStatus: protocol.GlobalTimeoutRollbacking}
		case *protocol.GlobalStatusRequest:
			return nil // the server must still answer
		case *protocol.GlobalRollbackRequest:
			panic("boom") // likewise
		}
		return &protocol.GlobalLockQueryResponse{} // wrong type for the rest
	}}
	srv := newTestServer(t, ServerConfig{}, h)
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()

	resp, err := c.Call(ctx, RoleRM, &protocol.BranchRegisterRequest{XID: "x:1:2"})
	var ce *protocol.CoordinatorError
	if !errors.As(err, &ce) || !errors.Is(err, protocol.ErrLockKeyConflict) || errors.Is(err, protocol.ErrLockKeyConflictFailFast) {
		t.Fatalf("err = %v", err)
	}
	if ce.Message != "TransactionException[lock conflict]" || ce.Type != protocol.TypeBranchRegisterResult {
		t.Errorf("protocol.CoordinatorError = %+v", ce)
	}
	if _, ok := resp.(*protocol.BranchRegisterResponse); !ok {
		t.Errorf("response = %T, want it returned with the error", resp)
	}
	if IsRetryable(err) {
		t.Error("a coordinator error is not retryable")
	}

	resp, err = c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: "x:1:2"})
	if !errors.Is(err, protocol.ErrTransactionTimeout) || resp.(*protocol.GlobalCommitResponse).GlobalStatus != protocol.GlobalTimeoutRollbacking {
		t.Errorf("commit: %v, %+v", err, resp)
	}
	for _, req := range []protocol.Message{&protocol.GlobalStatusRequest{XID: "x:1:2"}, &protocol.GlobalRollbackRequest{XID: "x:1:2"}, &protocol.GlobalReportRequest{XID: "x:1:2"}} {
		resp, err := c.Call(ctx, RoleTM, req)
		r, ok := protocol.ResultOf(resp)
		if !errors.As(err, &ce) || !ok || r.Code != protocol.ResultFailed || !strings.Contains(r.Msg, "atcc/rpc") {
			t.Errorf("%T: want a failure the server made up, got %v, %+v", req, err, resp)
		}
	}
}

// The server numbers exception codes for the client's version (§7.7).
func TestServerTranslatesExceptionCodes(t *testing.T) {
	h := &tc{handle: func(context.Context, *ServerSession, protocol.Message) protocol.Message {
		return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultFailed, ExceptionCode: protocol.CodeLockKeyConflictFailFast}}
	}}
	s := NewServer(ServerConfig{}, h)
	for _, tt := range []struct {
		version string
		want    uint8
	}{{"2.2.0", 20}, {"1.6.0", 19}, {"1.4.2", 2}} {
		ss := &ServerSession{srv: s, version: tt.version, roles: RoleRM}
		resp := s.answer(context.Background(), ss, &protocol.BranchRegisterRequest{})
		if got := resp.(*protocol.BranchRegisterResponse).ExceptionCode; uint8(got) != tt.want {
			t.Errorf("client %s: code %d, want %d", tt.version, got, tt.want)
		}
	}
}

func TestConcurrentCallsAnsweredOutOfOrder(t *testing.T) {
	checkLeaks(t)
	const n = 1000
	// Even-numbered requests wait until every odd-numbered one has been
	// answered, so answers come back in another order than requests.
	var odd atomic.Int32
	oddDone := make(chan struct{})
	h := &tc{}
	h.handle = func(ctx context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		name := req.(*protocol.GlobalBeginRequest).TransactionName
		i, _ := strconvAtoi(strings.TrimPrefix(name, "tx-"))
		if i%2 == 0 {
			select {
			case <-oddDone:
			case <-ctx.Done():
			}
		} else if odd.Add(1) == n/2 {
			close(oddDone)
		}
		return okResponse(h.addr.Load().(string), req)
	}
	srv := newTestServer(t, ServerConfig{Workers: n/2 + 64, QueueSize: n}, h)
	cfg := testClientConfig(srv.Addr().String())
	cfg.PoolSize = 2
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := begin(ctx, c, "tx-"+itoa(i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Only a second slot's registration may still be under way.
	eventually(t, "empty pending table", func() bool { return c.Stats().Pending == 0 })
}

func strconvAtoi(s string) (int, error) {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(r-'0')
	}
	return n, nil
}

// blockingTC answers GlobalBegin only when released (at the latest when
// the test ends, or when the server cancels the handler), and counts
// arrivals.
func blockingTC(t testing.TB) (*tc, *atomic.Int32, *testgate.Gate) {
	var arrived atomic.Int32
	release := testgate.New(t)
	h := &tc{}
	h.handle = func(ctx context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		if _, ok := req.(*protocol.GlobalBeginRequest); ok {
			arrived.Add(1)
			select {
			case <-release.C():
			case <-ctx.Done():
			}
		}
		return okResponse("127.0.0.1:1", req)
	}
	return h, &arrived, release
}

func TestTimeoutsLeavePendingTableEmpty(t *testing.T) {
	checkLeaks(t)
	h, arrived, release := blockingTC(t)
	srv := newTestServer(t, ServerConfig{Workers: 64}, h)
	cfg := testClientConfig(srv.Addr().String())
	cfg.RequestTimeout = 50 * time.Millisecond
	c := newTestClient(t, cfg)
	pingCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx := context.Background() // no deadline: RequestTimeout applies
			if i%2 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TransactionName: "t"})
			var ce *CallError
			if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || !ce.Sent || IsRetryable(err) {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Pending != 0 {
		t.Fatalf("pending = %d after every call timed out", st.Pending)
	}
	// The answers come after all: dropped and counted.
	eventually(t, "all requests at the server", func() bool { return arrived.Load() == n })
	release.Open()
	eventually(t, "late replies counted", func() bool { return c.Stats().LateReplies == n })
	if st := c.Stats(); st.Pending != 0 {
		t.Fatalf("pending = %d after late replies", st.Pending)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	checkLeaks(t)
	h, arrived, _ := blockingTC(t)
	srv := newTestServer(t, ServerConfig{}, h)
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	if err := c.Ping(context.Background()); err != nil { // no registration pending
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{})
		errc <- err
	}()
	eventually(t, "request at the server", func() bool { return arrived.Load() == 1 })
	if p := c.Stats().Pending; p != 1 {
		t.Errorf("pending = %d while waiting", p)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if p := c.Stats().Pending; p != 0 {
		t.Errorf("pending = %d after cancel", p)
	}
}

func TestConnectionLossFailsEveryWaiter(t *testing.T) {
	checkLeaks(t)
	h, arrived, _ := blockingTC(t)
	srv := newTestServer(t, ServerConfig{Workers: 128}, h)
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{})
			errs <- err
		})
	}
	eventually(t, "all requests at the server", func() bool { return arrived.Load() == n })
	if p := c.Stats().Pending; p != n {
		t.Errorf("pending = %d, want %d", p, n)
	}
	for _, ss := range sessionsWith(srv, RoleTM) {
		ss.Close()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var ce *CallError
		if !errors.Is(err, ErrConnectionLost) || !errors.As(err, &ce) || !ce.Sent || ce.Addr != srv.Addr().String() {
			t.Errorf("err = %v, want ErrConnectionLost after sending", err)
		}
	}
	// Only the new session's registration may still be pending.
	eventually(t, "empty pending table", func() bool { return c.Stats().Pending == 0 })
	// The client reconnects and carries on.
	if _, err := c.Call(ctx, RoleTM, &protocol.GlobalStatusRequest{XID: "x:1:1"}); err != nil {
		t.Fatal(err)
	}
}

func TestServerRestart(t *testing.T) {
	checkLeaks(t)
	h1 := &tc{}
	srv1 := newTestServer(t, ServerConfig{}, h1)
	addr := srv1.Addr().String()
	c := newTestClient(t, testClientConfig(addr))
	ctx := context.Background()
	if err := c.AddResource(ctx, "res-1"); err != nil {
		t.Fatal(err)
	}
	if err := begin(ctx, c, "before"); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv1.Close()
	// While the coordinator is down: calls fail, resources are remembered.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := begin(short, c, "down")
	cancel()
	if !errors.Is(err, ErrNoSession) && !errors.Is(err, ErrConnectionLost) {
		t.Errorf("call while down: %v", err)
	}
	if err := c.AddResource(ctx, "res-2"); err != nil {
		t.Fatal(err)
	}

	h2 := &tc{}
	srv2 := startTestServer(t, ServerConfig{}, h2, addr)
	eventually(t, "re-registration with every resource", func() bool {
		rms := sessionsWith(srv2, RoleRM)
		return len(sessionsWith(srv2, RoleTM)) == 1 && len(rms) == 1 &&
			slices.Equal(rms[0].ResourceIDs(), []string{"res-1", "res-2"})
	})
	if err := begin(ctx, c, "after"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "registrations answered", func() bool { return c.Stats().Pending == 0 })
}

func TestCoordinatorDownAtFirstCall(t *testing.T) {
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := testClientConfig(addr)
	cfg.DialTimeout = 100 * time.Millisecond
	c := newTestClient(t, cfg)
	// A begin fails fast with the cause; a commit waits for a session
	// until its deadline.
	_, err = c.Call(context.Background(), RoleTM, &protocol.GlobalBeginRequest{})
	if !errors.Is(err, ErrNoSession) || !IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %v, want the refused dial to %s in it", err, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err = c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: "x"})
	if !errors.Is(err, ErrNoSession) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("commit: err = %v", err)
	}
	// So does a branch registration: its transaction has begun.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = c.Call(ctx, RoleRM, &protocol.BranchRegisterRequest{XID: "x", ResourceID: "r"})
	if !errors.Is(err, ErrNoSession) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("branch register: err = %v", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrNoSession) {
		t.Errorf("Ping: %v", err)
	}
	c.Close()
	if _, err := c.Call(context.Background(), RoleTM, &protocol.GlobalBeginRequest{}); !errors.Is(err, ErrClientClosed) || IsRetryable(err) {
		t.Errorf("Call after Close: %v", err)
	}
	if err := c.AddResource(context.Background(), "r"); !errors.Is(err, ErrClientClosed) {
		t.Errorf("AddResource after Close: %v", err)
	}
}

func TestCloseFailsPendingAndWaiting(t *testing.T) {
	checkLeaks(t)
	h, arrived, _ := blockingTC(t)
	srv := newTestServer(t, ServerConfig{}, h)
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), RoleTM, &protocol.GlobalBeginRequest{})
		errc <- err
	}()
	eventually(t, "request at the server", func() bool { return arrived.Load() == 1 })
	c.Close()
	if err := <-errc; !errors.Is(err, ErrConnectionLost) || !errors.Is(err, ErrClientClosed) {
		t.Errorf("err = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewClientValidates(t *testing.T) {
	good := testClientConfig("127.0.0.1:8091")
	for name, mutate := range map[string]func(*ClientConfig){
		"no address":     func(c *ClientConfig) { c.Addresses = nil },
		"no port":        func(c *ClientConfig) { c.Addresses = []string{"localhost"} },
		"bad port":       func(c *ClientConfig) { c.Addresses = []string{"localhost:http"} },
		"duplicate":      func(c *ClientConfig) { c.Addresses = []string{"a:1", "a:1"} },
		"no application": func(c *ClientConfig) { c.ApplicationID = "" },
		"negative pool":  func(c *ClientConfig) { c.PoolSize = -1 },
		"backoff":        func(c *ClientConfig) { c.reconnectMin, c.reconnectMax = time.Second, time.Millisecond },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := NewClient(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	c, err := NewClient(ClientConfig{Addresses: []string{"tc:8091"}, ApplicationID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.TxServiceGroup != "default_tx_group" || clientVersion != "2.2.0" || c.cfg.PoolSize != 1 ||
		c.cfg.HeartbeatInterval != 5*time.Second || c.cfg.IdleTimeout != 15*time.Second || c.cfg.RequestTimeout != 30*time.Second {
		t.Errorf("defaults: %+v", c.cfg)
	}
	c.Close() // never started
}

func TestRouteByXID(t *testing.T) {
	checkLeaks(t)
	h1, h2 := &tc{}, &tc{}
	srv1 := newTestServer(t, ServerConfig{}, h1)
	srv2 := newTestServer(t, ServerConfig{}, h2)
	var hits [2]atomic.Int32
	for i, h := range []*tc{h1, h2} {
		h.handle = func(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
			hits[i].Add(1)
			return okResponse("", req)
		}
	}
	c := newTestClient(t, testClientConfig(srv1.Addr().String(), srv2.Addr().String()))
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sessions to both coordinators", func() bool { return c.Stats().Sessions == 4 })
	for range 10 {
		if _, err := c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: srv2.Addr().String() + ":123"}); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0].Load() != 0 || hits[1].Load() != 10 {
		t.Errorf("XID routing: hits %d/%d, want 0/10", hits[0].Load(), hits[1].Load())
	}
	for range 10 {
		if _, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if hits[0].Load() == 0 {
		t.Error("round robin never picked the first coordinator")
	}
}

// TestFrequentRestartsDoNotGrowTheBackoff is a regression test: the
// reconnect delay used to start over only after a session had stayed up
// for the backoff maximum, so a coordinator restarted every few seconds made each
// reconnection wait twice as long as the one before (up to the maximum).
func TestFrequentRestartsDoNotGrowTheBackoff(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	addr := srv.Addr().String()
	cfg := testClientConfig(addr)
	cfg.reconnectMin = 20 * time.Millisecond
	cfg.reconnectMax = time.Minute
	c := newTestClient(t, cfg)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// With a doubling delay the 10th reconnection would wait 20 ms x 2^10,
	// about 20 s; starting over it waits about 20 ms each time.
	for i := range 10 {
		srv.Close()
		srv = startTestServer(t, ServerConfig{}, &tc{}, addr)
		deadline := time.Now().Add(3 * time.Second)
		for len(sessionsWith(srv, RoleTM)) == 0 || len(sessionsWith(srv, RoleRM)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("restart %d: not registered again within 3s", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

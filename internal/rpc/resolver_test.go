package rpc

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// chanResolver resolves to initial (or fails with err) and then sends what
// arrives on updates.
type chanResolver struct {
	initial []string
	err     error
	updates chan []string
}

func (r *chanResolver) Resolve(ctx context.Context, group string) ([]string, error) {
	return r.initial, r.err
}

func (r *chanResolver) Watch(ctx context.Context, group string, update func([]string)) error {
	for {
		select {
		case a := <-r.updates:
			update(a)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func resolverClient(t *testing.T, r Resolver) *Client {
	cfg := testClientConfig()
	cfg.Resolver = r
	return newTestClient(t, cfg)
}

// strictTC answers like tc but, as coordinators that share no store, fails
// the commit of a transaction another coordinator began.
func strictTC() *tc {
	h := &tc{}
	h.handle = func(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message {
		prefix, _ := h.addr.Load().(string)
		if r, ok := req.(*protocol.GlobalCommitRequest); ok && !strings.HasPrefix(r.XID, prefix+":") {
			return &protocol.GlobalCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed,
				ExceptionCode: protocol.CodeGlobalTransactionNotExist, Msg: "not mine: " + r.XID}}
		}
		return okResponse(prefix, req)
	}
	return h
}

// A loop of begin/commit runs while the resolver moves the client from A
// to B, back, and to both: no call fails (a commit goes to the coordinator
// that began its transaction, even while that one drains), and the
// sessions to a coordinator that left the list are closed.
func TestResolverSwapUnderLoad(t *testing.T) {
	checkLeaks(t)
	srvA := newTestServer(t, ServerConfig{}, strictTC())
	srvB := newTestServer(t, ServerConfig{}, strictTC())
	a, b := srvA.Addr().String(), srvB.Addr().String()
	r := &chanResolver{initial: []string{a}, updates: make(chan []string)}
	c := resolverClient(t, r)
	ctx := context.Background()

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var byAddr sync.Map // XID prefix -> *atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "t" + itoa(w)})
				if err == nil {
					xid := resp.(*protocol.GlobalBeginResponse).XID
					_, err = c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: xid})
					prefix := xid[:strings.LastIndexByte(xid, ':')]
					n, _ := byAddr.LoadOrStore(prefix, new(atomic.Int64))
					n.(*atomic.Int64).Add(1)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	served := func(addr string) int64 {
		n, _ := byAddr.Load(addr)
		if n == nil {
			return 0
		}
		return n.(*atomic.Int64).Load()
	}
	steps := []struct {
		addrs    []string
		from, to *Server
	}{{[]string{b}, srvA, srvB}, {[]string{a}, srvB, srvA}, {[]string{a, b}, nil, srvB}, {[]string{b}, srvA, srvB}}
	for i, st := range steps {
		r.updates <- st.addrs
		to := st.to.Addr().String()
		base := served(to)
		eventually(t, "step "+itoa(i)+": transactions on "+to, func() bool { return served(to) > base+50 })
		if st.from != nil {
			eventually(t, "step "+itoa(i)+": sessions to the removed coordinator closed", func() bool { return len(st.from.Sessions()) == 0 })
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d transactions failed; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	t.Logf("%d transactions, none failed", ok.Load())
}

// A call under way on a coordinator that leaves the list finishes there:
// its session stays open until the answer has come.
func TestResolverDrainWaitsForCallsUnderWay(t *testing.T) {
	checkLeaks(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hA := &tc{}
	hA.handle = func(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message {
		if _, ok := req.(*protocol.GlobalCommitRequest); ok {
			close(entered)
			<-release
		}
		prefix, _ := hA.addr.Load().(string)
		return okResponse(prefix, req)
	}
	srvA := newTestServer(t, ServerConfig{}, hA)
	srvB := newTestServer(t, ServerConfig{}, &tc{})
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // runs before the servers close
	r := &chanResolver{initial: []string{srvA.Addr().String()}, updates: make(chan []string)}
	c := resolverClient(t, r)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: srvA.Addr().String() + ":1"})
		done <- err
	}()
	<-entered
	r.updates <- []string{srvB.Addr().String()}
	// New calls go to B while the commit waits on A.
	eventually(t, "a begin served by B", func() bool {
		resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 1000, TransactionName: "x"})
		return err == nil && strings.HasPrefix(resp.(*protocol.GlobalBeginResponse).XID, srvB.Addr().String())
	})
	if n := len(sessionsWith(srvA, RoleTM)); n != 1 {
		t.Fatalf("A has %d TM sessions while a commit is under way, want 1 (drain must wait)", n)
	}
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatalf("commit under way during the drain: %v", err)
	}
	eventually(t, "A's sessions closed after the drain", func() bool { return len(srvA.Sessions()) == 0 })
}

// While the resolver fails and no address is known, a begin fails fast
// with the resolver's error; once it answers, calls go through.
func TestResolverFailure(t *testing.T) {
	checkLeaks(t)
	r := &chanResolver{err: errors.New("registry down"), updates: make(chan []string)}
	c := resolverClient(t, r)
	err := begin(context.Background(), c, "x")
	if !errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), "registry down") {
		t.Fatalf("begin with a failing resolver: %v, want ErrNoSession naming the resolver's error", err)
	}
}

func TestResolverConfig(t *testing.T) {
	cfg := testClientConfig("127.0.0.1:8091")
	cfg.Resolver = StaticResolver{"127.0.0.1:8091"}
	if _, err := NewClient(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Addresses and Resolver: %v, want ErrInvalidConfig", err)
	}
	cfg = testClientConfig()
	if _, err := NewClient(cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("neither: %v, want ErrInvalidConfig", err)
	}
}

// An empty update keeps the current coordinators.
func TestResolverEmptyUpdateKeepsCoordinators(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	r := &chanResolver{initial: []string{srv.Addr().String()}, updates: make(chan []string)}
	c := resolverClient(t, r)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	r.updates <- nil
	r.updates <- []string{"bad address"} // sent once the empty one was handled
	if err := begin(ctx, c, "x"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Sessions()); n != 2 {
		t.Fatalf("%d sessions after empty and invalid updates, want 2", n)
	}
}

// A transaction begun at a coordinator that then leaves the list ends
// there: the draining coordinator keeps its sessions while the transaction
// is open, and the commit goes to it even though its XID names no address
// the client dials (a coordinator behind NAT announces another one).
func TestResolverDrainKeepsOpenTransactions(t *testing.T) {
	checkLeaks(t)
	hA, hB := strictTC(), strictTC()
	srvA := newTestServer(t, ServerConfig{}, hA)
	srvB := newTestServer(t, ServerConfig{}, hB)
	hA.addr.Store("tc-a.internal:8091") // the XID prefix, not the dialled address
	hB.addr.Store("tc-b.internal:8091")
	r := &chanResolver{initial: []string{srvA.Addr().String()}, updates: make(chan []string)}
	c := resolverClient(t, r)
	ctx := context.Background()
	resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "open"})
	if err != nil {
		t.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	r.updates <- []string{srvB.Addr().String()}
	eventually(t, "a new transaction begun at B", func() bool {
		resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "new"})
		if err != nil {
			return false
		}
		x := resp.(*protocol.GlobalBeginResponse).XID
		if _, err := c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: x}); err != nil {
			t.Fatalf("commit %s: %v", x, err)
		}
		return strings.HasPrefix(x, "tc-b.internal:8091:")
	})
	if n := len(sessionsWith(srvA, RoleTM)); n != 1 {
		t.Fatalf("A has %d TM sessions while a transaction begun there is open, want 1", n)
	}
	if _, err := c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: xid}); err != nil {
		t.Fatalf("commit of the transaction begun at the drained coordinator: %v", err)
	}
	eventually(t, "A's sessions closed once its transaction ended", func() bool { return len(srvA.Sessions()) == 0 })
}

// Random updates (any non-empty subset of three strict coordinators) under
// a loop of begin/commit: no transaction fails, and at the end only the
// last subset holds sessions.
func TestResolverRandomChurn(t *testing.T) {
	checkLeaks(t)
	var srvs []*Server
	var addrs []string
	for range 3 {
		s := newTestServer(t, ServerConfig{}, strictTC())
		srvs = append(srvs, s)
		addrs = append(addrs, s.Addr().String())
	}
	r := &chanResolver{initial: addrs[:1], updates: make(chan []string)}
	c := resolverClient(t, r)
	ctx := context.Background()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// The test coordinators' XIDs are "addr:name": unique names
				// make unique XIDs, as a real coordinator's are.
				name := "churn-" + itoa(w) + "-" + itoa(i)
				resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: name})
				if err == nil {
					_, err = c.Call(ctx, RoleTM, &protocol.GlobalCommitRequest{XID: resp.(*protocol.GlobalBeginResponse).XID})
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var last []string
	const updates = 40
	for i := range updates {
		last = nil
		for len(last) == 0 {
			for _, a := range addrs {
				if rng.IntN(2) == 0 {
					last = append(last, a)
				}
			}
		}
		r.updates <- last
		base := ok.Load()
		eventually(t, "update "+itoa(i)+": transactions go on", func() bool { return ok.Load() > base+5 })
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d transactions failed; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	for i, s := range srvs {
		if !slices.Contains(last, addrs[i]) {
			eventually(t, "sessions to removed "+addrs[i]+" closed", func() bool { return len(s.Sessions()) == 0 })
		}
	}
	t.Logf("%d updates, %d transactions, none failed", updates, ok.Load())
}

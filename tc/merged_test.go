package tc

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// countingMerger counts the merged commits the async committer makes.
type countingMerger struct {
	mergingCaller
	frames, inner atomic.Int64
}

func (m *countingMerger) commitMerged(ctx context.Context, ss *rpc.ServerSession, calls []asyncCall) {
	m.frames.Add(1)
	m.inner.Add(int64(len(calls)))
	m.mergingCaller.commitMerged(ctx, ss, calls)
}

// startCountingServer starts a coordinator whose merged commits are
// counted.
func startCountingServer(t *testing.T, cfg Config) (*Server, *countingMerger) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := &countingMerger{mergingCaller: s.core.calls.(mergingCaller)}
	s.core.calls = m // before Start, which starts the goroutines reading it
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, m
}

// atTxs begins n transactions with an AT branch on db1 and one on db2
// each, registered by rm, and commits them at once; it returns their
// XIDs and branch ids.
func atTxs(t *testing.T, tm, rm *rpc.Client, n int) ([]string, []int64) {
	t.Helper()
	xids := make([]string, n)
	var ids []int64
	for i := range xids {
		xids[i] = begin(t, tm, time.Minute)
		for _, r := range []string{"db1", "db2"} {
			ids = append(ids, mustRegister(t, rm, xids[i], protocol.BranchAT, r, r+":"+strconv.Itoa(i)))
		}
	}
	var wg sync.WaitGroup
	for _, xid := range xids {
		wg.Go(func() {
			if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
				t.Errorf("commit of %s: %v", xid, st)
			}
		})
	}
	wg.Wait()
	return xids, ids
}

// An atcc RM gets the async committer's commits merged, and every branch
// ends committed, each delivered once.
func TestServerMergedCommits(t *testing.T) {
	t.Parallel()
	s, m := startCountingServer(t, testConfig())
	rmh := &recordingRM{}
	rm := newClient(t, "app", rmh, []string{"db1", "db2"}, s.Addr())
	tm := newClient(t, "app", nil, nil, s.Addr())
	xids, ids := atTxs(t, tm, rm, 20)
	for _, xid := range xids {
		waitFor(t, tm, xid, protocol.GlobalCommitted)
	}
	for _, id := range ids {
		if got := rmh.phases(id); len(got) != 1 || !got[0] {
			t.Errorf("branch %d: phases %v, want one commit", id, got)
		}
	}
	if frames, inner := m.frames.Load(), m.inner.Load(); frames == 0 || inner != int64(len(ids)) {
		t.Errorf("%d merged requests carried %d commits; want all %d commits merged", frames, inner, len(ids))
	}
	if st, err := s.Stats(context.Background()); err != nil || st.Locks != 0 {
		t.Errorf("stats %+v, %v: want no lock left", st, err)
	}
}

// An RM that did not announce merged commits (a raw one, as Java's) gets a
// BranchCommit request per branch, never a MergedWarpMessage.
func TestServerUnannouncedRMGetsSingleCommits(t *testing.T) {
	t.Parallel()
	s, m := startCountingServer(t, testConfig())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	rm := dialRaw(t, s.Addr())
	f := rm.call(&protocol.RegisterRMRequest{Version: "1.5.2", ApplicationID: "raw", TxServiceGroup: "default_tx_group", ResourceIDs: "deduct"})
	if r, ok := f.Body.(*protocol.RegisterRMResponse); !ok || !r.Identified {
		t.Fatalf("%+v", f.Body)
	}
	const n = 3
	xids := make([]string, n)
	for i := range xids {
		xids[i] = begin(t, tm, time.Minute)
		for j := range 2 {
			f = rm.call(&protocol.BranchRegisterRequest{XID: xids[i], BranchType: protocol.BranchAT, ResourceID: "deduct", LockKey: "t:" + strconv.Itoa(2*i+j)})
			if r := f.Body.(*protocol.BranchRegisterResponse); r.Code != protocol.ResultSuccess {
				t.Fatalf("%+v", r)
			}
		}
	}
	for _, xid := range xids {
		if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
	}
	for range 2 * n {
		f := rm.read()
		req, ok := f.Body.(*protocol.BranchCommitRequest)
		if !ok || f.Type != protocol.RequestSync {
			t.Fatalf("frame %+v (%T): want a BranchCommitRequest of its own", f, f.Body)
		}
		rm.send(protocol.Response, f.RequestID, &protocol.BranchCommitResponse{Result: success(), XID: req.XID, BranchID: req.BranchID, BranchStatus: protocol.PhaseTwoCommitted})
	}
	for _, xid := range xids {
		waitFor(t, tm, xid, protocol.GlobalCommitted)
	}
	if frames := m.frames.Load(); frames != 0 {
		t.Errorf("%d merged requests to an RM that did not announce them", frames)
	}
}

// A merged commit whose RM session is lost fails every branch it carries;
// they are retried like any failed BranchCommit, and end committed.
func TestServerMergedCommitSessionLost(t *testing.T) {
	t.Parallel()
	s, m := startCountingServer(t, testConfig())
	gate := testgate.New(t)
	var mu sync.Mutex
	held := make(map[int64]bool) // branches whose first commit waits for the gate
	rmh := &recordingRM{}
	rm := newClient(t, "app", rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		resp := rmh.HandleRequest(ctx, req)
		if r, ok := req.(*protocol.BranchCommitRequest); ok && len(rmh.phases(r.BranchID)) == 1 {
			mu.Lock()
			held[r.BranchID] = true
			mu.Unlock()
			gate.Wait() // its answer will find the session gone
		}
		return resp
	}), []string{"db1", "db2"}, s.Addr())
	tm := newClient(t, "app", nil, nil, s.Addr())
	xids, _ := atTxs(t, tm, rm, 4)
	// The first batch is under way (the committer waits for it): its
	// commits, two a transaction, are merged.
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(held) >= 2 }, "first commits held")
	time.Sleep(20 * time.Millisecond) // the rest of the merged request's inner commits
	if m.frames.Load() == 0 {
		t.Fatal("no merged commit")
	}
	for _, ss := range s.rpc.Sessions() {
		if ss.Roles()&rpc.RoleRM != 0 {
			ss.Close()
		}
	}
	mu.Lock()
	lost := maps.Clone(held)
	mu.Unlock()
	gate.Open()
	for _, xid := range xids {
		waitFor(t, tm, xid, protocol.GlobalCommitted)
	}
	for id := range lost {
		if got := rmh.phases(id); len(got) < 2 {
			t.Errorf("branch %d delivered %d times; want a retry after the lost session", id, len(got))
		}
	}
}

// phaseTwoCounter is an Observer that counts CoordinatorPhaseTwo
// operations by resource and result.
type phaseTwoCounter struct {
	mu     sync.Mutex
	starts int
	ends   map[[2]string]int // resource, result
}

func (o *phaseTwoCounter) Start(ctx context.Context, op observe.Op) context.Context {
	if op.Kind == observe.CoordinatorPhaseTwo {
		o.mu.Lock()
		o.starts++
		o.mu.Unlock()
	}
	return ctx
}

func (o *phaseTwoCounter) End(ctx context.Context, op observe.Op) {
	if op.Kind != observe.CoordinatorPhaseTwo {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ends == nil {
		o.ends = make(map[[2]string]int)
	}
	o.ends[[2]string{op.Resource, op.Result}]++
}

func (o *phaseTwoCounter) Event(context.Context, observe.Op)  {}
func (o *phaseTwoCounter) TraceParent(context.Context) string { return "" }

// Merged commits are observed per branch: one CoordinatorPhaseTwo per
// branch, by resource and status, as unmerged ones are.
func TestServerMergedCommitsObservedPerBranch(t *testing.T) {
	t.Parallel()
	obs := &phaseTwoCounter{}
	cfg := testConfig()
	cfg.Observer = obs
	s, m := startCountingServer(t, cfg)
	var calls atomic.Int32
	rm := newClient(t, "app", rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		r, ok := req.(*protocol.BranchCommitRequest)
		if !ok {
			return nil
		}
		st := protocol.PhaseTwoCommitted
		if r.ResourceID == "db2" && calls.Add(1) == 1 {
			st = protocol.PhaseTwoCommitFailedRetryable // one retry, observed as such
		}
		return &protocol.BranchCommitResponse{Result: success(), BranchStatus: st}
	}), []string{"db1", "db2"}, s.Addr())
	tm := newClient(t, "app", nil, nil, s.Addr())
	const n = 10
	xids, _ := atTxs(t, tm, rm, n)
	for _, xid := range xids {
		waitFor(t, tm, xid, protocol.GlobalCommitted)
	}
	if m.frames.Load() == 0 {
		t.Fatal("no merged commit")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := map[[2]string]int{
		{"db1", protocol.PhaseTwoCommitted.String()}:             n,
		{"db2", protocol.PhaseTwoCommitted.String()}:             n,
		{"db2", protocol.PhaseTwoCommitFailedRetryable.String()}: 1,
	}
	if len(obs.ends) != len(want) || obs.starts != 2*n+1 {
		t.Errorf("observed %d starts, ends %v; want %d, %v", obs.starts, obs.ends, 2*n+1, want)
	}
	for k, v := range want {
		if obs.ends[k] != v {
			t.Errorf("observed %v %d times, want %d", k, obs.ends[k], v)
		}
	}
}

// The merged commit is bounded by BranchTimeout like a single one: an RM
// that never answers fails the branches, which are retried.
func TestServerMergedCommitTimeout(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.BranchTimeout = 200 * time.Millisecond
	s, m := startCountingServer(t, cfg)
	var first sync.Map // branch id -> struct{}: delivered once already
	rm := newClient(t, "app", rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		r, ok := req.(*protocol.BranchCommitRequest)
		if !ok {
			return nil
		}
		if _, again := first.LoadOrStore(r.BranchID, struct{}{}); !again {
			<-ctx.Done() // HandlerTimeout (10s) is longer than BranchTimeout: the coordinator gives up first
		}
		return &protocol.BranchCommitResponse{Result: success(), BranchStatus: protocol.PhaseTwoCommitted}
	}), []string{"db1", "db2"}, s.Addr())
	tm := newClient(t, "app", nil, nil, s.Addr())
	start := time.Now()
	xids, _ := atTxs(t, tm, rm, 3)
	for _, xid := range xids {
		waitFor(t, tm, xid, protocol.GlobalCommitted)
	}
	if d := time.Since(start); d < cfg.BranchTimeout {
		t.Errorf("committed after %v, before the merged commit could time out", d)
	}
	if m.frames.Load() == 0 {
		t.Fatal("no merged commit")
	}
	if st, err := s.Stats(context.Background()); err != nil || st.Locks != 0 {
		t.Errorf("stats %+v, %v", st, err)
	}
}

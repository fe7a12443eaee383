package tc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// testConfig is a server configuration with short periods for tests.
func testConfig() Config {
	return Config{
		RetryPeriod:     20 * time.Millisecond,
		MaxRetryBackoff: 50 * time.Millisecond,
		BranchTimeout:   time.Second,
		EndedRetention:  time.Minute,
	}
}

// startServer starts a coordinator on 127.0.0.1:0.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	return startServerAt(t, cfg, nil)
}

// startServerAt is startServer with the coordinator on clock (nil: the
// real one).
func startServerAt(t testing.TB, cfg Config, clock *testClock) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		s.core.cfg.now = clock.now // before Start, which starts the goroutines reading it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newClient returns an rpc client of the given coordinators; h, when not
// nil, makes it an RM serving resources.
func newClient(t testing.TB, app string, h rpc.RequestHandler, resources []string, addrs ...net.Addr) *rpc.Client {
	t.Helper()
	cfg := rpc.ClientConfig{ApplicationID: app, Handler: h, RequestTimeout: 10 * time.Second}
	for _, a := range addrs {
		cfg.Addresses = append(cfg.Addresses, a.String())
	}
	c, err := rpc.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, r := range resources {
		if err := c.AddResource(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// recordingRM is an RM that records every phase-two request it gets and
// answers through answer (default: success).
type recordingRM struct {
	mu     sync.Mutex
	answer func(req protocol.Message, n int) protocol.BranchStatus // n: deliveries of this kind to the branch, this one included
	got    map[int64][]bool                                        // branch id -> phases delivered (true: commit)
	undo   []*protocol.UndoLogDeleteRequest
	msg    string // when set, every answer is a Failed result with this text (an RM's failure)
}

func (r *recordingRM) HandleRequest(ctx context.Context, req protocol.Message) protocol.Message {
	var commit bool
	var xid string
	var id int64
	switch m := req.(type) {
	case *protocol.BranchCommitRequest:
		commit, xid, id = true, m.XID, m.BranchID
	case *protocol.BranchRollbackRequest:
		xid, id = m.XID, m.BranchID
	case *protocol.UndoLogDeleteRequest:
		r.mu.Lock()
		r.undo = append(r.undo, m)
		r.mu.Unlock()
		return nil
	default:
		return nil
	}
	r.mu.Lock()
	if r.got == nil {
		r.got = make(map[int64][]bool)
	}
	r.got[id] = append(r.got[id], commit)
	n := 0
	for _, c := range r.got[id] {
		if c == commit {
			n++
		}
	}
	answer, msg := r.answer, r.msg
	r.mu.Unlock()
	st := protocol.PhaseTwoRollbacked
	if commit {
		st = protocol.PhaseTwoCommitted
	}
	if answer != nil {
		st = answer(req, n)
	}
	res := protocol.Result{Code: protocol.ResultSuccess}
	if msg != "" { // Seata sends a message only with a Failed result
		res = protocol.Result{Code: protocol.ResultFailed, Msg: msg}
	}
	if commit {
		return &protocol.BranchCommitResponse{Result: res, XID: xid, BranchID: id, BranchStatus: st}
	}
	return &protocol.BranchRollbackResponse{Result: res, XID: xid, BranchID: id, BranchStatus: st}
}

func (r *recordingRM) setAnswer(a func(req protocol.Message, n int) protocol.BranchStatus) {
	r.mu.Lock()
	r.answer = a
	r.mu.Unlock()
}

// phases returns the phases delivered to a branch (true: commit).
func (r *recordingRM) phases(id int64) []bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[id])
}

func (r *recordingRM) branchOrder() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int64
	for id := range r.got {
		ids = append(ids, id)
	}
	return ids
}

func success() protocol.Result { return protocol.Result{Code: protocol.ResultSuccess} }

func call[T protocol.Message](t testing.TB, c *rpc.Client, role rpc.Role, req protocol.Message) (T, error) {
	t.Helper()
	resp, err := c.Call(context.Background(), role, req)
	r, _ := resp.(T)
	return r, err
}

func begin(t testing.TB, tm *rpc.Client, timeout time.Duration) string {
	t.Helper()
	r, err := call[*protocol.GlobalBeginResponse](t, tm, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: int32(timeout / time.Millisecond), TransactionName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r.XID
}

func commitTx(t testing.TB, tm *rpc.Client, xid string) protocol.GlobalStatus {
	t.Helper()
	r, err := call[*protocol.GlobalCommitResponse](t, tm, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: xid})
	if err != nil {
		t.Fatal(err)
	}
	return r.GlobalStatus
}

func rollbackTx(t testing.TB, tm *rpc.Client, xid string) protocol.GlobalStatus {
	t.Helper()
	r, err := call[*protocol.GlobalRollbackResponse](t, tm, rpc.RoleTM, &protocol.GlobalRollbackRequest{XID: xid})
	if err != nil {
		t.Fatal(err)
	}
	return r.GlobalStatus
}

func statusOf(t testing.TB, tm *rpc.Client, xid string) protocol.GlobalStatus {
	t.Helper()
	r, err := call[*protocol.GlobalStatusResponse](t, tm, rpc.RoleTM, &protocol.GlobalStatusRequest{XID: xid})
	if err != nil {
		t.Fatal(err)
	}
	return r.GlobalStatus
}

func waitFor(t testing.TB, tm *rpc.Client, xid string, want protocol.GlobalStatus) {
	t.Helper()
	var st protocol.GlobalStatus
	eventually(t, func() bool { st = statusOf(t, tm, xid); return st == want }, "%s is %v, want %v", xid, &st, want)
}

func registerBranch(t testing.TB, rm *rpc.Client, xid string, typ protocol.BranchType, resource, lockKey string) (int64, error) {
	t.Helper()
	r, err := call[*protocol.BranchRegisterResponse](t, rm, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: typ, ResourceID: resource, LockKey: lockKey})
	if err != nil {
		return 0, err
	}
	return r.BranchID, nil
}

func mustRegister(t testing.TB, rm *rpc.Client, xid string, typ protocol.BranchType, resource, lockKey string) int64 {
	t.Helper()
	id, err := registerBranch(t, rm, xid, typ, resource, lockKey)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func lockable(t testing.TB, rm *rpc.Client, xid, resource, lockKey string) bool {
	t.Helper()
	r, err := call[*protocol.GlobalLockQueryResponse](t, rm, rpc.RoleRM, &protocol.GlobalLockQueryRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: resource, LockKey: lockKey})
	if err != nil {
		t.Fatal(err)
	}
	return r.Lockable
}

const dbRes = "jdbc:mysql://127.0.0.1:3306/orders"

func TestServerBeginCommitRollback(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())

	xid := begin(t, tm, time.Minute)
	if !strings.HasPrefix(xid, s.Addr().String()+":") {
		t.Fatalf("xid %q does not start with %s", xid, s.Addr())
	}
	if st := statusOf(t, tm, xid); st != protocol.GlobalBegin {
		t.Fatal(st)
	}
	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted { // a retried commit
		t.Fatal(st)
	}
	xid2 := begin(t, tm, time.Minute)
	if st := rollbackTx(t, tm, xid2); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	if xid2 == xid {
		t.Fatal("same xid twice")
	}
	// Unknown transactions: Finished, as the Java TC answers.
	unknown := s.Addr().String() + ":1"
	for _, st := range []protocol.GlobalStatus{statusOf(t, tm, unknown), commitTx(t, tm, unknown), rollbackTx(t, tm, unknown)} {
		if st != protocol.GlobalFinished {
			t.Fatal(st)
		}
	}
	r, err := call[*protocol.GlobalReportResponse](t, tm, rpc.RoleTM, &protocol.GlobalReportRequest{XID: xid, GlobalStatus: protocol.GlobalStatusUnset})
	if err != nil || r.GlobalStatus != protocol.GlobalCommitted {
		t.Fatal(r, err)
	}
}

func TestServerATCommitAndLocks(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	rmh := &recordingRM{}
	rm := newClient(t, "orders", rmh, []string{dbRes}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())

	a, b := begin(t, tm, time.Minute), begin(t, tm, time.Minute)
	ba := mustRegister(t, rm, a, protocol.BranchAT, dbRes, "orders:1,2;items:1_7")
	_, err := registerBranch(t, rm, b, protocol.BranchAT, dbRes, "items:1_7")
	if !errors.Is(err, protocol.ErrLockKeyConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if lockable(t, rm, b, dbRes, "orders:2") || !lockable(t, rm, a, dbRes, "orders:2") || !lockable(t, rm, b, "jdbc:other", "orders:2") {
		t.Fatal("lockable")
	}
	if st := commitTx(t, tm, a); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	mustRegister(t, rm, b, protocol.BranchAT, dbRes, "items:1_7") // released at commit
	waitFor(t, tm, a, protocol.GlobalCommitted)
	if got := rmh.phases(ba); !slices.Equal(got, []bool{true}) {
		t.Fatalf("deliveries %v", got)
	}
	if st := rollbackTx(t, tm, b); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	// Late and unknown registrations are refused with Java's codes.
	if _, err := registerBranch(t, rm, a, protocol.BranchAT, dbRes, "x:1"); !errors.Is(err, protocol.ErrGlobalTransactionNotActive) {
		t.Fatal(err)
	}
	if _, err := registerBranch(t, rm, s.Addr().String()+":1", protocol.BranchTCC, dbRes, ""); !errors.Is(err, protocol.ErrGlobalTransactionNotExist) {
		t.Fatal(err)
	}
	_, err = call[*protocol.BranchReportResponse](t, rm, rpc.RoleRM, &protocol.BranchReportRequest{XID: b, BranchID: 12345, Status: protocol.PhaseOneDone})
	if !errors.Is(err, protocol.ErrBranchTransactionNotExist) && !errors.Is(err, protocol.ErrGlobalTransactionNotExist) {
		t.Fatal(err)
	}
}

func TestServerTCCCommitAndRollbackOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	rmh := &recordingRM{}
	rm := newClient(t, "stock", rmh, []string{"deduct", "reserve"}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())

	xid := begin(t, tm, time.Minute)
	b1 := mustRegister(t, rm, xid, protocol.BranchTCC, "deduct", "")
	b2 := mustRegister(t, rm, xid, protocol.BranchTCC, "reserve", "")
	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	// Synchronous: delivered before the answer.
	if !slices.Equal(rmh.phases(b1), []bool{true}) || !slices.Equal(rmh.phases(b2), []bool{true}) {
		t.Fatal(rmh.phases(b1), rmh.phases(b2))
	}

	var order []int64
	var mu sync.Mutex
	rmh.setAnswer(func(req protocol.Message, n int) protocol.BranchStatus {
		mu.Lock()
		order = append(order, req.(*protocol.BranchRollbackRequest).BranchID)
		mu.Unlock()
		return protocol.PhaseTwoRollbacked
	})
	xid = begin(t, tm, time.Minute)
	r1 := mustRegister(t, rm, xid, protocol.BranchTCC, "deduct", "")
	r2 := mustRegister(t, rm, xid, protocol.BranchTCC, "reserve", "")
	if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	if !slices.Equal(order, []int64{r2, r1}) {
		t.Fatalf("rollback order %v, want %v", order, []int64{r2, r1})
	}
}

// TestServerRetriesAFailingRM runs phase two against an RM that fails a few
// times, in every way it can: a retryable status, an unanswered request
// (timeout), a broken answer.
func TestServerRetriesAFailingRM(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.BranchTimeout = 100 * time.Millisecond
	s := startServer(t, cfg)
	const failures = 3
	rmh := &recordingRM{}
	rmh.setAnswer(func(req protocol.Message, n int) protocol.BranchStatus {
		_, commit := req.(*protocol.BranchCommitRequest)
		switch {
		case n > failures && commit:
			return protocol.PhaseTwoCommitted
		case n > failures:
			return protocol.PhaseTwoRollbacked
		case n == 2:
			time.Sleep(300 * time.Millisecond) // longer than BranchTimeout
		}
		if commit {
			return protocol.PhaseTwoCommitFailedRetryable
		}
		return protocol.PhaseTwoRollbackFailedRetryable
	})
	rm := newClient(t, "stock", rmh, []string{"deduct", dbRes}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())

	tcc, at, rb := begin(t, tm, time.Minute), begin(t, tm, time.Minute), begin(t, tm, time.Minute)
	btcc := mustRegister(t, rm, tcc, protocol.BranchTCC, "deduct", "")
	bat := mustRegister(t, rm, at, protocol.BranchAT, dbRes, "t:1")
	brb := mustRegister(t, rm, rb, protocol.BranchAT, dbRes, "t:2")
	if st := commitTx(t, tm, tcc); st != protocol.GlobalCommitRetrying {
		t.Fatal(st)
	}
	if st := commitTx(t, tm, at); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	if st := rollbackTx(t, tm, rb); st != protocol.GlobalRollbackRetrying {
		t.Fatal(st)
	}
	if lockable(t, rm, "", dbRes, "t:2") {
		t.Fatal("a rollback in progress must keep its locks")
	}
	waitFor(t, tm, tcc, protocol.GlobalCommitted)
	waitFor(t, tm, at, protocol.GlobalCommitted)
	waitFor(t, tm, rb, protocol.GlobalRollbacked)
	for id, want := range map[int64]bool{btcc: true, bat: true, brb: false} {
		got := rmh.phases(id)
		if len(got) != failures+1 || slices.Contains(got, !want) {
			t.Fatalf("branch %d: deliveries %v", id, got)
		}
	}
	if !lockable(t, rm, "", dbRes, "t:2") {
		t.Fatal("locks kept after the rollback")
	}
}

func TestServerTimeout(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	s := startServerAt(t, testConfig(), clock)
	rmh := &recordingRM{}
	rm := newClient(t, "stock", rmh, []string{dbRes}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	xid := begin(t, tm, time.Minute)
	b := mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "t:1")
	clock.advance(time.Minute)
	waitFor(t, tm, xid, protocol.GlobalTimeoutRollbacked)
	if !slices.Equal(rmh.phases(b), []bool{false}) {
		t.Fatal(rmh.phases(b))
	}
	if st := commitTx(t, tm, xid); st != protocol.GlobalTimeoutRollbacked {
		t.Fatal(st)
	}
	if !lockable(t, rm, "", dbRes, "t:1") {
		t.Fatal("lock kept")
	}
}

// TestServerRMComesBack commits a TCC branch whose RM is gone: the commit
// waits (CommitRetrying, with a long backoff) and completes as soon as an RM
// of that resource registers again.
func TestServerRMComesBack(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.RetryPeriod = time.Minute
	cfg.MaxRetryBackoff = time.Minute
	s := startServer(t, cfg)
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	first := &recordingRM{}
	rm := newClient(t, "stock", first, []string{"deduct"}, s.Addr())
	xid := begin(t, tm, time.Minute)
	b := mustRegister(t, rm, xid, protocol.BranchTCC, "deduct", "")
	rm.Close()
	eventually(t, func() bool {
		for _, ss := range s.rpc.Sessions() {
			if ss.HasResource("deduct") {
				return false
			}
		}
		return true
	}, "the RM's sessions did not close")

	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitRetrying {
		t.Fatal(st)
	}
	second := &recordingRM{}
	newClient(t, "stock", second, []string{"deduct"}, s.Addr())
	waitFor(t, tm, xid, protocol.GlobalCommitted)
	if len(first.phases(b)) != 0 || !slices.Equal(second.phases(b), []bool{true}) {
		t.Fatal(first.phases(b), second.phases(b))
	}
}

func TestServerRollbackFailedKeepsLocks(t *testing.T) {
	t.Parallel()
	logs := &logSink{}
	cfg := testConfig()
	cfg.Logger = slog.New(logs)
	s := startServer(t, cfg)
	rmh := &recordingRM{}
	rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbackFailedUnretryable })
	rm := newClient(t, "orders", rmh, []string{dbRes}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	xid := begin(t, tm, time.Minute)
	mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "t:1")
	if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbackFailed {
		t.Fatal(st)
	}
	other := begin(t, tm, time.Minute)
	if _, err := registerBranch(t, rm, other, protocol.BranchAT, dbRes, "t:1"); !errors.Is(err, protocol.ErrLockKeyConflict) {
		t.Fatal(err)
	}
	if len(logs.find(slog.LevelError, "needs manual action")) != 1 {
		t.Fatal("not logged")
	}
}

func TestServerUndoLogDelete(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.UndoLogDeletePeriod = 30 * time.Millisecond
	cfg.UndoLogSaveDays = 3
	s := startServer(t, cfg)
	rmh := &recordingRM{}
	rm := newClient(t, "orders", rmh, []string{dbRes, "tcc-action"}, s.Addr())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	xid := begin(t, tm, time.Minute)
	mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "t:1")
	mustRegister(t, rm, xid, protocol.BranchTCC, "tcc-action", "")
	eventually(t, func() bool {
		rmh.mu.Lock()
		defer rmh.mu.Unlock()
		return len(rmh.undo) > 0
	}, "no UndoLogDeleteRequest")
	rmh.mu.Lock()
	defer rmh.mu.Unlock()
	for _, u := range rmh.undo {
		if u.ResourceID != dbRes || u.SaveDays != 3 || u.BranchType != protocol.BranchAT {
			t.Fatalf("%+v", u)
		}
	}
}

// rawConn is a client speaking the protocol by hand, to see the frames.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	r  *bufio.Reader
	id int32
}

func dialRaw(t testing.TB, addr net.Addr) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *rawConn) send(typ protocol.MessageType, id int32, m protocol.Message) {
	r.t.Helper()
	b, err := protocol.AppendFrame(nil, &protocol.Frame{Type: typ, Codec: protocol.CodecSeata, RequestID: id, Body: m})
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) call(m protocol.Message) *protocol.Frame {
	r.t.Helper()
	r.id++
	r.send(protocol.RequestSync, r.id, m)
	return r.read()
}

func (r *rawConn) read() *protocol.Frame {
	r.t.Helper()
	head, err := r.r.Peek(protocol.HeaderLength)
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := protocol.FrameLength(head)
	if err != nil {
		r.t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.r, buf); err != nil {
		r.t.Fatal(err)
	}
	f, err := protocol.DecodeFrame(buf)
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

// TestServerBranchRequestIDs checks on the wire that the coordinator's
// BranchCommit is a REQUEST_SYNC whose id cannot collide with the client's
// own ids (it is negative), and that a late duplicate answer is harmless.
func TestServerBranchRequestIDs(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	rm := dialRaw(t, s.Addr())
	f := rm.call(&protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "raw", TxServiceGroup: "default_tx_group", ResourceIDs: "deduct"})
	if r, ok := f.Body.(*protocol.RegisterRMResponse); !ok || !r.Identified {
		t.Fatalf("%+v", f.Body)
	}
	xid := begin(t, tm, time.Minute)
	f = rm.call(&protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchTCC, ResourceID: "deduct"})
	reg := f.Body.(*protocol.BranchRegisterResponse)
	if reg.Code != protocol.ResultSuccess || f.RequestID != rm.id {
		t.Fatalf("%+v", f)
	}
	done := make(chan protocol.GlobalStatus)
	go func() { done <- commitTx(t, tm, xid) }()
	f = rm.read()
	req, ok := f.Body.(*protocol.BranchCommitRequest)
	if !ok || f.Type != protocol.RequestSync || f.RequestID >= 0 || req.XID != xid || req.BranchID != reg.BranchID {
		t.Fatalf("branch commit frame %+v %+v", f, f.Body)
	}
	resp := &protocol.BranchCommitResponse{Result: success(), XID: xid, BranchID: req.BranchID, BranchStatus: protocol.PhaseTwoCommitted}
	rm.send(protocol.Response, f.RequestID, resp)
	rm.send(protocol.Response, f.RequestID, resp) // a duplicate answer
	if st := <-done; st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	// The session still works.
	f = rm.call(&protocol.GlobalLockQueryRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: "r", LockKey: "t:1"})
	if r, ok := f.Body.(*protocol.GlobalLockQueryResponse); !ok || !r.Lockable {
		t.Fatalf("%+v", f.Body)
	}
}

// TestServerGarbageLosesOnlyItsSession sends bytes that are not a frame:
// that connection is closed, the others carry on.
func TestServerGarbageLosesOnlyItsSession(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	xid := begin(t, tm, time.Minute)
	bad := dialRaw(t, s.Addr())
	bad.c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if _, err := bad.r.ReadByte(); err == nil {
		t.Fatal("the garbage connection was answered")
	}
	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
}

func TestServerBatchedRequests(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	c, err := rpc.NewClient(rpc.ClientConfig{Addresses: []string{s.Addr().String()}, ApplicationID: "tm-app", Batch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			xid := begin(t, c, time.Minute)
			if st := commitTx(t, c, xid); st != protocol.GlobalCommitted {
				t.Error(st)
			}
		})
	}
	wg.Wait()
}

func TestServerLifecycle(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{RetryPeriod: -1}); err == nil {
		t.Fatal("negative period accepted")
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil {
		t.Fatal("address before Start")
	}
	ctx := context.Background()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, "127.0.0.1:0"); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, "127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Fatal(err)
	}
	// A MySQL store without its tables does not start.
	d := testdb.Create(t)
	s, _ = New(Config{DB: d.DB})
	if err := s.Start(ctx, "127.0.0.1:0"); !errors.Is(err, ErrSchema) {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(nil)
	os.Exit(testdb.Run(m))
}

func (x *sessionIndex) count(resourceID string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byResource[resourceID])
}

// TestServerPhaseTwoSessionChoice checks where phase two goes (§8.9): to the
// session that registered the branch, else to another of its application,
// else, for AT only, to any session serving the resource when ownership is
// shared (TestOwnershipPhaseTwo covers the default).
func TestServerPhaseTwoSessionChoice(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SharedOwnership = true
	s := startServer(t, cfg)
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	const res = "shared-resource"
	xh, yh, zh := &recordingRM{}, &recordingRM{}, &recordingRM{}
	x := newClient(t, "orders", xh, []string{res}, s.Addr())
	y := newClient(t, "orders", yh, []string{res}, s.Addr())
	newClient(t, "billing", zh, []string{res}, s.Addr())

	exact := begin(t, tm, time.Minute)
	be := mustRegister(t, x, exact, protocol.BranchTCC, res, "")
	if st := rollbackTx(t, tm, exact); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	if len(xh.phases(be)) != 1 || len(yh.phases(be))+len(zh.phases(be)) != 0 {
		t.Fatal("not sent to the registering session")
	}

	sameApp := begin(t, tm, time.Minute)
	bs := mustRegister(t, x, sameApp, protocol.BranchTCC, res, "")
	tccOnly := begin(t, tm, time.Minute)
	bt := mustRegister(t, y, tccOnly, protocol.BranchTCC, res, "")
	atAny := begin(t, tm, time.Minute)
	ba := mustRegister(t, y, atAny, protocol.BranchAT, res, "t:1")
	x.Close()
	eventually(t, func() bool { return s.sess.count(res) == 2 }, "x's session is still indexed")
	if st := rollbackTx(t, tm, sameApp); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	if len(yh.phases(bs)) != 1 || len(zh.phases(bs)) != 0 {
		t.Fatal("not sent to the same application")
	}

	y.Close()
	eventually(t, func() bool { return s.sess.count(res) == 1 }, "y's session is still indexed")
	if st := rollbackTx(t, tm, tccOnly); st != protocol.GlobalRollbackRetrying {
		t.Fatalf("a TCC branch went to another application: %v", st)
	}
	if st := rollbackTx(t, tm, atAny); st != protocol.GlobalRollbacked {
		t.Fatal(st)
	}
	if len(zh.phases(ba)) != 1 || len(zh.phases(bt)) != 0 {
		t.Fatal(zh.phases(ba), zh.phases(bt))
	}
}

// TestBranchTimeoutBoundsPhaseTwo: a phase-two call to an RM that does not
// answer ends after BranchTimeout (here well below the TM's own 10 s call
// timeout and the transport's former 15 s default), and the transaction
// is left to the retry loop.
func TestBranchTimeoutBoundsPhaseTwo(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.BranchTimeout = 300 * time.Millisecond
	cfg.RetryPeriod = time.Hour // one attempt in this test
	s := startServer(t, cfg)
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	hang := rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		calls.Add(1)
		<-release
		return nil
	})
	tm := newClient(t, "tm-app", nil, nil, s.Addr())
	rm := newClient(t, "rm-app", hang, []string{"r"}, s.Addr())
	xid := begin(t, tm, time.Minute)
	mustRegister(t, rm, xid, protocol.BranchTCC, "r", "")
	if st := commitTx(t, tm, xid); st == protocol.GlobalCommitted {
		t.Fatalf("committed although the RM never answered")
	}
	if calls.Load() != 1 {
		t.Fatalf("%d phase-two calls, want 1", calls.Load())
	}
}

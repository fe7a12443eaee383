package rm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/atcc-go/atcc/internal/testlog"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// fakeCaller records requests and answers them with respond.
type fakeCaller struct {
	mu        sync.Mutex
	requests  []protocol.Message
	announced []string
	announce  error
	respond   func(protocol.Message) (protocol.Message, error)
}

func (f *fakeCaller) Call(_ context.Context, req protocol.Message) (protocol.Message, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	return f.respond(req)
}

func (f *fakeCaller) AddResource(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.announce != nil {
		return f.announce
	}
	f.announced = append(f.announced, id)
	return nil
}

// fakeResource runs commit and rollback functions.
type fakeResource struct {
	id       string
	typ      protocol.BranchType
	commit   func(context.Context, BranchRequest) (protocol.BranchStatus, error)
	rollback func(context.Context, BranchRequest) (protocol.BranchStatus, error)
}

func (r *fakeResource) ResourceID() string              { return r.id }
func (r *fakeResource) BranchType() protocol.BranchType { return r.typ }
func (r *fakeResource) BranchCommit(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
	return r.commit(ctx, b)
}
func (r *fakeResource) BranchRollback(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
	return r.rollback(ctx, b)
}

// undoResource also deletes undo logs.
type undoResource struct {
	fakeResource
	deleted chan int
}

func (r *undoResource) DeleteUndoLogs(_ context.Context, saveDays int) error {
	r.deleted <- saveDays
	return nil
}

func newTestManager(t *testing.T, cfg Config) (*Manager, *fakeCaller, *testlog.Buffer) {
	t.Helper()
	logs := &testlog.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f := &fakeCaller{respond: func(req protocol.Message) (protocol.Message, error) {
		return nil, fmt.Errorf("unexpected request %T", req)
	}}
	m := NewManager(f, cfg)
	t.Cleanup(func() { m.Close() })
	return m, f, logs
}

func commitReq(typ protocol.BranchType, id string) *protocol.BranchCommitRequest {
	return &protocol.BranchCommitRequest{XID: "127.0.0.1:8091:1", BranchID: 7, BranchType: typ, ResourceID: id, ApplicationData: "app"}
}

func rollbackReq(typ protocol.BranchType, id string) *protocol.BranchRollbackRequest {
	return &protocol.BranchRollbackRequest{XID: "127.0.0.1:8091:1", BranchID: 7, BranchType: typ, ResourceID: id, ApplicationData: "app"}
}

func answer(fn func(context.Context, BranchRequest) (protocol.BranchStatus, error)) *fakeResource {
	return &fakeResource{id: "db1", typ: protocol.BranchAT, commit: fn, rollback: fn}
}

func status(s protocol.BranchStatus, err error) func(context.Context, BranchRequest) (protocol.BranchStatus, error) {
	return func(context.Context, BranchRequest) (protocol.BranchStatus, error) { return s, err }
}

func TestRegister(t *testing.T) {
	m, f, _ := newTestManager(t, Config{})
	ctx := t.Context()
	ok := answer(status(protocol.PhaseTwoCommitted, nil))
	if err := m.Register(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(ctx, answer(nil)); !errors.Is(err, ErrDuplicateResource) {
		t.Fatalf("duplicate: %v", err)
	}
	// The same id under another branch type is another resource.
	tcc := &fakeResource{id: "db1", typ: protocol.BranchTCC}
	if err := m.Register(ctx, tcc); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Resource{
		"nil":      nil,
		"empty id": &fakeResource{id: ""},
		"comma":    &fakeResource{id: "a,b"},
		"too long": &fakeResource{id: strings.Repeat("x", 1<<15)},
		"type":     &fakeResource{id: "x", typ: protocol.BranchXA + 1},
	} {
		if err := m.Register(ctx, r); !errors.Is(err, ErrInvalidResource) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := strings.Join(f.announced, ","); got != "db1,db1" {
		t.Fatalf("announced %q", got)
	}

	f.announce = errors.New("boom")
	failing := &fakeResource{id: "db2"}
	if err := m.Register(ctx, failing); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("announce failure: %v", err)
	}
	if m.lookup(protocol.BranchAT, "db2") != nil {
		t.Fatal("a resource whose announcement failed stays registered")
	}

	if err := m.Unregister(protocol.BranchAT, "db1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Unregister(protocol.BranchAT, "db1"); !errors.Is(err, ErrUnknownResource) {
		t.Fatalf("second unregister: %v", err)
	}
	if m.lookup(protocol.BranchTCC, "db1") != tcc {
		t.Fatal("unregistering AT db1 removed TCC db1")
	}

	m.Close()
	f.announce = nil
	if err := m.Register(ctx, answer(nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestPhaseTwoAnswers(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name       string
		handler    func(context.Context, BranchRequest) (protocol.BranchStatus, error)
		commit     protocol.BranchStatus // the answer to a commit
		rollback   protocol.BranchStatus // the answer to a rollback
		failedCode bool                  // the result prefix says Failed
		log        string                // expected in the log
	}{
		{name: "success", handler: func(_ context.Context, b BranchRequest) (protocol.BranchStatus, error) {
			if b.XID != "127.0.0.1:8091:1" || b.BranchID != 7 || b.ResourceID != "db1" || b.ApplicationData != "app" || b.BranchType != protocol.BranchAT {
				return 0, fmt.Errorf("bad request %+v", b)
			}
			return 0, nil // replaced below per phase
		}},
		{name: "error without status", handler: status(0, errBoom),
			commit: protocol.PhaseTwoCommitFailedRetryable, rollback: protocol.PhaseTwoRollbackFailedRetryable, failedCode: true},
		{name: "zero status, no error", handler: status(0, nil),
			commit: protocol.PhaseTwoCommitFailedRetryable, rollback: protocol.PhaseTwoRollbackFailedRetryable, failedCode: true,
			log: "does not answer its phase"},
		{name: "phase one status", handler: status(protocol.PhaseOneDone, nil),
			commit: protocol.PhaseTwoCommitFailedRetryable, rollback: protocol.PhaseTwoRollbackFailedRetryable, failedCode: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _, logs := newTestManager(t, Config{})
			h := c.handler
			if c.name == "success" {
				h = func(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
					if _, err := c.handler(ctx, b); err != nil {
						return 0, err
					}
					return protocol.PhaseTwoCommitted, nil
				}
				c.commit = protocol.PhaseTwoCommitted
			}
			r := &fakeResource{id: "db1", typ: protocol.BranchAT, commit: h, rollback: h}
			if c.name == "success" {
				r.rollback = func(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
					if _, err := c.handler(ctx, b); err != nil {
						return 0, err
					}
					return protocol.PhaseTwoRollbacked, nil
				}
				c.rollback = protocol.PhaseTwoRollbacked
			}
			if err := m.Register(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			cr := m.HandleRequest(t.Context(), commitReq(protocol.BranchAT, "db1")).(*protocol.BranchCommitResponse)
			checkAnswer(t, "commit", cr.Result, cr.XID, cr.BranchID, cr.BranchStatus, c.commit, c.failedCode)
			rr := m.HandleRequest(t.Context(), rollbackReq(protocol.BranchAT, "db1")).(*protocol.BranchRollbackResponse)
			checkAnswer(t, "rollback", rr.Result, rr.XID, rr.BranchID, rr.BranchStatus, c.rollback, c.failedCode)
			if c.log != "" && !strings.Contains(logs.String(), c.log) {
				t.Fatalf("log lacks %q:\n%s", c.log, logs)
			}
		})
	}
}

func checkAnswer(t *testing.T, op string, res protocol.Result, xid string, branchID int64, got, want protocol.BranchStatus, failed bool) {
	t.Helper()
	if got != want {
		t.Errorf("%s: status %v, want %v (msg %q)", op, got, want, res.Msg)
	}
	if xid != "127.0.0.1:8091:1" || branchID != 7 {
		t.Errorf("%s: xid/branch not echoed: %q %d", op, xid, branchID)
	}
	if failed != (res.Code == protocol.ResultFailed) {
		t.Errorf("%s: result %v %q, want failed=%v", op, res.Code, res.Msg, failed)
	}
	if failed && res.Msg == "" {
		t.Errorf("%s: a failure without a message", op)
	}
}

func TestPhaseTwoStatusAndErrorCombinations(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		status   protocol.BranchStatus
		err      error
		commit   protocol.BranchStatus
		rollback protocol.BranchStatus
	}{
		// A failure status with an error is answered as is.
		{protocol.PhaseTwoCommitFailedUnretryable, errBoom, protocol.PhaseTwoCommitFailedUnretryable, protocol.PhaseTwoRollbackFailedRetryable},
		{protocol.PhaseTwoRollbackFailedUnretryable, errBoom, protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoRollbackFailedUnretryable},
		// A failure status without an error too.
		{protocol.PhaseTwoCommitFailedRetryable, nil, protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoRollbackFailedRetryable},
		// A success status with an error is a retryable failure.
		{protocol.PhaseTwoCommitted, errBoom, protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoRollbackFailedRetryable},
		{protocol.PhaseTwoRollbacked, errBoom, protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoRollbackFailedRetryable},
		// The other phase's success is a retryable failure.
		{protocol.PhaseTwoRollbacked, nil, protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoRollbacked},
		{protocol.PhaseTwoCommitted, nil, protocol.PhaseTwoCommitted, protocol.PhaseTwoRollbackFailedRetryable},
	}
	m, _, _ := newTestManager(t, Config{})
	var cur atomic.Pointer[func(context.Context, BranchRequest) (protocol.BranchStatus, error)]
	h := func(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
		return (*cur.Load())(ctx, b)
	}
	if err := m.Register(t.Context(), answer(h)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		fn := status(c.status, c.err)
		cur.Store(&fn)
		cr := m.HandleRequest(t.Context(), commitReq(protocol.BranchAT, "db1")).(*protocol.BranchCommitResponse)
		rr := m.HandleRequest(t.Context(), rollbackReq(protocol.BranchAT, "db1")).(*protocol.BranchRollbackResponse)
		if cr.BranchStatus != c.commit || rr.BranchStatus != c.rollback {
			t.Errorf("handler (%v, %v): answered commit %v, rollback %v; want %v, %v",
				c.status, c.err, cr.BranchStatus, rr.BranchStatus, c.commit, c.rollback)
		}
		if c.err != nil && (cr.Code != protocol.ResultFailed || !strings.Contains(cr.Msg, "boom")) {
			t.Errorf("handler (%v, %v): result %v %q", c.status, c.err, cr.Code, cr.Msg)
		}
	}
}

func TestUnknownResourceIsAnsweredWithRetryableFailure(t *testing.T) {
	m, _, logs := newTestManager(t, Config{})
	if err := m.Register(t.Context(), answer(status(protocol.PhaseTwoCommitted, nil))); err != nil {
		t.Fatal(err)
	}
	for _, req := range []protocol.Message{
		commitReq(protocol.BranchAT, "nope"),
		commitReq(protocol.BranchTCC, "db1"), // right id, other branch type
	} {
		cr := m.HandleRequest(t.Context(), req).(*protocol.BranchCommitResponse)
		checkAnswer(t, "commit", cr.Result, cr.XID, cr.BranchID, cr.BranchStatus, protocol.PhaseTwoCommitFailedRetryable, true)
		if !strings.Contains(cr.Msg, "not registered") {
			t.Errorf("msg %q", cr.Msg)
		}
	}
	rr := m.HandleRequest(t.Context(), rollbackReq(protocol.BranchAT, "nope")).(*protocol.BranchRollbackResponse)
	checkAnswer(t, "rollback", rr.Result, rr.XID, rr.BranchID, rr.BranchStatus, protocol.PhaseTwoRollbackFailedRetryable, true)
	if !strings.Contains(logs.String(), "unknown resource") {
		t.Fatalf("not logged:\n%s", logs)
	}
}

// The Manager calls the resource on the caller's goroutine, under the
// caller's context, and lets a panic through to the transport, which
// recovers it and answers (rpc's TestEveryBranchRequestAnsweredOnce).
func TestHandleRequestRunsOnTheCallersGoroutine(t *testing.T) {
	m, _, _ := newTestManager(t, Config{})
	type key struct{}
	var sawValue atomic.Bool
	r := answer(func(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error) {
		sawValue.Store(ctx.Value(key{}) == "caller")
		if b.BranchID == 7 && b.XID == "127.0.0.1:8091:1" {
			panic("kaboom")
		}
		return protocol.PhaseTwoCommitted, nil
	})
	if err := m.Register(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(t.Context(), key{}, "caller")
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Fatalf("recovered %v, want the resource's panic", p)
			}
		}()
		m.HandleRequest(ctx, commitReq(protocol.BranchAT, "db1"))
		t.Fatal("the panic did not reach the caller")
	}()
	if !sawValue.Load() {
		t.Fatal("the resource did not get the caller's context")
	}
}

func TestRequestsAfterCloseAnsweredRetryable(t *testing.T) {
	m, _, _ := newTestManager(t, Config{})
	var calls atomic.Int32
	if err := m.Register(t.Context(), answer(func(context.Context, BranchRequest) (protocol.BranchStatus, error) {
		calls.Add(1)
		return protocol.PhaseTwoCommitted, nil
	})); err != nil {
		t.Fatal(err)
	}
	m.Close()
	cr := m.HandleRequest(t.Context(), commitReq(protocol.BranchAT, "db1")).(*protocol.BranchCommitResponse)
	checkAnswer(t, "commit", cr.Result, cr.XID, cr.BranchID, cr.BranchStatus, protocol.PhaseTwoCommitFailedRetryable, true)
	rr := m.HandleRequest(t.Context(), rollbackReq(protocol.BranchAT, "db1")).(*protocol.BranchRollbackResponse)
	checkAnswer(t, "rollback", rr.Result, rr.XID, rr.BranchID, rr.BranchStatus, protocol.PhaseTwoRollbackFailedRetryable, true)
	if calls.Load() != 0 {
		t.Fatal("a closed Manager called its resource")
	}
}

func TestUndoLogDelete(t *testing.T) {
	m, _, logs := newTestManager(t, Config{})
	r := &undoResource{fakeResource: *answer(nil), deleted: make(chan int, 1)}
	if err := m.Register(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	tcc := &fakeResource{id: "tcc1", typ: protocol.BranchTCC}
	if err := m.Register(t.Context(), tcc); err != nil {
		t.Fatal(err)
	}
	if resp := m.HandleRequest(t.Context(), &protocol.UndoLogDeleteRequest{BranchType: protocol.BranchAT, ResourceID: "db1", SaveDays: 7}); resp != nil {
		t.Fatalf("answered a oneway request: %v", resp)
	}
	if got := <-r.deleted; got != 7 {
		t.Fatalf("saveDays %d", got)
	}
	// Resources without undo logs, and unknown ones, are skipped.
	if resp := m.HandleRequest(t.Context(), &protocol.UndoLogDeleteRequest{BranchType: protocol.BranchTCC, ResourceID: "tcc1", SaveDays: 7}); resp != nil {
		t.Fatal(resp)
	}
	if resp := m.HandleRequest(t.Context(), &protocol.UndoLogDeleteRequest{BranchType: protocol.BranchAT, ResourceID: "x", SaveDays: 7}); resp != nil {
		t.Fatal(resp)
	}
	if !strings.Contains(logs.String(), "unknown resource") {
		t.Fatalf("log:\n%s", logs)
	}
}

func TestFailureMessageIsCut(t *testing.T) {
	long := strings.Repeat("é", maxMsgLen) // 2 bytes per rune
	res := failed(long)
	if len(res.Msg) > maxMsgLen || !strings.HasPrefix(long, res.Msg) || len(res.Msg) < maxMsgLen-1 {
		t.Fatalf("cut to %d bytes", len(res.Msg))
	}
	if !utf8.ValidString(res.Msg) {
		t.Fatal("cut inside a rune")
	}
}

func TestConcurrentDispatchAndRegistration(t *testing.T) {
	m, _, _ := newTestManager(t, Config{})
	var calls atomic.Int64
	ok := func(context.Context, BranchRequest) (protocol.BranchStatus, error) {
		calls.Add(1)
		return protocol.PhaseTwoCommitted, nil
	}
	if err := m.Register(t.Context(), answer(ok)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := fmt.Sprintf("r%d", i)
			for range 50 {
				if err := m.Register(t.Context(), &fakeResource{id: id, typ: protocol.BranchTCC, commit: ok}); err != nil {
					t.Error(err)
					return
				}
				m.HandleRequest(t.Context(), commitReq(protocol.BranchTCC, id))
				if err := m.Unregister(protocol.BranchTCC, id); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				cr := m.HandleRequest(t.Context(), commitReq(protocol.BranchAT, "db1")).(*protocol.BranchCommitResponse)
				if cr.BranchStatus != protocol.PhaseTwoCommitted {
					t.Errorf("status %v", cr.BranchStatus)
					return
				}
			}
		})
	}
	wg.Wait()
	if calls.Load() < 8*50 {
		t.Fatalf("calls %d", calls.Load())
	}
}

func TestBranchCalls(t *testing.T) {
	m, f, _ := newTestManager(t, Config{})
	ctx := t.Context()
	const xid = "127.0.0.1:8091:1"
	b := Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: "db1", LockKeys: "t:1,2", ApplicationData: "{}"}

	if _, err := m.BranchRegister(ctx, b); !errors.Is(err, ErrUnknownResource) {
		t.Fatalf("unregistered resource: %v", err)
	}
	if err := m.Register(ctx, answer(nil)); err != nil {
		t.Fatal(err)
	}
	f.respond = func(req protocol.Message) (protocol.Message, error) {
		switch r := req.(type) {
		case *protocol.BranchRegisterRequest:
			if r.XID != xid || r.LockKey != "t:1,2" || r.ResourceID != "db1" || r.ApplicationData != "{}" || r.BranchType != protocol.BranchAT {
				return nil, fmt.Errorf("bad request %+v", r)
			}
			return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchID: 42}, nil
		case *protocol.GlobalLockQueryRequest:
			return &protocol.GlobalLockQueryResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, Lockable: r.LockKey == "t:1"}, nil
		case *protocol.BranchReportRequest:
			if r.Status != protocol.PhaseOneFailed || r.BranchID != 42 {
				return nil, fmt.Errorf("bad report %+v", r)
			}
			return &protocol.BranchReportResponse{Result: protocol.Result{Code: protocol.ResultSuccess}}, nil
		}
		return nil, fmt.Errorf("unexpected %T", req)
	}
	id, err := m.BranchRegister(ctx, b)
	if err != nil || id != 42 {
		t.Fatalf("register: %d, %v", id, err)
	}
	lockable, err := m.LockQuery(ctx, Branch{BranchType: protocol.BranchAT, ResourceID: "other", LockKeys: "t:1"})
	if err != nil || !lockable {
		t.Fatalf("lock query: %v, %v", lockable, err)
	}
	lockable, err = m.LockQuery(ctx, b)
	if err != nil || lockable {
		t.Fatalf("lock query: %v, %v", lockable, err)
	}
	if err := m.BranchReport(ctx, BranchStatusReport{XID: xid, BranchID: 42, BranchType: protocol.BranchAT, ResourceID: "db1", Status: protocol.PhaseOneFailed}); err != nil {
		t.Fatal(err)
	}

	// Invalid arguments are refused before anything is sent.
	sent := len(f.requests)
	for name, err := range map[string]error{
		"register without xid": func() error { _, err := m.BranchRegister(ctx, Branch{ResourceID: "db1"}); return err }(),
		"lock query without resource": func() error {
			_, err := m.LockQuery(ctx, Branch{XID: xid})
			return err
		}(),
		"report without xid": m.BranchReport(ctx, BranchStatusReport{ResourceID: "db1"}),
	} {
		if !errors.Is(err, ErrInvalidBranch) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(f.requests) != sent {
		t.Fatal("an invalid request was sent")
	}

	// A failed result and a wrong response type are errors.
	f.respond = func(protocol.Message) (protocol.Message, error) {
		return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultFailed, ExceptionCode: protocol.CodeLockKeyConflict, Msg: "conflict"}}, nil
	}
	if _, err := m.BranchRegister(ctx, b); err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("failed result: %v", err)
	}
	f.respond = func(protocol.Message) (protocol.Message, error) { return &protocol.BranchReportResponse{}, nil }
	if _, err := m.BranchRegister(ctx, b); err == nil {
		t.Fatal("wrong response type accepted")
	}
}

// BenchmarkHandleRequest measures the dispatch of a phase-two request to
// a resource that answers at once: lookup, guards, call, answer.
func BenchmarkHandleRequest(b *testing.B) {
	m := NewManager(&fakeCaller{}, Config{})
	defer m.Close()
	if err := m.Register(context.Background(), answer(status(protocol.PhaseTwoCommitted, nil))); err != nil {
		b.Fatal(err)
	}
	req := commitReq(protocol.BranchAT, "db1")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.HandleRequest(ctx, req).(*protocol.BranchCommitResponse); r.BranchStatus != protocol.PhaseTwoCommitted {
			b.Fatal(r.BranchStatus)
		}
	}
}

package rpc

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/internal/testlog"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// rmSession starts a client with handler h and returns the server's RM
// session for it.
func rmSession(t *testing.T, cfg ClientConfig, srv *Server) (*Client, *ServerSession) {
	t.Helper()
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ss *ServerSession
	eventually(t, "RM session at the server", func() bool {
		rms := sessionsWith(srv, RoleRM)
		if len(rms) == 1 {
			ss = rms[0]
		}
		return ss != nil
	})
	return c, ss
}

func TestBranchRequestsReachHandler(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	undo := make(chan *protocol.UndoLogDeleteRequest, 1)
	cfg := testClientConfig(srv.Addr().String())
	cfg.Handler = RequestHandlerFunc(func(_ context.Context, req protocol.Message) protocol.Message {
		switch r := req.(type) {
		case *protocol.BranchCommitRequest:
			return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
		case *protocol.BranchRollbackRequest:
			return &protocol.BranchRollbackResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, XID: "wrong", BranchStatus: protocol.PhaseTwoRollbacked}
		case *protocol.UndoLogDeleteRequest:
			undo <- r
		}
		return nil
	})
	_, ss := rmSession(t, cfg, srv)
	ctx := context.Background()

	resp, err := ss.Call(ctx, &protocol.BranchCommitRequest{XID: "127.0.0.1:8091:1", BranchID: 7, ResourceID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.(*protocol.BranchCommitResponse); r.BranchStatus != protocol.PhaseTwoCommitted || r.XID != "127.0.0.1:8091:1" || r.BranchID != 7 {
		t.Errorf("commit answer %+v: want status, XID and branch id echoed", r)
	}
	resp, err = ss.Call(ctx, &protocol.BranchRollbackRequest{XID: "127.0.0.1:8091:1", BranchID: 8})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.(*protocol.BranchRollbackResponse); r.BranchStatus != protocol.PhaseTwoRollbacked || r.XID != "127.0.0.1:8091:1" || r.BranchID != 8 {
		t.Errorf("rollback answer %+v", r)
	}
	if err := ss.Send(ctx, &protocol.UndoLogDeleteRequest{ResourceID: "r", SaveDays: 7}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-undo:
		if r.ResourceID != "r" || r.SaveDays != 7 {
			t.Errorf("UndoLogDelete = %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("UndoLogDelete never reached the handler")
	}
	if _, err := ss.Call(ctx, &protocol.GlobalBeginRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("ServerSession.Call with a client request: %v", err)
	}
	if err := ss.Send(ctx, &protocol.BranchCommitRequest{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("ServerSession.Send with a sync request: %v", err)
	}
}

// The coordinator always gets an answer to a branch request.
func TestBranchRequestAlwaysAnswered(t *testing.T) {
	checkLeaks(t)
	for name, h := range map[string]RequestHandler{
		"nil handler": nil,
		"panic":       RequestHandlerFunc(func(context.Context, protocol.Message) protocol.Message { panic("boom") }),
		"no answer":   RequestHandlerFunc(func(context.Context, protocol.Message) protocol.Message { return nil }),
		"wrong type": RequestHandlerFunc(func(context.Context, protocol.Message) protocol.Message {
			return &protocol.BranchRollbackResponse{BranchStatus: protocol.PhaseTwoRollbacked}
		}),
	} {
		t.Run(name, func(t *testing.T) {
			srv := newTestServer(t, ServerConfig{}, &tc{})
			cfg := testClientConfig(srv.Addr().String())
			cfg.Handler = h
			_, ss := rmSession(t, cfg, srv)
			resp, err := ss.Call(context.Background(), &protocol.BranchCommitRequest{XID: "x:1:2", BranchID: 3})
			if err != nil {
				t.Fatal(err)
			}
			r := resp.(*protocol.BranchCommitResponse)
			if r.Code != protocol.ResultFailed || r.BranchStatus != protocol.PhaseTwoCommitFailedRetryable || r.XID != "x:1:2" || r.BranchID != 3 {
				t.Errorf("answer %+v: want a retryable failure with XID and branch id", r)
			}
		})
	}
}

func TestFullWorkerQueueStillAnswers(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	entered := make(chan struct{}, 3)
	var release *testgate.Gate // opens before the client closes
	cfg := testClientConfig(srv.Addr().String())
	cfg.Workers, cfg.QueueSize = 1, 1
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		entered <- struct{}{}
		release.Wait()
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c, ss := rmSession(t, cfg, srv)
	release = testgate.New(t)
	ctx := context.Background()

	answers := make(chan *protocol.BranchCommitResponse, 3)
	call := func(id int64) {
		resp, err := ss.Call(ctx, &protocol.BranchCommitRequest{XID: "x:1:2", BranchID: id})
		if err != nil {
			t.Error(err)
			answers <- nil
			return
		}
		answers <- resp.(*protocol.BranchCommitResponse)
	}
	go call(1)
	<-entered // the only worker is busy
	go call(2)
	go call(3)
	// One of 2 and 3 waits in the queue, the other finds it full and is
	// answered at once, while the worker is still blocked.
	r := <-answers
	if r == nil || r.Code != protocol.ResultFailed || r.BranchStatus != protocol.PhaseTwoCommitFailedRetryable || (r.BranchID != 2 && r.BranchID != 3) {
		t.Fatalf("first answer %+v: want an immediate retryable failure", r)
	}
	if st := c.Stats(); st.Rejected != 1 || st.Queued != 1 {
		t.Errorf("Rejected = %d, Queued = %d; want 1, 1", st.Rejected, st.Queued)
	}
	release.Open()
	for range 2 {
		if r := <-answers; r == nil || r.BranchStatus != protocol.PhaseTwoCommitted {
			t.Errorf("answer %+v after release", r)
		}
	}
}

// A handler that blocks delays neither other replies to the client nor
// other requests from the coordinator.
func TestBlockingHandlerDelaysNothingElse(t *testing.T) {
	checkLeaks(t)
	blockServer := testgate.New(t) // the handler returns on ctx.Done too
	h := &tc{}
	h.handle = func(ctx context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		if r, ok := req.(*protocol.GlobalBeginRequest); ok && r.TransactionName == "slow" {
			select {
			case <-blockServer.C():
			case <-ctx.Done():
			}
		}
		return okResponse(h.addr.Load().(string), req)
	}
	srv := newTestServer(t, ServerConfig{}, h)
	var blockClient *testgate.Gate // opens before the client closes
	entered := make(chan struct{}, 1)
	cfg := testClientConfig(srv.Addr().String())
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		if r := req.(*protocol.BranchCommitRequest); r.BranchID == 1 {
			entered <- struct{}{}
			blockClient.Wait()
		}
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c, ss := rmSession(t, cfg, srv)
	blockClient = testgate.New(t)
	ctx := context.Background()

	var wg sync.WaitGroup
	wg.Go(func() { // blocks in the client's handler
		if _, err := ss.Call(ctx, &protocol.BranchCommitRequest{XID: "x:1:2", BranchID: 1}); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() { // blocks in the server's handler
		if err := begin(ctx, c, "slow"); err != nil {
			t.Error(err)
		}
	})
	<-entered
	// Everything else still flows both ways.
	for i := range 50 {
		if err := begin(ctx, c, "fast-"+itoa(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.Call(ctx, &protocol.BranchCommitRequest{XID: "x:1:2", BranchID: int64(100 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	blockClient.Open()
	blockServer.Open()
	wg.Wait()
}

// answerCounter is a fake coordinator that sends branch requests on the
// client's RM session and counts the answers to each request id.
type answerCounter struct {
	t    *testing.T
	f    *fakeTC
	mu   sync.Mutex
	seen map[int32][]*protocol.Frame // guarded by mu
	in   chan *protocol.Frame        // the answers, as they arrive (the first 1024 not taken)
}

func newAnswerCounter(t *testing.T) *answerCounter {
	a := &answerCounter{t: t, seen: make(map[int32][]*protocol.Frame), in: make(chan *protocol.Frame, 1024)}
	a.f = newFakeTC(t, true, func(_ *fakeConn, fr *protocol.Frame) {
		if fr.Type != protocol.Response {
			return
		}
		a.mu.Lock()
		a.seen[fr.RequestID] = append(a.seen[fr.RequestID], fr)
		a.mu.Unlock()
		select {
		case a.in <- fr:
		default: // a flood nobody waits for; seen counts it
		}
	})
	return a
}

// rm returns the client's RM session, once it registered.
func (a *answerCounter) rm() *fakeConn {
	var rm *fakeConn
	eventually(a.t, "an RM session", func() bool {
		for _, fc := range a.f.connections() {
			if Role(fc.role.Load()) == RoleRM {
				rm = fc
			}
		}
		return rm != nil
	})
	return rm
}

// send sends a branch request with the request id and branch id id.
func (a *answerCounter) send(fc *fakeConn, id int32, rollback bool) {
	var body protocol.Message = &protocol.BranchCommitRequest{XID: "127.0.0.1:8091:1", BranchID: int64(id), ResourceID: "r"}
	if rollback {
		body = &protocol.BranchRollbackRequest{XID: "127.0.0.1:8091:1", BranchID: int64(id), ResourceID: "r"}
	}
	fc.send(a.t, &protocol.Frame{Type: protocol.RequestSync, Codec: protocol.CodecSeata, RequestID: id, Body: body})
}

// next waits for the next answer.
func (a *answerCounter) next() *protocol.Frame {
	a.t.Helper()
	select {
	case fr := <-a.in:
		return fr
	case <-time.After(10 * time.Second):
		a.t.Fatal("no answer from the client")
		return nil
	}
}

// checkOnce closes the client, waits until the coordinator has read all it
// wrote, and checks that each of ids got exactly one answer and nothing
// else was answered.
func (a *answerCounter) checkOnce(c *Client, ids []int32) {
	a.t.Helper()
	c.Close()
	for _, fc := range a.f.connections() {
		select {
		case <-fc.closed:
		case <-time.After(10 * time.Second):
			a.t.Fatal("the client's connection did not end")
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if n := len(a.seen[id]); n != 1 {
			a.t.Errorf("request %d answered %d times", id, n)
		}
		delete(a.seen, id)
	}
	for id, frs := range a.seen {
		a.t.Errorf("request %d, never sent, answered %d times", id, len(frs))
	}
}

// branchAnswer returns the status, result, XID and branch id of an answer.
func branchAnswer(fr *protocol.Frame) (protocol.BranchStatus, protocol.Result, string, int64) {
	switch r := fr.Body.(type) {
	case *protocol.BranchCommitResponse:
		return r.BranchStatus, r.Result, r.XID, r.BranchID
	case *protocol.BranchRollbackResponse:
		return r.BranchStatus, r.Result, r.XID, r.BranchID
	}
	return 0, protocol.Result{}, "", 0
}

// Every branch request gets exactly one answer whatever its handler does,
// and a failure answer is one the coordinator retries (§8.9): the status
// PhaseTwo_CommitFailed_Retryable or PhaseTwo_RollbackFailed_Retryable,
// with the XID and branch id echoed.
func TestEveryBranchRequestAnsweredOnce(t *testing.T) {
	checkLeaks(t)
	const (
		ok = iota + 1
		ownFailure
		panics
		returnsNil
		wrongType
		goexit
		okRollback
		ownRollbackFailure
	)
	a := newAnswerCounter(t)
	cfg := testClientConfig(a.f.addr())
	cfg.Workers, cfg.QueueSize = 2, 64
	cfg.HandlerTimeout = time.Minute // never reached: this test is about what handlers return
	var calls atomic.Int32
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		calls.Add(1)
		var id int64
		switch r := req.(type) {
		case *protocol.BranchCommitRequest:
			id = r.BranchID
		case *protocol.BranchRollbackRequest:
			id = r.BranchID
		}
		success := protocol.Result{Code: protocol.ResultSuccess}
		switch id % 100 {
		case ok:
			return &protocol.BranchCommitResponse{Result: success, BranchStatus: protocol.PhaseTwoCommitted}
		case ownFailure:
			return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed, Msg: "gone"}, BranchStatus: protocol.PhaseTwoCommitFailedUnretryable}
		case panics:
			panic("kaboom")
		case returnsNil:
			return nil
		case wrongType:
			return &protocol.BranchRollbackResponse{Result: success, BranchStatus: protocol.PhaseTwoRollbacked}
		case goexit:
			runtime.Goexit()
		case okRollback:
			return &protocol.BranchRollbackResponse{Result: success, BranchStatus: protocol.PhaseTwoRollbacked}
		case ownRollbackFailure:
			return &protocol.BranchRollbackResponse{Result: protocol.Result{Code: protocol.ResultFailed, Msg: "retry"}, BranchStatus: protocol.PhaseTwoRollbackFailedRetryable}
		}
		return nil
	})
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm := a.rm()
	want := map[int32]protocol.BranchStatus{
		ok:                 protocol.PhaseTwoCommitted,
		ownFailure:         protocol.PhaseTwoCommitFailedUnretryable,
		panics:             protocol.PhaseTwoCommitFailedRetryable,
		returnsNil:         protocol.PhaseTwoCommitFailedRetryable,
		wrongType:          protocol.PhaseTwoCommitFailedRetryable,
		goexit:             protocol.PhaseTwoCommitFailedRetryable,
		okRollback:         protocol.PhaseTwoRollbacked,
		ownRollbackFailure: protocol.PhaseTwoRollbackFailedRetryable,
	}
	var ids []int32
	for round := range 3 { // goexit ends a worker each round: the pool must replace it
		for id := range want {
			rid := id + int32(round)*100
			a.send(rm, rid, id == okRollback || id == ownRollbackFailure)
			ids = append(ids, rid)
		}
	}
	for range ids {
		fr := a.next()
		st, res, xid, branch := branchAnswer(fr)
		id := fr.RequestID % 100
		if st != want[id] || xid != "127.0.0.1:8091:1" || branch != int64(fr.RequestID) {
			t.Errorf("request %d answered %T status %v (%q), xid %q, branch %d; want status %v with XID and branch echoed",
				fr.RequestID, fr.Body, st, res.Msg, xid, branch, want[id])
		}
		if (st != protocol.PhaseTwoCommitted && st != protocol.PhaseTwoRollbacked) != (res.Code == protocol.ResultFailed) || (res.Code == protocol.ResultFailed && res.Msg == "") {
			t.Errorf("request %d: status %v with result %v %q", fr.RequestID, st, res.Code, res.Msg)
		}
	}
	if n := calls.Load(); n != int32(len(ids)) {
		t.Errorf("handler called %d times for %d requests", n, len(ids))
	}
	a.checkOnce(c, ids)
}

// A handler that overruns HandlerTimeout gets a retryable failure answered
// for it at the deadline, exactly once, whether it honours its context or
// ignores it; one that ignores it keeps its worker, so no more than
// Workers handlers ever run and further requests queue, then find the
// queue full (answered at once), or wait past their own deadline (answered
// without running).
func TestOverrunningHandlersKeepTheBound(t *testing.T) {
	checkLeaks(t)
	const (
		ignores1 = iota + 1
		ignores2
		queued
		rejected
		honours
		barrier1
		barrier2
	)
	const timeout = 50 * time.Millisecond
	a := newAnswerCounter(t)
	cfg := testClientConfig(a.f.addr())
	cfg.Workers, cfg.QueueSize = 2, 1
	cfg.HandlerTimeout = timeout
	logs := &testlog.Buffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	var running, most, calls atomic.Int32
	entered := make(chan int64, 8)
	var stuck, barrier *testgate.Gate // open before the client closes
	var atBarrier sync.WaitGroup
	atBarrier.Add(2)
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		id := req.(*protocol.BranchCommitRequest).BranchID
		entered <- id
		switch id {
		case ignores1, ignores2:
			stuck.Wait()
		case honours: // its answer or the deadline's, whichever is first
			<-ctx.Done()
			return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed, Msg: "HandlerTimeout: " + ctx.Err().Error()},
				BranchStatus: protocol.PhaseTwoCommitFailedRetryable}
		case barrier1, barrier2: // each worker takes one, so both finished what they did before
			atBarrier.Done()
			barrier.Wait()
		}
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c := newTestClient(t, cfg)
	stuck, barrier = testgate.New(t), testgate.New(t)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm := a.rm()
	retryable := func(fr *protocol.Frame, id int32, why string) {
		t.Helper()
		st, res, _, branch := branchAnswer(fr)
		if fr.RequestID != id || branch != int64(id) || st != protocol.PhaseTwoCommitFailedRetryable || !strings.Contains(res.Msg, why) {
			t.Fatalf("answer to %d, branch %d: %v %q; want %d answered retryable, %q", fr.RequestID, branch, st, res.Msg, id, why)
		}
	}

	a.send(rm, ignores1, false)
	a.send(rm, ignores2, false)
	<-entered
	<-entered // both workers are taken
	a.send(rm, queued, false)
	a.send(rm, rejected, false) // read after queued: finds the queue full
	got := map[int32]*protocol.Frame{}
	for range 3 {
		fr := a.next()
		got[fr.RequestID] = fr
	}
	retryable(got[rejected], rejected, "queue full")
	retryable(got[ignores1], ignores1, "HandlerTimeout")
	retryable(got[ignores2], ignores2, "HandlerTimeout")
	// queued arrived before rejected was answered; once its deadline has
	// surely passed, free the workers: it is answered without running.
	time.Sleep(2 * timeout)
	stuck.Open()
	retryable(a.next(), queued, "before a worker took the request")

	a.send(rm, honours, false)
	retryable(a.next(), honours, "HandlerTimeout")

	a.send(rm, barrier1, false)
	a.send(rm, barrier2, false)
	atBarrier.Wait()
	barrier.Open()
	a.next()
	a.next()
	if m := most.Load(); m > 2 {
		t.Errorf("%d handlers ran at once with 2 workers", m)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("handler called %d times, want 5 (not for the rejected and the expired request)", n)
	}
	a.checkOnce(c, []int32{ignores1, ignores2, queued, rejected, honours, barrier1, barrier2})
	for _, line := range []string{
		"branch_id=1 why=\"HandlerTimeout (50ms) passed before the handler returned\"",
		"returned after its deadline; its result was dropped\" addr=",
		"branch_id=3 why=\"HandlerTimeout (50ms) passed before a worker took the request\"",
	} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %s:\n%s", line, logs)
		}
	}
}

// checkAtMostOnce waits until the coordinator has read all the client
// wrote and checks that no request was answered twice.
func (a *answerCounter) checkAtMostOnce() {
	a.t.Helper()
	for _, fc := range a.f.connections() {
		select {
		case <-fc.closed:
		case <-time.After(10 * time.Second):
			a.t.Fatal("the client's connection did not end")
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, frs := range a.seen {
		if len(frs) > 1 {
			a.t.Errorf("request %d answered %d times", id, len(frs))
		}
	}
}

// Close races a flood of branch requests: it cancels the handlers, which
// end (those still queued are dropped with the session), returns only
// after every handler has returned, and no request is answered twice.
func TestCloseRacingRequests(t *testing.T) {
	checkLeaks(t)
	a := newAnswerCounter(t)
	cfg := testClientConfig(a.f.addr())
	cfg.Workers, cfg.QueueSize = 4, 8
	cfg.HandlerTimeout = time.Minute
	var running atomic.Int32
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		running.Add(1)
		defer running.Add(-1)
		if req.(*protocol.BranchCommitRequest).BranchID%3 == 0 {
			<-ctx.Done() // ends when Close cancels it
		}
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm := a.rm()
	var sender sync.WaitGroup
	sender.Go(func() {
		for id := int32(1); id <= 2000; id++ {
			a.send(rm, id, false)
			if isClosed(rm) {
				return
			}
		}
	})
	for range 20 {
		a.next()
	}
	c.Close()
	if n := running.Load(); n != 0 {
		t.Errorf("Close returned with %d handlers running", n)
	}
	sender.Wait()
	a.checkAtMostOnce()
}

// A handler that ignores its context holds Close up until it returns.
func TestCloseWaitsForHandlerIgnoringContext(t *testing.T) {
	checkLeaks(t)
	a := newAnswerCounter(t)
	cfg := testClientConfig(a.f.addr())
	entered := make(chan struct{})
	var returned atomic.Bool
	var stuck *testgate.Gate // opens before the client closes
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		close(entered)
		stuck.Wait()
		returned.Store(true)
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c := newTestClient(t, cfg)
	stuck = testgate.New(t)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.send(a.rm(), 1, false)
	<-entered
	closed := make(chan bool)
	go func() {
		c.Close()
		closed <- returned.Load()
	}()
	eventually(t, "Close to begin", c.isClosed)
	stuck.Open()
	if !<-closed {
		t.Fatal("Close returned while a handler was still running")
	}
	a.checkAtMostOnce()
}

// The timers that answer at a deadline are reused across requests: one
// that fired for an overrunning handler answers nothing for the requests
// its worker runs next, which get their handlers' answers, each exactly
// once.
func TestDeadlineTimerReused(t *testing.T) {
	checkLeaks(t)
	a := newAnswerCounter(t)
	cfg := testClientConfig(a.f.addr())
	cfg.Workers, cfg.QueueSize = 1, 64
	cfg.HandlerTimeout = 2 * time.Second // the fast handlers below stay far from it
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		if req.(*protocol.BranchCommitRequest).BranchID%2 == 1 {
			<-ctx.Done() // overruns: the timer answers
		}
		return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
	})
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	rm := a.rm()
	var ids []int32
	for id := int32(1); id <= 6; id++ { // one worker: slow, fast, slow, fast, ...
		ids = append(ids, id)
		a.send(rm, id, false)
		fr := a.next()
		st, _, _, branch := branchAnswer(fr)
		want := protocol.PhaseTwoCommitted
		if id%2 == 1 {
			want = protocol.PhaseTwoCommitFailedRetryable
		}
		if branch != int64(id) || st != want {
			t.Fatalf("request %d: answer for branch %d with status %v, want %v", id, branch, st, want)
		}
	}
	a.checkOnce(c, ids)
}

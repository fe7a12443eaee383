package rpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
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

package rpc

import (
	"context"
	"testing"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// inlineTC is a test InlineHandler: GlobalStatus and BranchRegister are
// non-blocking, the rest goes to the worker pool.
type inlineTC struct{ *tc }

func (h inlineTC) Inline(req protocol.Message) bool {
	switch req.(type) {
	case *protocol.GlobalStatusRequest, *protocol.BranchRegisterRequest:
		return true
	}
	return false
}

// Requests an InlineHandler calls non-blocking are answered on the read
// goroutine: with the only worker blocked and the queue full they are still
// answered, whole MergedWarpMessages of them too; a merged message with one
// blocking request still goes to the pool.
func TestServerInlineRequestsSkipTheWorkerPool(t *testing.T) {
	checkLeaks(t)
	entered := make(chan struct{}, 1)
	var release *testgate.Gate // opens before the server closes
	h := &tc{}
	h.handle = func(ctx context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		if r, ok := req.(*protocol.GlobalBeginRequest); ok && r.TransactionName == "block" {
			entered <- struct{}{}
			release.Wait()
		}
		return okResponse("x", req)
	}
	srv := NewServer(ServerConfig{Workers: 1, QueueSize: 1}, inlineTC{h})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	release = testgate.New(t)
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "a", ResourceIDs: "db"}))
	mustRecv(t, r)
	r.send(seata(protocol.RequestSync, 2, &protocol.GlobalBeginRequest{TransactionName: "block"}))
	<-entered
	r.send(seata(protocol.RequestSync, 3, &protocol.GlobalBeginRequest{TransactionName: "queued"}))
	r.send(seata(protocol.RequestSync, 4, &protocol.GlobalStatusRequest{XID: "x:1"}))
	r.send(seata(protocol.RequestSync, 5, &protocol.MergedWarpMessage{Messages: []protocol.Message{
		&protocol.BranchRegisterRequest{XID: "x:1", ResourceID: "db"},
		&protocol.GlobalStatusRequest{XID: "x:1"},
	}}))
	// Mixed: goes to the pool, whose queue is full: refused at once.
	r.send(seata(protocol.RequestSync, 6, &protocol.MergedWarpMessage{Messages: []protocol.Message{
		&protocol.GlobalStatusRequest{XID: "x:1"},
		&protocol.GlobalBeginRequest{TransactionName: "rejected"},
	}}))
	for _, want := range []int32{4, 5, 6} {
		f := mustRecv(t, r)
		if f.RequestID != want {
			t.Fatalf("answer %d, want %d (inline answers come first, in order)", f.RequestID, want)
		}
		switch m := f.Body.(type) {
		case *protocol.GlobalStatusResponse:
			if m.Code != protocol.ResultSuccess {
				t.Errorf("inline GlobalStatus failed: %+v", m)
			}
		case *protocol.MergeResultMessage:
			failed := 0
			for _, res := range m.Results {
				if r, _ := protocol.ResultOf(res); r.Code != protocol.ResultSuccess {
					failed++
				}
			}
			if want == 5 && (failed != 0 || m.Results[0].TypeCode() != protocol.TypeBranchRegisterResult) {
				t.Errorf("inline merged answer: %+v", m.Results)
			}
			if want == 6 && failed != 2 {
				t.Errorf("a mixed merged message was not refused by the full queue: %+v", m.Results)
			}
		default:
			t.Fatalf("answer %d: %T", want, f.Body)
		}
	}
	release.Open()
	for _, want := range []int32{2, 3} {
		if f := mustRecv(t, r); f.RequestID != want {
			t.Errorf("answer %d, want %d", f.RequestID, want)
		}
	}
}

// A handler that panics on the read goroutine fails the request, like one on
// a worker, and the session goes on.
func TestServerInlinePanicAnswersFailure(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	h.handle = func(ctx context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		if _, ok := req.(*protocol.GlobalStatusRequest); ok {
			panic("boom")
		}
		return okResponse("x", req)
	}
	srv := NewServer(ServerConfig{}, inlineTC{h})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "a", ResourceIDs: "db"}))
	mustRecv(t, r)
	r.send(seata(protocol.RequestSync, 2, &protocol.GlobalStatusRequest{XID: "x:1"}))
	f := mustRecv(t, r)
	if m, ok := f.Body.(*protocol.GlobalStatusResponse); f.RequestID != 2 || !ok || m.Code != protocol.ResultFailed {
		t.Fatalf("answer: %d %+v", f.RequestID, f.Body)
	}
	r.send(seata(protocol.RequestSync, 3, &protocol.BranchRegisterRequest{XID: "x:1", ResourceID: "db"}))
	if f := mustRecv(t, r); f.RequestID != 3 {
		t.Fatalf("answer %d after a panic", f.RequestID)
	}
}

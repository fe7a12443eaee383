package rpc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// commits returns n BranchCommit requests for branches 1..n.
func commits(n int) []protocol.Message {
	reqs := make([]protocol.Message, n)
	for i := range reqs {
		reqs[i] = &protocol.BranchCommitRequest{XID: "127.0.0.1:8091:1", BranchID: int64(i + 1), BranchType: protocol.BranchAT, ResourceID: "r"}
	}
	return reqs
}

// handledOnce records the branch ids a handler was called for.
type handledOnce struct {
	mu   sync.Mutex
	seen map[int64]int
}

func (h *handledOnce) note(req protocol.Message) int64 {
	id := req.(*protocol.BranchCommitRequest).BranchID
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = make(map[int64]int)
	}
	h.seen[id]++
	return id
}

func (h *handledOnce) check(t *testing.T, n int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := int64(1); id <= int64(n); id++ {
		if h.seen[id] != 1 {
			t.Errorf("branch %d handled %d times, want 1", id, h.seen[id])
		}
	}
}

func committed() *protocol.BranchCommitResponse {
	return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
}

// An atcc RM announces merged commits; a merged request reaches its
// handler as one request per inner commit, and the answers come back in
// order, XID and branch id echoed, in one frame (no late replies).
func TestCallMerged(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	var h handledOnce
	cfg := testClientConfig(srv.Addr().String())
	cfg.Handler = RequestHandlerFunc(func(_ context.Context, req protocol.Message) protocol.Message {
		if id := h.note(req); id == 2 {
			return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed, Msg: "no"}, BranchStatus: protocol.PhaseTwoCommitFailedUnretryable}
		}
		return committed()
	})
	_, ss := rmSession(t, cfg, srv)
	if !ss.MergesBranchCommits() {
		t.Fatal("an atcc RM session does not announce merged commits")
	}
	const n = 5
	resps, err := ss.CallMerged(context.Background(), commits(n))
	if err != nil {
		t.Fatal(err)
	}
	if len(resps) != n {
		t.Fatalf("%d answers for %d requests", len(resps), n)
	}
	for i, m := range resps {
		r := m.(*protocol.BranchCommitResponse)
		want := protocol.PhaseTwoCommitted
		if i == 1 {
			want = protocol.PhaseTwoCommitFailedUnretryable
		}
		if r.BranchID != int64(i+1) || r.XID != "127.0.0.1:8091:1" || r.BranchStatus != want {
			t.Errorf("answer %d = %+v, want branch %d, %v", i, r, i+1, want)
		}
	}
	h.check(t, n)
	if st := srv.Stats(); st.LateReplies != 0 || st.Pending != 0 {
		t.Errorf("server stats %+v: want no late reply, nothing pending", st)
	}

	if _, err := ss.CallMerged(context.Background(), nil); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("CallMerged of nothing: %v", err)
	}
	if _, err := ss.CallMerged(context.Background(), commits(MaxMergedCommits+1)); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("CallMerged of %d: %v", MaxMergedCommits+1, err)
	}
	if _, err := ss.CallMerged(context.Background(), []protocol.Message{&protocol.BranchRollbackRequest{}}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("CallMerged of a rollback: %v", err)
	}
}

// A session that did not announce merged commits (a Java or seata-go RM)
// is never sent one.
func TestCallMergedRefusesUnannouncedSession(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	r := dialRaw(t, srv.Addr().String())
	r.send(&protocol.Frame{Type: protocol.RequestSync, Codec: protocol.CodecSeata, RequestID: 1,
		Body: &protocol.RegisterRMRequest{Version: "1.5.2", ApplicationID: "java", ResourceIDs: "r", ExtraData: "atcc.mergedBranchCommit=0\n"}})
	if fr, err := r.recv(); err != nil || !fr.Body.(*protocol.RegisterRMResponse).Identified {
		t.Fatalf("registration: %v %+v", err, fr)
	}
	var ss *ServerSession
	eventually(t, "RM session", func() bool {
		rms := sessionsWith(srv, RoleRM)
		if len(rms) == 1 {
			ss = rms[0]
		}
		return ss != nil
	})
	if ss.MergesBranchCommits() {
		t.Fatal("a session without the announcement merges")
	}
	if _, err := ss.CallMerged(context.Background(), commits(2)); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("CallMerged to a session that did not announce it: %v", err)
	}
	// Nothing was sent: the next frame is the answer to a ping.
	r.send(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 2})
	if fr, err := r.recv(); err != nil || fr.Type != protocol.HeartbeatResponse {
		t.Fatalf("after a refused CallMerged the client got %+v (%v), want the PONG", fr, err)
	}
}

// The RM announces merged commits with one extraData line, beside the
// signed ones when an access key is set: a coordinator that checks the
// signature still accepts it.
func TestRegisterRMAnnouncesMergedCommit(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{Auth: ServerAuth{AccessKeys: []AccessKey{{Key: "ak", Secret: "sk"}}}}, &tc{})
	cfg := testClientConfig(srv.Addr().String())
	cfg.AccessKey, cfg.SecretKey = "ak", "sk"
	cfg.Handler = RequestHandlerFunc(func(context.Context, protocol.Message) protocol.Message { return committed() })
	_, ss := rmSession(t, cfg, srv)
	if !ss.MergesBranchCommits() || ss.Authenticated() != "ak:ak" {
		t.Errorf("MergesBranchCommits %v, Authenticated %q; want true, ak:ak", ss.MergesBranchCommits(), ss.Authenticated())
	}
	if !announcesMergedCommit("ak=x\natcc.mergedBranchCommit=1\n") || announcesMergedCommit("") || announcesMergedCommit("atcc.mergedBranchCommit=true\n") {
		t.Error("announcesMergedCommit")
	}
}

// Each inner request of a merged one is due HandlerTimeout after the
// merged request arrived: a slow handler, or one that panics, costs a
// retryable failure for its own inner request only; the others are
// answered with their handler's results, in the same frame, each handler
// called once.
func TestMergedInnerFailuresStayInner(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	var h handledOnce
	release := testgate.New(t)
	cfg := testClientConfig(srv.Addr().String())
	cfg.HandlerTimeout = 300 * time.Millisecond
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		switch h.note(req) {
		case 2: // slow, and ignores its context
			release.Wait()
		case 4:
			panic("boom")
		}
		return committed()
	})
	_, ss := rmSession(t, cfg, srv)
	start := time.Now()
	resps, err := ss.CallMerged(context.Background(), commits(5))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("answered after %v, before the slow handler's deadline", d)
	}
	for i, m := range resps {
		r := m.(*protocol.BranchCommitResponse)
		want := protocol.PhaseTwoCommitted
		if i == 1 || i == 3 {
			want = protocol.PhaseTwoCommitFailedRetryable
		}
		if r.BranchStatus != want || r.BranchID != int64(i+1) {
			t.Errorf("answer %d = %+v, want %v", i, r, want)
		}
	}
	if r := resps[1].(*protocol.BranchCommitResponse); !strings.Contains(r.Msg, "HandlerTimeout") {
		t.Errorf("slow inner request answered %q", r.Msg)
	}
	if r := resps[3].(*protocol.BranchCommitResponse); !strings.Contains(r.Msg, "panicked") {
		t.Errorf("panicking inner request answered %q", r.Msg)
	}
	release.Open()
	h.check(t, 5)
	time.Sleep(50 * time.Millisecond) // the slow handler's result, dropped, would show as a late reply
	if st := srv.Stats(); st.LateReplies != 0 {
		t.Errorf("%d late replies: an inner request was answered twice", st.LateReplies)
	}
}

// Inner requests that find the worker queue full are answered with a
// retryable failure, the others when their handlers return: one frame,
// each inner request answered once.
func TestMergedFullQueue(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	var h handledOnce
	entered := make(chan struct{}, 4)
	release := testgate.New(t)
	cfg := testClientConfig(srv.Addr().String())
	cfg.Workers, cfg.QueueSize = 1, 1
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		h.note(req)
		entered <- struct{}{}
		release.Wait()
		return committed()
	})
	c, ss := rmSession(t, cfg, srv)
	done := make(chan []protocol.Message, 1)
	go func() {
		resps, err := ss.CallMerged(context.Background(), commits(4))
		if err != nil {
			t.Error(err)
		}
		done <- resps
	}()
	<-entered
	eventually(t, "two inner requests rejected", func() bool { return c.Stats().Rejected == 2 })
	release.Open()
	resps := <-done
	var ok, busy int
	for i, m := range resps {
		r := m.(*protocol.BranchCommitResponse)
		switch {
		case r.BranchID != int64(i+1):
			t.Errorf("answer %d is for branch %d", i, r.BranchID)
		case r.BranchStatus == protocol.PhaseTwoCommitted:
			ok++
		case r.BranchStatus == protocol.PhaseTwoCommitFailedRetryable && strings.Contains(r.Msg, "queue full"):
			busy++
		default:
			t.Errorf("answer %d = %+v", i, r)
		}
	}
	if ok != 2 || busy != 2 {
		t.Errorf("%d committed, %d busy; want 2, 2", ok, busy)
	}
	if st := srv.Stats(); st.LateReplies != 0 {
		t.Errorf("%d late replies", st.LateReplies)
	}
}

// A merged request whose session is lost fails as a whole with
// ErrConnectionLost: the coordinator retries every branch of it.
func TestMergedSessionLost(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	entered := make(chan struct{}, 3)
	cfg := testClientConfig(srv.Addr().String())
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		entered <- struct{}{}
		<-ctx.Done() // until the client closes
		return committed()
	})
	c, ss := rmSession(t, cfg, srv)
	errc := make(chan error, 1)
	go func() {
		_, err := ss.CallMerged(context.Background(), commits(3))
		errc <- err
	}()
	for range 3 {
		<-entered
	}
	ss.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrConnectionLost) {
			t.Errorf("CallMerged on a lost session: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CallMerged did not return when its session closed")
	}
	c.Close()
}

// A client that merges a BranchCommit into its own MergedWarpMessage gets a
// failure for it; the handler never sees it; the other requests are
// answered.
func TestServerRefusesMergedBranchCommitFromClient(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	var calls []protocol.TypeCode
	var mu sync.Mutex
	h.handle = func(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message {
		mu.Lock()
		calls = append(calls, req.TypeCode())
		mu.Unlock()
		return okResponse("x", req)
	}
	srv := newTestServer(t, ServerConfig{}, h)
	r := dialRaw(t, srv.Addr().String())
	r.send(&protocol.Frame{Type: protocol.RequestSync, Codec: protocol.CodecSeata, RequestID: 1,
		Body: &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "a", ResourceIDs: "r"}})
	if _, err := r.recv(); err != nil {
		t.Fatal(err)
	}
	r.send(&protocol.Frame{Type: protocol.RequestOneway, Codec: protocol.CodecSeata, RequestID: 4, Body: &protocol.MergedWarpMessage{
		Messages: []protocol.Message{&protocol.GlobalStatusRequest{XID: "x:1"}, &protocol.BranchCommitRequest{XID: "x:1", BranchID: 9}},
		MsgIDs:   []int32{2, 3},
	}})
	fr, err := r.recv()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := fr.Body.(*protocol.MergeResultMessage)
	if !ok || len(m.Results) != 2 || fr.RequestID != 4 {
		t.Fatalf("answer %+v", fr)
	}
	if r, ok := m.Results[1].(*protocol.BranchCommitResponse); !ok || r.Code != protocol.ResultFailed {
		t.Errorf("merged BranchCommit from a client answered %+v", m.Results[1])
	}
	if r, ok := m.Results[0].(*protocol.GlobalStatusResponse); !ok || r.Code != protocol.ResultSuccess {
		t.Errorf("GlobalStatus answered %+v", m.Results[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0] != protocol.TypeGlobalStatus {
		t.Errorf("handler called for %v, want GlobalStatus only", calls)
	}
}

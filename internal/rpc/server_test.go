package rpc

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func seata(t protocol.MessageType, id int32, body protocol.Message) *protocol.Frame {
	return &protocol.Frame{Type: t, Codec: protocol.CodecSeata, RequestID: id, Body: body}
}

func mustRecv(t *testing.T, r *rawConn) *protocol.Frame {
	t.Helper()
	f, err := r.recv()
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return f
}

func TestServerAnswersHeartbeatBeforeRegistration(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	r := dialRaw(t, srv.Addr().String())
	r.send(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 5})
	f := mustRecv(t, r)
	if f.Type != protocol.HeartbeatResponse || f.RequestID != 5 || f.Body != nil {
		t.Errorf("answer to PING: %+v", f)
	}
}

// J8: a transaction request before registration closes the session.
func TestServerClosesUnregisteredSession(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	srv := newTestServer(t, ServerConfig{}, h)
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.GlobalBeginRequest{TransactionName: "x"}))
	if f, err := r.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("got %+v, %v; want the connection closed", f, err)
	}
	eventually(t, "session gone", func() bool { return len(srv.Sessions()) == 0 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.registered)+len(h.closedCalls) != 0 {
		t.Error("callbacks for a session that never registered")
	}
}

// J7, J9 and seata-go's habits: a oneway RegisterTM followed at once by a
// request, a second RegisterRM on the same connection, and answers that
// echo id, codec and compressor.
func TestServerOnewayRegistrationAndEcho(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	srv := newTestServer(t, ServerConfig{Version: "2.1.0"}, h)
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestOneway, 1, &protocol.RegisterTMRequest{Version: "1.1.0", ApplicationID: "go-app", TxServiceGroup: "g"}))
	gz := seata(protocol.RequestSync, 2, &protocol.GlobalBeginRequest{TransactionName: "t"})
	gz.Compressor = protocol.CompressGzip
	gz.HeadMap = map[string]string{"sw8": "trace"}
	r.send(gz)
	r.send(seata(protocol.RequestOneway, 3, &protocol.RegisterRMRequest{Version: "1.5.2", ApplicationID: "go-app", TxServiceGroup: "g", ResourceIDs: "db1,db2"}))
	r.send(seata(protocol.RequestOneway, 4, &protocol.RegisterRMRequest{Version: "1.5.2", ApplicationID: "go-app", TxServiceGroup: "g", ResourceIDs: "db2,db3"}))

	// Answers come in any order: registrations are answered by the read
	// goroutine, requests by a worker.
	got := map[int32]*protocol.Frame{}
	for range 4 {
		f := mustRecv(t, r)
		got[f.RequestID] = f
	}
	if f := got[1]; f == nil || f.Type != protocol.Response {
		t.Errorf("answer to oneway RegisterTM: %+v", f)
	} else if m, ok := f.Body.(*protocol.RegisterTMResponse); !ok || !m.Identified || m.Version != "2.1.0" {
		t.Errorf("RegisterTM answered with %+v", f.Body)
	}
	if f := got[2]; f == nil || f.Compressor != protocol.CompressGzip || f.HeadMap != nil {
		t.Errorf("answer to gzip GlobalBegin: %+v", f)
	} else if m, ok := f.Body.(*protocol.GlobalBeginResponse); !ok || m.Code != protocol.ResultSuccess {
		t.Errorf("GlobalBegin answered with %+v", f.Body)
	}
	for _, id := range []int32{3, 4} {
		if f := got[id]; f == nil || f.Body.TypeCode() != protocol.TypeRegisterRMResult {
			t.Errorf("answer %d: %+v", id, f)
		}
	}
	ss := srv.Sessions()[0]
	if ss.Roles() != RoleTM|RoleRM || ss.Version() != "1.1.0" || ss.ApplicationID() != "go-app" ||
		!slices.Equal(ss.ResourceIDs(), []string{"db1", "db2", "db3"}) {
		t.Errorf("session: roles %v version %q app %q resources %q", ss.Roles(), ss.Version(), ss.ApplicationID(), ss.ResourceIDs())
	}
	eventually(t, "SessionRegistered for each registration", func() bool { return h.registrations() == 3 })
}

func TestServerMergedWarp(t *testing.T) {
	checkLeaks(t)
	batch := &protocol.MergedWarpMessage{
		Messages: []protocol.Message{
			&protocol.GlobalBeginRequest{TransactionName: "a"},
			&protocol.BranchRegisterRequest{XID: "x:1:2"},
			&protocol.GlobalBeginRequest{TransactionName: "b"},
		},
		MsgIDs: []int32{11, 12, 13},
	}
	for _, tt := range []struct {
		name          string
		batchResults  bool
		clientVersion string
		want          protocol.TypeCode
	}{
		{"default", false, "2.2.0", protocol.TypeMergeResult},
		{"batch results", true, "2.2.0", protocol.TypeBatchResult},
		{"batch results, old client", true, "1.4.2", protocol.TypeMergeResult},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, ServerConfig{BatchResults: tt.batchResults}, &tc{})
			r := dialRaw(t, srv.Addr().String())
			r.send(seata(protocol.RequestSync, 1, &protocol.RegisterRMRequest{Version: tt.clientVersion, ApplicationID: "a"}))
			mustRecv(t, r)
			f := seata(protocol.RequestOneway, 10, batch)
			f.HeadMap = map[string]string{"k": "v"}
			r.send(f)
			ans := mustRecv(t, r)
			if ans.RequestID != 10 || ans.Body.TypeCode() != tt.want {
				t.Fatalf("answer: id %d, %v", ans.RequestID, ans.Body.TypeCode())
			}
			var results []protocol.Message
			switch m := ans.Body.(type) {
			case *protocol.MergeResultMessage:
				results = m.Results
				if ans.HeadMap != nil {
					t.Error("MergeResultMessage with a head map")
				}
			case *protocol.BatchResultMessage:
				results = m.Results
				if !slices.Equal(m.MsgIDs, batch.MsgIDs) || ans.HeadMap["k"] != "v" {
					t.Errorf("BatchResult ids %v head map %v", m.MsgIDs, ans.HeadMap)
				}
			}
			if len(results) != 3 || !hasSuffixXID(results[0], ":a") || results[1].TypeCode() != protocol.TypeBranchRegisterResult || !hasSuffixXID(results[2], ":b") {
				t.Errorf("results out of order: %+v", results)
			}
		})
	}
}

func hasSuffixXID(m protocol.Message, suffix string) bool {
	r, ok := m.(*protocol.GlobalBeginResponse)
	return ok && len(r.XID) >= len(suffix) && r.XID[len(r.XID)-len(suffix):] == suffix
}

func TestServerQueueFullAnswersAtOnce(t *testing.T) {
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
	srv := newTestServer(t, ServerConfig{Workers: 1, QueueSize: 1}, h)
	release = testgate.New(t)
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterTMRequest{Version: "2.2.0", ApplicationID: "a"}))
	mustRecv(t, r)
	r.send(seata(protocol.RequestSync, 2, &protocol.GlobalBeginRequest{TransactionName: "block"}))
	<-entered
	r.send(seata(protocol.RequestSync, 3, &protocol.GlobalBeginRequest{TransactionName: "queued"}))
	r.send(seata(protocol.RequestSync, 4, &protocol.GlobalBeginRequest{TransactionName: "rejected"}))
	f := mustRecv(t, r)
	m, ok := f.Body.(*protocol.GlobalBeginResponse)
	if f.RequestID != 4 || !ok || m.Code != protocol.ResultFailed {
		t.Fatalf("first answer: id %d %+v; want an immediate failure for 4", f.RequestID, f.Body)
	}
	release.Open()
	for _, want := range []int32{2, 3} {
		if f := mustRecv(t, r); f.RequestID != want {
			t.Errorf("answer %d, want %d", f.RequestID, want)
		}
	}
	if srv.Stats().Rejected != 1 {
		t.Errorf("Rejected = %d", srv.Stats().Rejected)
	}
}

// A malformed frame closes the session that sent it, and only that one.
func TestMalformedFrameClosesOnlyThatSession(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two client sessions at the server", func() bool { return len(srv.Sessions()) == 2 })
	before := srv.Sessions()
	for name, garbage := range map[string][]byte{
		"bad magic":   []byte("GET / HTTP/1.1\r\n\r\n"),
		"bad length":  {0xda, 0xda, 0x01, 0, 0, 0, 3, 0, 16, 0, 1, 0, 0, 0, 0, 1},
		"bad body":    {0xda, 0xda, 0x01, 0, 0, 0, 19, 0, 16, 0, 1, 0, 0, 0, 0, 1, 0x7f, 0x7f, 0},
		"head length": {0xda, 0xda, 0x01, 0, 0, 0, 16, 0, 99, 0, 1, 0, 0, 0, 0, 1},
	} {
		r := dialRaw(t, srv.Addr().String())
		if _, err := r.nc.Write(garbage); err != nil {
			t.Fatal(err)
		}
		if f, err := r.recv(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: got %+v, %v; want the connection closed", name, f, err)
		}
	}
	eventually(t, "garbage sessions gone", func() bool { return len(srv.Sessions()) == 2 })
	if after := srv.Sessions(); !slices.Equal(after, before) {
		t.Errorf("the client's sessions changed: %v -> %v", before, after)
	}
	if err := begin(ctx, c, "after"); err != nil {
		t.Fatal(err)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	checkLeaks(t)
	h := &tc{}
	// Long enough that the exchanges below, which must succeed, do not
	// reach it on a loaded machine.
	srv := newTestServer(t, ServerConfig{IdleTimeout: 500 * time.Millisecond}, h)
	r := dialRaw(t, srv.Addr().String())
	r.send(seata(protocol.RequestSync, 1, &protocol.RegisterTMRequest{Version: "2.2.0", ApplicationID: "a"}))
	mustRecv(t, r)
	if f, err := r.recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("got %+v, %v; want the idle connection closed", f, err)
	}
	eventually(t, "SessionClosed", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.closedCalls) == 1 && h.closedCalls[0] == h.registered[0]
	})

	// A client without heartbeats is dropped and comes back.
	c := newTestClient(t, testClientConfig(srv.Addr().String()))
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the client's registrations", func() bool { return h.registrations() >= 3 })
	eventually(t, "re-registration after idle close", func() bool { return h.registrations() >= 5 })
}

func TestServerStartErrors(t *testing.T) {
	checkLeaks(t)
	s := NewServer(ServerConfig{}, &tc{})
	if err := s.Start("nonsense"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Start(nonsense) = %v", err)
	}
	s.Close()

	first := newTestServer(t, ServerConfig{}, &tc{})
	second := NewServer(ServerConfig{}, &tc{})
	if err := second.Start(first.Addr().String()); err == nil {
		t.Error("Start on a used port succeeded")
	}
	if err := second.Start("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after a failed Start: %v", err)
	}
	if err := second.Close(); err != nil {
		t.Error(err)
	}
	if err := first.Start("127.0.0.1:0"); !errors.Is(err, errServerStarted) {
		t.Errorf("second Start: %v", err)
	}
	if NewServer(ServerConfig{}, nil).Start("127.0.0.1:0") == nil {
		t.Error("Start without a handler succeeded")
	}
}

func TestServerCallFailsWhenSessionCloses(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	entered := make(chan struct{})
	var release *testgate.Gate // opens before the client closes
	var once atomic.Bool
	cfg := testClientConfig(srv.Addr().String())
	cfg.Handler = RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		if once.CompareAndSwap(false, true) {
			close(entered)
		}
		release.Wait()
		return nil
	})
	_, ss := rmSession(t, cfg, srv)
	release = testgate.New(t)
	errc := make(chan error, 1)
	go func() {
		_, err := ss.Call(context.Background(), &protocol.BranchRollbackRequest{XID: "x:1:2", BranchID: 1})
		errc <- err
	}()
	<-entered
	if p := srv.Stats().Pending; p != 1 {
		t.Errorf("server pending = %d", p)
	}
	ss.Close()
	if err := <-errc; !errors.Is(err, ErrConnectionLost) || !errors.Is(err, errSessionClosed) {
		t.Errorf("err = %v", err)
	}
	if p := srv.Stats().Pending; p != 0 {
		t.Errorf("server pending = %d", p)
	}
}

package rpc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

func concurrentBegins(t *testing.T, c *Client, n int) []error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = begin(context.Background(), c, "tx-"+itoa(i)) })
	}
	wg.Wait()
	return errs
}

func TestBatchingEndToEnd(t *testing.T) {
	checkLeaks(t)
	for _, batchResults := range []bool{false, true} {
		srv := newTestServer(t, ServerConfig{BatchResults: batchResults}, &tc{})
		cfg := testClientConfig(srv.Addr().String())
		cfg.Batch = true
		cfg.batchWindow = 2 * time.Millisecond
		c := newTestClient(t, cfg)
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, err := range concurrentBegins(t, c, 300) {
			if err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "batch entries swept", func() bool { return c.Stats().Pending == 0 })
		if c.Stats().LateReplies != 0 {
			t.Errorf("late replies: %d", c.Stats().LateReplies)
		}
	}
}

// batchTC answers MergedWarpMessages with answer and counts them.
func batchTC(t *testing.T, merged *atomic.Int32, answer func(fc *fakeConn, f *protocol.Frame, m *protocol.MergedWarpMessage, results []protocol.Message)) *fakeTC {
	return newFakeTC(t, true, func(fc *fakeConn, f *protocol.Frame) {
		switch m := f.Body.(type) {
		case *protocol.GlobalBeginRequest:
			fc.send(t, responseFrame(f, okResponse("x", m)))
		case *protocol.MergedWarpMessage:
			merged.Add(1)
			if f.Type != protocol.RequestOneway {
				t.Errorf("batch sent as %v, want REQUEST_ONEWAY", f.Type)
			}
			if len(m.MsgIDs) != len(m.Messages) {
				t.Errorf("%d ids for %d messages", len(m.MsgIDs), len(m.Messages))
			}
			results := make([]protocol.Message, len(m.Messages))
			for i, in := range m.Messages {
				results[i] = okResponse("x", in)
			}
			answer(fc, f, m, results)
		}
	})
}

// BatchResultMessages may split a batch and come in any order.
func TestBatchResultSplitAndReordered(t *testing.T) {
	checkLeaks(t)
	var merged atomic.Int32
	f := batchTC(t, &merged, func(fc *fakeConn, f *protocol.Frame, m *protocol.MergedWarpMessage, results []protocol.Message) {
		half := len(results) / 2
		fc.send(t, responseFrame(f, &protocol.BatchResultMessage{Results: results[half:], MsgIDs: m.MsgIDs[half:]}))
		fc.send(t, responseFrame(f, &protocol.BatchResultMessage{Results: results[:half], MsgIDs: m.MsgIDs[:half]}))
	})
	cfg := testClientConfig(f.addr())
	cfg.Batch = true
	cfg.batchWindow = 5 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, err := range concurrentBegins(t, c, 100) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if merged.Load() == 0 {
		t.Error("no MergedWarpMessage was sent")
	}
	eventually(t, "batch entries swept", func() bool { return c.Stats().Pending == 0 })
}

// A MergeResultMessage is paired by position; requests it does not cover
// fail instead of waiting for their timeout.
func TestMergeResultShort(t *testing.T) {
	checkLeaks(t)
	var merged atomic.Int32
	f := batchTC(t, &merged, func(fc *fakeConn, f *protocol.Frame, m *protocol.MergedWarpMessage, results []protocol.Message) {
		fc.send(t, responseFrame(f, &protocol.MergeResultMessage{Results: results[:len(results)-1]}))
	})
	cfg := testClientConfig(f.addr())
	cfg.Batch = true
	cfg.batchWindow = 20 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ok, short int
	for _, err := range concurrentBegins(t, c, 10) {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrUnexpectedResponse):
			short++
		default:
			t.Error(err)
		}
	}
	if merged.Load() == 0 || short != int(merged.Load()) || ok+short != 10 {
		t.Errorf("%d batches: %d answered, %d failed as uncovered", merged.Load(), ok, short)
	}
	if p := c.Stats().Pending; p != 0 {
		t.Errorf("pending = %d", p)
	}
}

// A request that does not encode fails alone, batched or not, and leaves the
// session up.
func TestUnencodableRequestFailsAlone(t *testing.T) {
	checkLeaks(t)
	srv := newTestServer(t, ServerConfig{}, &tc{})
	huge := string(make([]byte, 40000)) // over the 32767-byte limit of str16
	for _, batch := range []bool{false, true} {
		cfg := testClientConfig(srv.Addr().String())
		cfg.Batch = batch
		cfg.batchWindow = 20 * time.Millisecond
		c := newTestClient(t, cfg)
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			name := "ok-" + itoa(i)
			if i == 3 {
				name = huge
			}
			wg.Go(func() {
				_, errs[i] = c.Call(context.Background(), RoleTM, &protocol.GlobalBeginRequest{TransactionName: name})
			})
		}
		wg.Wait()
		for i, err := range errs {
			var ce *CallError
			switch {
			case i == 3 && (!errors.Is(err, ErrInvalidRequest) || !errors.As(err, &ce) || ce.Sent || IsRetryable(err)):
				t.Errorf("batch %v: bad request: %v", batch, err)
			case i != 3 && err != nil:
				t.Errorf("batch %v: request %d: %v", batch, i, err)
			}
		}
		if st := c.Stats(); st.Sessions != 2 || st.Pending != 0 {
			t.Errorf("batch %v: stats %+v", batch, st)
		}
	}
}

// A request still waiting in the batcher when its session dies was never
// sent: Call sends it again on the next session, transparently.
func TestQueuedRequestRetriedAfterSessionLoss(t *testing.T) {
	checkLeaks(t)
	var begins atomic.Int32
	h := &tc{}
	h.handle = func(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
		if _, ok := req.(*protocol.GlobalBeginRequest); ok {
			begins.Add(1)
		}
		return okResponse(h.addr.Load().(string), req)
	}
	srv := newTestServer(t, ServerConfig{}, h)
	cfg := testClientConfig(srv.Addr().String())
	cfg.Batch = true
	cfg.batchWindow = 500 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- begin(context.Background(), c, "queued") }()
	eventually(t, "the call queued", func() bool { return c.Stats().Pending == 1 })
	for _, ss := range sessionsWith(srv, RoleTM) {
		ss.Close()
	}
	if begins.Load() != 0 {
		t.Fatal("the request left the batcher before the session was closed")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := begins.Load(); n != 1 {
		t.Errorf("the coordinator saw the request %d times", n)
	}
}

// A batched call whose caller gave up before the flush is left out: only
// the live request of the window is written, alone, and the abandoned
// entry leaves the pending table once.
func TestAbandonedBatchedCallNotSent(t *testing.T) {
	checkLeaks(t)
	var begins, merged atomic.Int32
	ftc := newFakeTC(t, true, func(fc *fakeConn, f *protocol.Frame) {
		switch m := f.Body.(type) {
		case *protocol.GlobalBeginRequest:
			begins.Add(1)
			fc.send(t, responseFrame(f, okResponse("x", m)))
		case *protocol.MergedWarpMessage:
			merged.Add(1)
		}
	})
	cfg := testClientConfig(ftc.addr())
	cfg.Batch = true
	cfg.batchWindow = 500 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- begin(ctx, c, "abandoned") }()
	eventually(t, "the call queued", func() bool { return c.Stats().Pending == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned call: %v", err)
	}
	if err := begin(context.Background(), c, "live"); err != nil {
		t.Fatal(err)
	}
	if b, m := begins.Load(), merged.Load(); b != 1 || m != 0 {
		t.Errorf("the coordinator saw %d GlobalBegins and %d batches, want 1 and 0", b, m)
	}
	if st := c.Stats(); st.Pending != 0 || st.LateReplies != 0 {
		t.Errorf("stats %+v: want nothing pending, no late reply", st)
	}
}

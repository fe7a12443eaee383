package rpc

import (
	"context"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// answerBegin is a fake-TC script that answers GlobalBegin.
func answerBegin(t *testing.T) func(*fakeConn, *protocol.Frame) {
	return func(fc *fakeConn, f *protocol.Frame) {
		if _, ok := f.Body.(*protocol.GlobalBeginRequest); ok {
			fc.send(t, responseFrame(f, okResponse("127.0.0.1:1", f.Body)))
		}
	}
}

func tmConns(f *fakeTC) []*fakeConn {
	var out []*fakeConn
	for _, fc := range f.connections() {
		if Role(fc.role.Load()) == RoleTM {
			out = append(out, fc)
		}
	}
	return out
}

func isClosed(fc *fakeConn) bool {
	select {
	case <-fc.closed:
		return true
	default:
		return false
	}
}

// PINGs go out after HeartbeatInterval without writes, with ids from the
// request counter (the fake TC fails the test on a repeated id), and PONGs
// keep the session alive past IdleTimeout.
//
// IdleTimeout is 50 heartbeats: on a loaded machine a PONG can come tens of
// milliseconds late, which must not close the session here; the test waits
// for twice IdleTimeout with nothing read but PONGs.
func TestHeartbeatKeepsSessionAlive(t *testing.T) {
	checkLeaks(t)
	f := newFakeTC(t, true, answerBegin(t))
	cfg := testClientConfig(f.addr())
	cfg.HeartbeatInterval = 10 * time.Millisecond
	cfg.IdleTimeout = 500 * time.Millisecond
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // requests and PINGs interleave
		if err := begin(ctx, c, "t"+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	quiet := time.Now() // from here on the sessions read nothing but PONGs
	eventually(t, "20 PINGs on the first TM session and twice IdleTimeout without requests", func() bool {
		tms := tmConns(f)
		return len(tms) > 0 && tms[0].pings.Load() >= 20 && time.Since(quiet) > 2*cfg.IdleTimeout
	})
	// Still the first connections, none closed.
	if n := len(f.connections()); n != 2 {
		t.Errorf("%d connections, want 2 (no reconnect)", n)
	}
	for _, fc := range f.connections() {
		if isClosed(fc) {
			t.Error("a session was closed")
		}
	}
}

// Without PONGs the client closes the session after IdleTimeout and
// reconnects.
func TestIdleSessionClosedWithoutPongs(t *testing.T) {
	checkLeaks(t)
	f := newFakeTC(t, false, answerBegin(t))
	cfg := testClientConfig(f.addr())
	cfg.HeartbeatInterval = 10 * time.Millisecond
	cfg.IdleTimeout = 50 * time.Millisecond
	c := newTestClient(t, cfg)
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first TM session closed by the client", func() bool { return isClosed(tmConns(f)[0]) })
	first := tmConns(f)[0]
	if first.pings.Load() != 1 {
		t.Errorf("%d PINGs: want one, never repeated while it is pending", first.pings.Load())
	}
	eventually(t, "a new TM session", func() bool { return len(tmConns(f)) >= 2 })
}

// A malformed frame from the coordinator closes that session only.
func TestClientClosesSessionOnMalformedFrame(t *testing.T) {
	checkLeaks(t)
	f := newFakeTC(t, true, answerBegin(t))
	cfg := testClientConfig(f.addr())
	cfg.PoolSize = 2
	c := newTestClient(t, cfg)
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two TM sessions", func() bool { return len(tmConns(f)) == 2 && c.Stats().Sessions == 4 })
	tms := tmConns(f)
	tms[0].write([]byte{0xda, 0xda, 0x01, 0, 0, 0, 5, 0, 16, 1, 1, 0, 0, 0, 0, 9}) // fullLength 5
	eventually(t, "the session closed", func() bool { return isClosed(tms[0]) })
	if isClosed(tms[1]) {
		t.Error("the other session was closed too")
	}
	for i := range 10 {
		if err := begin(ctx, c, "t"+itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the slot reconnected", func() bool { return len(tmConns(f)) == 3 })
}

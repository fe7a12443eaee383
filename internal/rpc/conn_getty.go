package rpc

import (
	"fmt"

	getty "github.com/apache/dubbo-getty"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// A conn is its getty session's ReadWriter and EventListener.
var (
	_ getty.ReadWriter    = (*conn)(nil)
	_ getty.EventListener = (*conn)(nil)
)

// Read cuts one frame from the front of buf and decodes it (getty.Reader).
// It returns (nil, 0, nil) until a whole frame is buffered. A framing or
// decoding error closes the session: framing errors cannot be resynchronised,
// and a peer that sends undecodable frames is not worth guessing about (Java
// also treats a decode error as fatal for the channel).
func (cn *conn) Read(_ getty.Session, buf []byte) (any, int, error) {
	n, err := protocol.FrameLength(buf)
	if err != nil {
		cn.close(err)
		return nil, 0, err
	}
	if n > 0 && cn.buffers != nil {
		if err := cn.account(n, len(buf) >= n); err != nil {
			cn.buffers.rlog.Warn("buffer", "atcc/rpc: closing a connection over a buffer limit", "addr", cn.addr, "err", err)
			cn.close(err) // getty then reads EOF and ends the session quietly
			return nil, 0, nil
		}
	}
	if n == 0 || len(buf) < n {
		return nil, 0, nil
	}
	f, err := cn.names.DecodeFrame(buf[:n])
	if err != nil {
		cn.close(err)
		return nil, 0, err
	}
	cn.lastRead.Store(nanotime())
	return f, n, nil
}

// Write is getty's Writer. atcc writes through conn.writeFrame instead, but
// getty requires a Writer; it passes encoded frames through.
func (cn *conn) Write(_ getty.Session, pkg any) ([]byte, error) {
	if b, ok := pkg.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf("atcc/rpc: getty writer: unexpected %T", pkg)
}

// OnOpen runs before getty starts the read goroutine.
func (cn *conn) OnOpen(getty.Session) error {
	cn.lastRead.Store(nanotime())
	return nil
}

// OnError records the read goroutine's error; OnClose follows.
func (cn *conn) OnError(_ getty.Session, err error) { cn.setErr(err) }

// OnClose runs once on the read goroutine when it ends. It closes the
// socket, so that the Close of the Client or Server, which waits for
// OnClose, returns with every connection closed (getty would close it
// later, from a goroutine of its own).
func (cn *conn) OnClose(getty.Session) {
	cn.close(errPeerClosed) // the cause recorded first wins
	_ = cn.nc.Close()
	if cn.reserved > 0 {
		cn.buffers.unreserve(cn.reserved)
		cn.reserved = 0
	}
	cn.ctrlMu.Lock()
	cn.ctrlDead = true
	cn.ctrlMu.Unlock()
	if cn.batch != nil {
		cn.batch.kill()
	}
	if cn.onEnded != nil {
		cn.onEnded()
	}
	cn.owner.onClosed(cn)
	close(cn.done)
	cn.wg.Done()
}

// OnCron is getty's per-session timer callback, unused (see newConn).
func (cn *conn) OnCron(getty.Session) {}

// tick closes an idle session and sends heartbeats (§8.3): a PING when
// nothing was written for the heartbeat interval and no PING is pending. The
// client's slot supervisor and the server's janitor call it every
// tickPeriod. It never blocks.
func (cn *conn) tick() {
	if cn.closed.Load() {
		return
	}
	now := nanotime()
	if cn.idleTimeout > 0 && now-cn.lastRead.Load() > int64(cn.idleTimeout) {
		cn.close(errIdle)
		return
	}
	if cn.heartbeat > 0 && now-cn.lastWrite.Load() >= int64(cn.heartbeat) && !cn.pingOut.Load() {
		cn.ping()
	}
	if cn.batch != nil {
		cn.batch.sweep()
	}
}

// OnMessage dispatches a decoded frame on the read goroutine. Heartbeats and
// responses are handled here and never block; requests go to the owner,
// which hands them to its worker pool.
func (cn *conn) OnMessage(_ getty.Session, pkg any) {
	f, ok := pkg.(*protocol.Frame)
	if !ok {
		return
	}
	switch f.Type {
	case protocol.HeartbeatRequest:
		cn.sendAsync(&protocol.Frame{Type: protocol.HeartbeatResponse, Codec: f.Codec, Compressor: f.Compressor, RequestID: f.RequestID})
		return
	case protocol.HeartbeatResponse:
		if c := cn.pend.takeFrom(f.RequestID, cn); c != nil {
			c.complete(callResult{}) // a PING; a call would see a nil message and fail
		}
		return
	}
	// Java dispatches on the body's type, not on the header (J6).
	if isResponse(f.Body.TypeCode()) {
		cn.deliver(f)
		return
	}
	cn.owner.onRequest(cn, f)
}

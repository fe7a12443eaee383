package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	getty "github.com/apache/dubbo-getty"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// conn is one session, on either side: a getty session plus the state atcc
// keeps about it. conn_getty.go holds the getty callbacks.
//
// Goroutines: getty's read goroutine calls Read, OnMessage and finally
// OnClose; the owner's ticker (slot supervisor, server janitor) calls tick;
// callers, workers and the control-lane flusher write. Writes are serialised
// by writeMu: frames never interleave, and a failed write closes the
// session, since the stream may then hold a partial frame.
//
// Locks: writeMu, errMu, ctrlMu, batcher.mu and the pending-table shard
// locks are leaves: none is held while another lock is taken, and close
// runs with none of them held.
type conn struct {
	// Immutable after newConn.
	gs            getty.Session
	nc            net.Conn
	addr          string // the peer: "host:port" as dialled (client) or as seen (server)
	owner         connOwner
	pend          *pendingTable
	wg            *sync.WaitGroup // the owner's: counts this conn until OnClose, and its helper goroutines
	log           *slog.Logger
	anyConnToAddr bool          // client: answers may arrive on another session to addr (J13)
	idleTimeout   time.Duration // close when nothing was read for this long; <= 0: never
	heartbeat     time.Duration // PING when nothing was written for this long; <= 0: never
	writeTimeout  time.Duration
	onEnded       func()   // run by OnClose once the read goroutine has stopped the session; may be nil
	batch         *batcher // client batching; nil when off

	// Server limits (ServerLimits); buffers is nil on clients.
	buffers  *admission // accounts the bytes of incomplete frames
	maxFrame int        // the longest frame accepted; 0: no limit but protocol.MaxFrameLength
	reserved int64      // bytes counted in buffers for the incomplete frame; read goroutine only

	// names interns the names of the frames Read decodes (resource ids,
	// transaction names, ...); read goroutine only.
	names protocol.Names

	// peerVersion is the coordinator's version from its Register response.
	// Client only: written by the slot supervisor before the conn is
	// published as ready (slot.cur), read-only afterwards.
	peerVersion string

	lastRead  atomic.Int64 // nanotime of the last frame read (or of the open)
	lastWrite atomic.Int64 // nanotime of the last successful write
	pingOut   atomic.Bool  // a PING is pending

	// Client draining (slot.drain): inflight counts the calls that
	// acquired the session and the coordinator's requests being handled
	// on it; once draining is set no call acquires it, and the last
	// release signals idle.
	inflight atomic.Int64
	draining atomic.Bool
	idle     chan struct{} // capacity 1

	closed    atomic.Bool   // set first by close; writers check it under writeMu
	closing   chan struct{} // closed by close
	done      chan struct{} // closed by OnClose, once getty's read goroutine has ended
	closeOnce sync.Once

	errMu sync.Mutex
	err   error // why the session closed: the first cause recorded; guarded by errMu

	writeMu sync.Mutex // serialises writes to nc

	ctrlMu      sync.Mutex
	ctrlQ       []*[]byte // encoded frames for the control-lane flusher; guarded by ctrlMu
	ctrlRunning bool      // a flusher goroutine runs; guarded by ctrlMu
	ctrlDead    bool      // OnClose has run: no flusher may start; guarded by ctrlMu
}

// connOwner is the Client or the ServerSession a conn belongs to.
type connOwner interface {
	// onRequest handles a request from the peer (any frame that is neither
	// a heartbeat nor a response). It runs on the read goroutine and must
	// not block.
	onRequest(cn *conn, f *protocol.Frame)
	// onClosed runs once, on the read goroutine, when the session has ended.
	onClosed(cn *conn)
}

// connConfig is what newConn needs besides the getty session.
type connConfig struct {
	addr          string
	owner         connOwner
	pend          *pendingTable
	wg            *sync.WaitGroup
	log           *slog.Logger
	anyConnToAddr bool
	idleTimeout   time.Duration
	heartbeat     time.Duration
	batchWindow   time.Duration // > 0 enables client batching
	onEnded       func()

	buffers  *admission // server only
	maxFrame int        // server only
}

// maxCtrlQueue bounds the frames waiting in a control lane. A peer that lets
// this many PONGs and immediate answers pile up is not reading: the session
// is closed.
const maxCtrlQueue = 4096

// processStart anchors nanotime: a monotonic clock for idle checks.
var processStart = time.Now()

func nanotime() int64 { return int64(time.Since(processStart)) }

// newConn wraps a getty session that has not run yet and configures it. The
// conn counts itself in cfg.wg until OnClose, which getty always calls once
// the session has run.
func newConn(gs getty.Session, cfg connConfig) *conn {
	cn := &conn{
		gs:            gs,
		nc:            gs.Conn(),
		addr:          cfg.addr,
		owner:         cfg.owner,
		pend:          cfg.pend,
		wg:            cfg.wg,
		log:           cfg.log,
		anyConnToAddr: cfg.anyConnToAddr,
		idleTimeout:   cfg.idleTimeout,
		heartbeat:     cfg.heartbeat,
		writeTimeout:  cfg.idleTimeout,
		onEnded:       cfg.onEnded,
		buffers:       cfg.buffers,
		maxFrame:      cfg.maxFrame,
		closing:       make(chan struct{}),
		done:          make(chan struct{}),
		idle:          make(chan struct{}, 1),
	}
	if cn.writeTimeout <= 0 {
		cn.writeTimeout = 15 * time.Second
	}
	if cfg.batchWindow > 0 {
		cn.batch = &batcher{cn: cn, window: cfg.batchWindow}
	}
	now := nanotime()
	cn.lastRead.Store(now)
	cn.lastWrite.Store(now)

	gs.SetName("atcc")
	gs.SetMaxMsgLen(protocol.MaxFrameLength)
	gs.SetPkgHandler(cn)
	gs.SetEventListener(cn)
	// getty's cron (OnCron) is not used: its timer-wheel callback reads the
	// session's connection without the lock that guards its teardown (a data
	// race in dubbo-getty v1.5.0). Idle checks and heartbeats run from
	// conn.tick instead; a long period keeps getty's tick away from teardowns
	// (and releases a closed session's timer within the period).
	gs.SetCronPeriod(int(gettyCronPeriod / time.Millisecond))
	// getty uses the wait time, in nanoseconds, as the SO_LINGER seconds
	// of the socket it closes after the read goroutine ends; the default
	// (3e9) overflows into "linger until acknowledged". One second bounds
	// how long that close can block.
	gs.SetWaitTime(time.Nanosecond)
	cfg.wg.Add(1) // released by OnClose
	return cn
}

// gettyCronPeriod is the period of getty's per-session timer, which atcc
// leaves idle.
const gettyCronPeriod = 5 * time.Minute

// tickPeriod is how often conn.tick should run: a quarter of the shorter
// timer, between 5ms and 1s.
func tickPeriod(idle, heartbeat time.Duration) time.Duration {
	p := time.Second
	for _, d := range []time.Duration{idle, heartbeat} {
		if d > 0 && d/4 < p {
			p = d / 4
		}
	}
	return max(p, 5*time.Millisecond)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	if cap(*bp) > 64<<10 {
		return // let big buffers go
	}
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

// writeFrame encodes f and writes it. n is the number of bytes that reached
// the socket: 0 means the peer cannot have seen any of the frame. An
// encoding error wraps ErrInvalidRequest and leaves the session alone; a
// write error closes it and wraps ErrConnectionLost.
func (cn *conn) writeFrame(f *protocol.Frame) (n int, err error) {
	bp := getBuf()
	b, err := protocol.AppendFrame((*bp)[:0], f)
	if err != nil {
		putBuf(bp)
		return 0, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	n, err = cn.writeBytes(b)
	*bp = b
	putBuf(bp)
	return n, err
}

// writeBytes writes whole frames.
func (cn *conn) writeBytes(b []byte) (int, error) {
	cn.writeMu.Lock()
	if cn.closed.Load() {
		cn.writeMu.Unlock()
		return 0, cn.lostErr()
	}
	_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.writeTimeout))
	n, err := cn.nc.Write(b)
	if err == nil {
		cn.lastWrite.Store(nanotime())
	}
	cn.writeMu.Unlock()
	if err != nil {
		cn.close(fmt.Errorf("write: %w", err))
		return n, cn.lostErr()
	}
	return n, nil
}

// writeBuffers writes several whole frames with one system call when it can.
func (cn *conn) writeBuffers(bufs net.Buffers) error {
	cn.writeMu.Lock()
	if cn.closed.Load() {
		cn.writeMu.Unlock()
		return cn.lostErr()
	}
	_ = cn.nc.SetWriteDeadline(time.Now().Add(cn.writeTimeout))
	_, err := bufs.WriteTo(cn.nc)
	if err == nil {
		cn.lastWrite.Store(nanotime())
	}
	cn.writeMu.Unlock()
	if err != nil {
		cn.close(fmt.Errorf("write: %w", err))
		return cn.lostErr()
	}
	return nil
}

// sendAsync encodes f and queues it on the control lane, which a short-lived
// flusher goroutine drains. The read goroutine and conn.tick use it for
// the frames they must send (PONGs, PINGs, the transport's own answers): a
// write could block, and a read goroutine blocked on a write to a peer whose
// read goroutine is blocked the same way would deadlock both.
func (cn *conn) sendAsync(f *protocol.Frame) {
	bp := getBuf()
	b, err := protocol.AppendFrame((*bp)[:0], f)
	if err != nil {
		putBuf(bp)
		cn.log.Error("atcc/rpc: cannot encode frame", "addr", cn.addr, "type", f.Type, "err", err)
		return
	}
	*bp = b
	cn.ctrlMu.Lock()
	if cn.ctrlDead || cn.closed.Load() {
		cn.ctrlMu.Unlock()
		putBuf(bp)
		return
	}
	if len(cn.ctrlQ) >= maxCtrlQueue {
		cn.ctrlMu.Unlock()
		putBuf(bp)
		cn.close(errSlowPeer)
		return
	}
	cn.ctrlQ = append(cn.ctrlQ, bp)
	start := !cn.ctrlRunning
	if start {
		cn.ctrlRunning = true
		cn.wg.Add(1) // safe: the conn's own count is held until ctrlDead is set
	}
	cn.ctrlMu.Unlock()
	if start {
		go cn.flushCtrl()
	}
}

// flushCtrl writes the control lane until it is empty, then exits.
func (cn *conn) flushCtrl() {
	defer cn.wg.Done()
	var q []*[]byte
	var bufs net.Buffers
	for {
		cn.ctrlMu.Lock()
		q, cn.ctrlQ = cn.ctrlQ, q[:0]
		if len(q) == 0 {
			cn.ctrlRunning = false
			cn.ctrlMu.Unlock()
			return
		}
		cn.ctrlMu.Unlock()
		bufs = bufs[:0]
		for _, bp := range q {
			bufs = append(bufs, *bp)
		}
		if err := cn.writeBuffers(bufs); err != nil {
			cn.log.Debug("atcc/rpc: control frames not sent", "addr", cn.addr, "err", err)
		}
		for i, bp := range q {
			putBuf(bp)
			q[i] = nil
		}
	}
}

// ping sends a heartbeat. Its id comes from the same counter as requests and
// it waits in the pending table like a request, so it can never be confused
// with one (seata-go D8). The PONG, or the session's end, removes it.
func (cn *conn) ping() {
	c := getCall(cn, protocol.TypeHeartbeat)
	c.kind = kindPing
	cn.pingOut.Store(true)
	id := cn.pend.add(c)
	if cn.closed.Load() {
		// close may have failed the session's entries before c was
		// added: remove it here (close sets closed before failConn).
		if cn.pend.takeCall(c) {
			putCall(c)
		}
		return
	}
	cn.sendAsync(&protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: id})
}

// acquire counts a call on the session, unless it is draining and the call
// is not for a transaction begun there (hinted). A call that acquired the
// session must release it when it has its answer.
func (cn *conn) acquire(hinted bool) bool {
	cn.inflight.Add(1)
	if cn.draining.Load() && !hinted {
		cn.release()
		return false
	}
	return true
}

// hold counts a coordinator request handled on the session, draining or
// not: its answer must go out on it.
func (cn *conn) hold() { cn.inflight.Add(1) }

// release ends what acquire or hold counted.
func (cn *conn) release() {
	if cn.inflight.Add(-1) == 0 && cn.draining.Load() {
		select {
		case cn.idle <- struct{}{}:
		default:
		}
	}
}

// roundTrip sends req as REQUEST_SYNC (through the batcher when batch is set
// and the session batches) and waits for the answer, the end of ctx, timerC
// (the caller's default timeout; may be nil), or the end of the session.
func (cn *conn) roundTrip(ctx context.Context, timerC <-chan time.Time, req protocol.Message, batch bool) (protocol.Message, error) {
	batch = batch && cn.batch != nil
	var c *call
	if batch {
		c = newCall(cn, req.TypeCode())
	} else {
		c = getCall(cn, req.TypeCode())
	}
	id := cn.pend.add(c)
	if batch {
		if !cn.batch.enqueue(c, req) {
			return cn.unsent(c, cn.lostErr())
		}
	} else {
		n, err := cn.writeFrame(&protocol.Frame{Type: protocol.RequestSync, Codec: protocol.CodecSeata, RequestID: id, Body: req})
		if err != nil {
			if n == 0 {
				return cn.unsent(c, err)
			}
			return cn.abandon(c, err)
		}
	}
	select {
	case r := <-c.done:
		putCall(c)
		return r.msg, r.err
	case <-ctx.Done():
		return cn.abandon(c, ctx.Err())
	case <-timerC:
		return cn.abandon(c, context.DeadlineExceeded)
	}
}

// unsent ends a call none of whose bytes were written. Whatever completed it
// meanwhile (the session closing), nothing reached the peer.
func (cn *conn) unsent(c *call, err error) (protocol.Message, error) {
	if !cn.pend.takeCall(c) {
		<-c.done
	}
	typ := c.typ
	putCall(c)
	return nil, &CallError{Addr: cn.addr, Type: typ, Sent: false, Err: err}
}

// abandon ends a call whose request may have reached the peer. If the call
// was completed meanwhile, its result wins.
func (cn *conn) abandon(c *call, why error) (protocol.Message, error) {
	if cn.pend.takeCall(c) {
		typ := c.typ
		putCall(c)
		return nil, &CallError{Addr: cn.addr, Type: typ, Sent: true, Err: why}
	}
	r := <-c.done
	putCall(c)
	return r.msg, r.err
}

// complete delivers an answer to the pending entry with this id.
func (cn *conn) complete(id int32, m protocol.Message) {
	if c := cn.pend.takeFrom(id, cn); c != nil {
		c.complete(callResult{msg: m})
	} else {
		cn.log.Debug("atcc/rpc: late or unknown reply dropped", "addr", cn.addr, "id", id)
	}
}

// deliver hands a response frame to the calls it answers.
func (cn *conn) deliver(f *protocol.Frame) {
	switch m := f.Body.(type) {
	case *protocol.MergeResultMessage:
		cn.deliverMerged(f.RequestID, m)
	case *protocol.BatchResultMessage:
		// The results may be split over several frames, in any order:
		// match them by inner id. The outer entry goes when no inner
		// call is left, or with the session.
		for i, r := range m.Results {
			if i < len(m.MsgIDs) {
				cn.complete(m.MsgIDs[i], r)
			}
		}
		if cn.batch != nil {
			cn.batch.dropIfDone(f.RequestID)
		}
	default:
		cn.complete(f.RequestID, f.Body)
	}
}

// deliverMerged pairs the results of a MergeResultMessage with the inner
// requests of its batch, by position.
func (cn *conn) deliverMerged(outerID int32, m *protocol.MergeResultMessage) {
	outer := cn.pend.takeFrom(outerID, cn)
	if outer == nil {
		return
	}
	if outer.kind != kindBatch {
		if outer.typ == protocol.TypeMergedWarp { // ServerSession.CallMerged pairs the results itself
			outer.complete(callResult{msg: m})
			return
		}
		outer.complete(callResult{err: &CallError{Addr: cn.addr, Type: outer.typ, Sent: true,
			Err: fmt.Errorf("%w: MergeResultMessage for a %v", ErrUnexpectedResponse, outer.typ)}})
		return
	}
	for i, id := range outer.inner {
		if i < len(m.Results) {
			cn.complete(id, m.Results[i])
			continue
		}
		if c := cn.pend.takeFrom(id, cn); c != nil {
			c.complete(callResult{err: &CallError{Addr: cn.addr, Type: c.typ, Sent: true,
				Err: fmt.Errorf("%w: MergeResultMessage with %d results for %d requests", ErrUnexpectedResponse, len(m.Results), len(outer.inner))}})
		}
	}
}

// close ends the session, once: later calls do nothing. Pending calls of
// the session fail at once with ErrConnectionLost wrapping cause; getty's
// read goroutine is woken, sees the end of input, and calls OnClose.
//
// close never stops the getty session itself: getty's session.stop copies
// the connection's state, which the read goroutine updates atomically, by
// value (a data race in dubbo-getty v1.5.0), so only the read goroutine may
// stop it. Shutting down the socket's read side makes that goroutine read
// EOF, stop the session and return; the past read deadline wakes it on
// platforms where the shutdown does not. getty closes the socket afterwards.
func (cn *conn) close(cause error) {
	cn.closeOnce.Do(func() {
		cn.setErr(cause)
		cn.closed.Store(true)
		close(cn.closing)
		if cn.batch != nil {
			cn.batch.failQueued() // never written: not sent
		}
		cn.pend.failConn(cn, cn.lostErr())
		nc := cn.nc
		if t, ok := nc.(*tls.Conn); ok {
			nc = t.NetConn()
		}
		if r, ok := nc.(interface{ CloseRead() error }); ok {
			_ = r.CloseRead()
		}
		now := time.Now()
		_ = cn.nc.SetReadDeadline(now)
		_ = cn.nc.SetWriteDeadline(now) // fail a write blocked on a full socket
	})
}

// setErr records why the session ends, unless a cause is already recorded.
func (cn *conn) setErr(err error) {
	if err == nil {
		return
	}
	cn.errMu.Lock()
	if cn.err == nil {
		cn.err = err
	}
	cn.errMu.Unlock()
}

// cause returns why the session ended, or nil while it is open.
func (cn *conn) cause() error {
	cn.errMu.Lock()
	defer cn.errMu.Unlock()
	return cn.err
}

// lostErr is the error calls get when the session is gone.
func (cn *conn) lostErr() error {
	if err := cn.cause(); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return ErrConnectionLost
}

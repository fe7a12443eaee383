package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	getty "github.com/apache/dubbo-getty"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// newConn wraps a session getty dialled for a slot, or returns nil if the
// client is closed. onEnded closes the getty client that dialled it.
func (c *Client) newConn(gs getty.Session, addr string, onEnded func()) *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	batch := c.cfg.batchWindow
	if !c.cfg.Batch {
		batch = 0
	}
	cn := newConn(gs, connConfig{
		addr:          addr,
		owner:         c,
		pend:          c.pend,
		wg:            &c.wg,
		log:           c.log,
		anyConnToAddr: true,
		idleTimeout:   c.cfg.IdleTimeout,
		heartbeat:     c.cfg.HeartbeatInterval,
		batchWindow:   batch,
		onEnded:       onEnded,
	})
	c.conns[cn] = struct{}{}
	return cn
}

// onClosed forgets an ended session. Its slot's supervisor has seen it close.
func (c *Client) onClosed(cn *conn) {
	c.mu.Lock()
	delete(c.conns, cn)
	c.mu.Unlock()
}

// onRequest takes a request from the coordinator on the read goroutine and
// queues it for a worker, due HandlerTimeout from now. If the queue is
// full, a branch request is answered at once with a retryable failure, so
// the coordinator retries later instead of waiting for its timeout.
func (c *Client) onRequest(cn *conn, f *protocol.Frame) {
	switch m := f.Body.(type) {
	case *protocol.BranchCommitRequest, *protocol.BranchRollbackRequest, *protocol.UndoLogDeleteRequest:
	case *protocol.MergedWarpMessage:
		c.onMerged(cn, f, m)
		return
	default:
		c.log.Warn("atcc/rpc: unexpected request from coordinator dropped", "addr", cn.addr, "type", f.Body.TypeCode())
		return
	}
	cn.hold() // released by handleInbound
	if c.work.submit(task{cn: cn, f: f, deadline: time.Now().Add(c.cfg.HandlerTimeout)}) {
		return
	}
	cn.release()
	c.reject.Add(1)
	c.log.Debug("atcc/rpc: worker queue full", "addr", cn.addr, "type", f.Body.TypeCode())
	if resp := failureResponse(f.Body, "atcc/rpc: resource manager busy: request queue full"); resp != nil {
		c.send(task{cn: cn, f: f}, resp, true) // a read goroutine must not block on a write
	}
}

// handleInbound runs a coordinator request on a worker, under a context
// that ends at the request's deadline or when the client closes, and sees
// that a branch request gets exactly one answer: the handler's, sent by
// the worker when the handler returns first, or a retryable failure, sent
// from a timer at the deadline when the deadline comes first. A handler
// that ignores its context keeps the worker until it returns (the pool's
// bound holds); its result is then dropped.
//
// This is where the client's part of a phase-two request starts and ends.
func (c *Client) handleInbound(ctx context.Context, t task) {
	defer t.cn.release()
	ctx, cancel := context.WithDeadline(ctx, t.deadline)
	defer cancel()
	switch {
	case c.cfg.Handler == nil:
		c.reply(t, nil, "no RequestHandler configured", slog.LevelWarn)
		return
	case ctx.Err() != nil:
		why, level := c.overdue()
		c.reply(t, nil, why+" before a worker took the request", level)
		return
	}

	// The deadline's answer comes from a timer of its own rather than from
	// context.AfterFunc(ctx), which would also answer at once when Close
	// cancels ctx (the sessions end then anyway): 4 allocations fewer per
	// request (rm's BenchmarkPhaseTwo, 20 -> 16); the timer is a pooled
	// one: 3 fewer again (atcc-bench).
	alarm := c.alarm(t)
	var resp protocol.Message
	fault := "handler called runtime.Goexit" // unless it returns or panics
	defer func() {
		if p := recover(); p != nil {
			fault = fmt.Sprintf("handler panicked: %v", p)
			c.log.Error("atcc/rpc: RequestHandler panicked", append(requestAttrs(t), "panic", p, "stack", string(debug.Stack()))...)
		}
		if alarm.stop() { // the deadline has not come: the answer is the worker's to send
			c.reply(t, resp, fault, slog.LevelError)
			return
		}
		c.log.Warn("atcc/rpc: RequestHandler returned after its deadline; its result was dropped",
			append(requestAttrs(t), "result", resp, "fault", fault)...)
	}()
	resp = c.cfg.Handler.HandleRequest(ctx, t.body())
	fault = ""
}

// inboundAlarm answers a request from a timer at its deadline unless the
// worker stops it first. A Client reuses them (Client.alarms).
type inboundAlarm struct {
	c       *Client
	timer   *time.Timer
	expired chan struct{} // gets a value once the deadline's answer is out

	mu sync.Mutex
	t  task // guarded by mu
}

// alarm returns an armed alarm for t, which the worker must stop.
func (c *Client) alarm(t task) *inboundAlarm {
	a, _ := c.alarms.Get().(*inboundAlarm)
	if a == nil {
		a = &inboundAlarm{c: c, expired: make(chan struct{}, 1)}
		a.timer = time.AfterFunc(time.Hour, a.fire)
		a.timer.Stop()
	}
	a.mu.Lock()
	a.t = t
	a.mu.Unlock()
	a.timer.Reset(time.Until(t.deadline))
	return a
}

func (a *inboundAlarm) fire() {
	a.mu.Lock()
	t := a.t
	a.mu.Unlock()
	why, level := a.c.overdue()
	a.c.reply(t, nil, why+" before the handler returned", level)
	a.expired <- struct{}{}
}

// stop disarms a and recycles it. It reports whether it stopped the timer
// before it fired; if not, it returns once the deadline's answer is out.
func (a *inboundAlarm) stop() bool {
	stopped := a.timer.Stop()
	if !stopped {
		<-a.expired
	}
	a.mu.Lock()
	a.t = task{}
	a.mu.Unlock()
	a.c.alarms.Put(a)
	return stopped
}

// overdue says why a request is answered without its handler's result
// once its deadline has passed, and how loud to be about it.
func (c *Client) overdue() (string, slog.Level) {
	if c.isClosed() {
		return "client closing", slog.LevelDebug
	}
	return fmt.Sprintf("HandlerTimeout (%v) passed", c.cfg.HandlerTimeout), slog.LevelWarn
}

// reply sends the answer to the branch request t carries: resp when the
// handler returned (fault is empty) the matching response, else a failed
// result with the retryable status of the phase, saying why, logged at
// level (Error when resp is not a valid answer). UndoLogDelete is oneway:
// nothing is sent, a fault is logged. handleInbound calls reply exactly
// once per request.
func (c *Client) reply(t task, resp protocol.Message, fault string, level slog.Level) {
	var out protocol.Message
	switch r := t.body().(type) {
	case *protocol.BranchCommitRequest:
		if a, ok := resp.(*protocol.BranchCommitResponse); ok && a != nil && fault == "" {
			a.XID, a.BranchID = r.XID, r.BranchID
			out = a
		}
	case *protocol.BranchRollbackRequest:
		if a, ok := resp.(*protocol.BranchRollbackResponse); ok && a != nil && fault == "" {
			a.XID, a.BranchID = r.XID, r.BranchID
			out = a
		}
	default:
		if fault != "" {
			c.log.Log(context.Background(), level, "atcc/rpc: oneway request not completed", append(requestAttrs(t), "why", fault)...)
		}
		return
	}
	if out == nil {
		if fault == "" {
			fault, level = whyNoAnswer(resp, ""), slog.LevelError
		}
		c.log.Log(context.Background(), level, "atcc/rpc: answering a retryable failure", append(requestAttrs(t), "why", fault)...)
		out = failureResponse(t.body(), "atcc/rpc: "+fault)
	}
	c.send(t, out, false)
}

// requestAttrs names the request of t in logs.
func requestAttrs(t task) []any {
	attrs := []any{"addr", t.cn.addr, "type", t.body().TypeCode()}
	if t.merged != nil {
		attrs = append(attrs, "merged", len(t.merged.reqs))
	}
	switch r := t.body().(type) {
	case *protocol.BranchCommitRequest:
		attrs = append(attrs, "xid", r.XID, "branch_id", r.BranchID)
	case *protocol.BranchRollbackRequest:
		attrs = append(attrs, "xid", r.XID, "branch_id", r.BranchID)
	case *protocol.UndoLogDeleteRequest:
		attrs = append(attrs, "resource", r.ResourceID)
	}
	return attrs
}

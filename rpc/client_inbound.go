package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

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
// queues it for a worker. If the queue is full, a branch request is answered
// at once with a retryable failure, so the coordinator retries later instead
// of waiting for its timeout.
func (c *Client) onRequest(cn *conn, f *protocol.Frame) {
	switch f.Body.(type) {
	case *protocol.BranchCommitRequest, *protocol.BranchRollbackRequest, *protocol.UndoLogDeleteRequest:
	default:
		c.log.Warn("atcc/rpc: unexpected request from coordinator dropped", "addr", cn.addr, "type", f.Body.TypeCode())
		return
	}
	cn.hold() // released by handleInbound
	if c.work.submit(task{cn: cn, f: f}) {
		return
	}
	cn.release()
	c.reject.Add(1)
	c.log.Debug("atcc/rpc: worker queue full", "addr", cn.addr, "type", f.Body.TypeCode())
	if resp := failureResponse(f.Body, "atcc/rpc: resource manager busy: request queue full"); resp != nil {
		cn.sendAsync(responseFrame(f, resp))
	}
}

// handleInbound runs a coordinator request on a worker and sends the answer
// on the session the request came on.
func (c *Client) handleInbound(ctx context.Context, t task) {
	defer t.cn.release()
	resp, panicked := c.callHandler(ctx, t.f.Body)
	switch r := t.f.Body.(type) {
	case *protocol.BranchCommitRequest:
		out, ok := resp.(*protocol.BranchCommitResponse)
		if !ok {
			why := c.whyNoAnswer(resp, panicked)
			c.log.Error("atcc/rpc: no valid answer to BranchCommit; answering retryable failure", "xid", r.XID, "branch", r.BranchID, "why", why)
			out = failureResponse(r, "atcc/rpc: "+why).(*protocol.BranchCommitResponse)
		}
		out.XID, out.BranchID = r.XID, r.BranchID
		resp = out
	case *protocol.BranchRollbackRequest:
		out, ok := resp.(*protocol.BranchRollbackResponse)
		if !ok {
			why := c.whyNoAnswer(resp, panicked)
			c.log.Error("atcc/rpc: no valid answer to BranchRollback; answering retryable failure", "xid", r.XID, "branch", r.BranchID, "why", why)
			out = failureResponse(r, "atcc/rpc: "+why).(*protocol.BranchRollbackResponse)
		}
		out.XID, out.BranchID = r.XID, r.BranchID
		resp = out
	default: // UndoLogDelete is oneway: nothing to send
		return
	}
	if _, err := t.cn.writeFrame(responseFrame(t.f, resp)); err != nil {
		level := slog.LevelWarn // the coordinator will retry after its timeout
		if c.isClosed() {
			level = slog.LevelDebug
		}
		c.log.Log(ctx, level, "atcc/rpc: answer to coordinator not sent", "addr", t.cn.addr, "type", resp.TypeCode(), "err", err)
	}
}

// callHandler runs the RequestHandler; a panic becomes a nil response and
// its description.
func (c *Client) callHandler(ctx context.Context, req protocol.Message) (resp protocol.Message, panicked string) {
	if c.cfg.Handler == nil {
		return nil, ""
	}
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("atcc/rpc: RequestHandler panicked", "type", req.TypeCode(), "panic", p, "stack", string(debug.Stack()))
			resp, panicked = nil, fmt.Sprint(p)
		}
	}()
	return c.cfg.Handler.HandleRequest(ctx, req), ""
}

// whyNoAnswer explains why the handler's result cannot be sent.
func (c *Client) whyNoAnswer(resp protocol.Message, panicked string) string {
	if c.cfg.Handler == nil {
		return "no RequestHandler configured"
	}
	return whyNoAnswer(resp, panicked)
}

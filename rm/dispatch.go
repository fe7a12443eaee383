package rm

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"unicode/utf8"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// maxMsgLen bounds the failure text sent back to the coordinator.
const maxMsgLen = 512

// phase says which phase-two method a request calls.
type phase uint8

const (
	phaseCommit phase = iota
	phaseRollback
	phaseUndoDelete
)

func (p phase) String() string {
	switch p {
	case phaseCommit:
		return "BranchCommit"
	case phaseRollback:
		return "BranchRollback"
	}
	return "DeleteUndoLogs"
}

// retryableFailure is the answer for anything but a proper result.
func (p phase) retryableFailure() protocol.BranchStatus {
	if p == phaseCommit {
		return protocol.PhaseTwoCommitFailedRetryable
	}
	return protocol.PhaseTwoRollbackFailedRetryable
}

// accepts reports whether a handler may answer s for this phase.
func (p phase) accepts(s protocol.BranchStatus) (ok, success bool) {
	switch p {
	case phaseCommit:
		switch s {
		case protocol.PhaseTwoCommitted:
			return true, true
		case protocol.PhaseTwoCommitFailedRetryable, protocol.PhaseTwoCommitFailedUnretryable,
			protocol.PhaseTwoCommitFailedXAERNotaRetryable:
			return true, false
		}
	case phaseRollback:
		switch s {
		case protocol.PhaseTwoRollbacked:
			return true, true
		case protocol.PhaseTwoRollbackFailedRetryable, protocol.PhaseTwoRollbackFailedUnretryable,
			protocol.PhaseTwoRollbackFailedXAERNotaRetryable:
			return true, false
		}
	}
	return false, false
}

// HandleRequest serves a request from the coordinator, implementing
// rpc.RequestHandler: it runs the phase-two method of the resource the
// request names (see Resource for the guards) and returns the answer,
// which always carries a branch status, or nil for UndoLogDeleteRequest,
// which has none. The transport calls it on its worker pool; it blocks
// for at most about Config.HandlerTimeout.
func (m *Manager) HandleRequest(ctx context.Context, req protocol.Message) protocol.Message {
	switch r := req.(type) {
	case *protocol.BranchCommitRequest:
		b := BranchRequest{r.XID, r.BranchID, r.BranchType, r.ResourceID, r.ApplicationData}
		octx, op := m.startPhaseTwo(ctx, phaseCommit, b)
		st, res := m.phaseTwo(octx, phaseCommit, b, 0)
		m.endPhaseTwo(octx, op, st, res)
		m.inflight.done(r.BranchID, st)
		return &protocol.BranchCommitResponse{Result: res, XID: r.XID, BranchID: r.BranchID, BranchStatus: st}
	case *protocol.BranchRollbackRequest:
		b := BranchRequest{r.XID, r.BranchID, r.BranchType, r.ResourceID, r.ApplicationData}
		octx, op := m.startPhaseTwo(ctx, phaseRollback, b)
		st, res := m.phaseTwo(octx, phaseRollback, b, 0)
		m.endPhaseTwo(octx, op, st, res)
		m.inflight.done(r.BranchID, st)
		return &protocol.BranchRollbackResponse{Result: res, XID: r.XID, BranchID: r.BranchID, BranchStatus: st}
	case *protocol.UndoLogDeleteRequest:
		b := BranchRequest{BranchType: r.BranchType, ResourceID: r.ResourceID}
		m.phaseTwo(ctx, phaseUndoDelete, b, int(r.SaveDays))
		return nil
	}
	m.log.Error("atcc/rm: request not served", "type", req.TypeCode())
	return nil
}

// outcome is what a handler goroutine reports.
type outcome struct {
	status protocol.BranchStatus
	err    error
	panic  any    // the panic value, when it panicked
	stack  []byte // the stack of the panic
}

// errGoexit stands for a handler that called runtime.Goexit.
var errGoexit = errors.New("handler called runtime.Goexit")

// phaseTwo runs the resource's method for p under the guards, and returns
// the status to answer and the result prefix (Failed, with a message, when
// the answer is not the handler's own clean result).
func (m *Manager) phaseTwo(ctx context.Context, p phase, b BranchRequest, saveDays int) (protocol.BranchStatus, protocol.Result) {
	fail := func(msg string) (protocol.BranchStatus, protocol.Result) {
		return p.retryableFailure(), failed(msg)
	}
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return fail("atcc/rm: resource manager closed")
	}
	r := m.resources[resourceKey{b.BranchType, b.ResourceID}]
	if r == nil {
		m.mu.RUnlock()
		m.log.Warn("atcc/rm: request for an unknown resource", "op", p, "branch_type", b.BranchType,
			"resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID)
		return fail(fmt.Sprintf("atcc/rm: resource %v %s not registered", b.BranchType, b.ResourceID))
	}
	var del UndoLogDeleter
	if p == phaseUndoDelete {
		if del, _ = r.(UndoLogDeleter); del == nil {
			m.mu.RUnlock()
			m.log.Debug("atcc/rm: resource keeps no undo logs", "resource", b.ResourceID)
			return 0, protocol.Result{}
		}
	}
	m.running.Add(1) // under the read lock: never after Close's Wait began
	m.mu.RUnlock()

	hctx, cancel := context.WithTimeout(ctx, m.cfg.HandlerTimeout)
	defer cancel()
	stop := context.AfterFunc(m.closing, cancel)
	// state decides, once, whether the handler's result is used (the
	// goroutine finished first) or dropped (the deadline came first).
	const (
		running int32 = iota
		finished
		abandoned
	)
	var state atomic.Int32
	done := make(chan outcome, 1)
	go func() {
		defer m.running.Done()
		defer stop()
		o := outcome{err: errGoexit}
		defer func() {
			if v := recover(); v != nil {
				o = outcome{panic: v, stack: debug.Stack()}
			}
			if state.CompareAndSwap(running, finished) {
				done <- o
			} else {
				m.logLate(p, b, o)
			}
		}()
		switch p {
		case phaseCommit:
			o.status, o.err = r.BranchCommit(hctx, b)
		case phaseRollback:
			o.status, o.err = r.BranchRollback(hctx, b)
		default:
			o.err = del.DeleteUndoLogs(hctx, saveDays)
		}
	}()

	var o outcome
	select {
	case o = <-done:
	case <-hctx.Done():
		if state.CompareAndSwap(running, abandoned) {
			cause := context.Cause(hctx)
			m.log.Warn("atcc/rm: handler did not return in time; answered a retryable failure, it keeps running",
				"op", p, "resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID, "err", cause)
			if p == phaseUndoDelete {
				return 0, protocol.Result{}
			}
			return fail("atcc/rm: " + p.String() + " did not return in time: " + cause.Error())
		}
		o = <-done // it finished first; its result is on the way
	}
	return m.judge(p, b, o)
}

// judge turns a handler's outcome into the answer.
func (m *Manager) judge(p phase, b BranchRequest, o outcome) (protocol.BranchStatus, protocol.Result) {
	attrs := []any{"op", p, "resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID}
	if o.panic != nil {
		m.log.Error("atcc/rm: handler panicked", append(attrs, "panic", o.panic, "stack", string(o.stack))...)
		return p.retryableFailure(), failed(fmt.Sprintf("atcc/rm: %s panicked: %v", p, o.panic))
	}
	if p == phaseUndoDelete {
		if o.err != nil {
			m.log.Error("atcc/rm: undo log deletion failed", append(attrs, "err", o.err)...)
		}
		return 0, protocol.Result{}
	}
	ok, success := p.accepts(o.status)
	switch {
	case ok && o.err == nil:
		return o.status, protocol.Result{Code: protocol.ResultSuccess}
	case ok && !success:
		m.log.Debug("atcc/rm: phase two failed", append(attrs, "status", o.status, "err", o.err)...)
		return o.status, failed(o.err.Error())
	case o.err == nil:
		m.log.Error("atcc/rm: handler returned a status that does not answer its phase; answered a retryable failure",
			append(attrs, "status", o.status)...)
		return p.retryableFailure(), failed(fmt.Sprintf("atcc/rm: %s returned status %v", p, o.status))
	case success:
		m.log.Error("atcc/rm: handler returned a success status with an error; answered a retryable failure",
			append(attrs, "status", o.status, "err", o.err)...)
		return p.retryableFailure(), failed(o.err.Error())
	}
	m.log.Debug("atcc/rm: phase two failed", append(attrs, "status", o.status, "err", o.err)...)
	return p.retryableFailure(), failed(o.err.Error())
}

// logLate logs the result of a handler that returned after its answer was
// sent.
func (m *Manager) logLate(p phase, b BranchRequest, o outcome) {
	attrs := []any{"op", p, "resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID}
	if o.panic != nil {
		m.log.Error("atcc/rm: late handler panicked", append(attrs, "panic", o.panic, "stack", string(o.stack))...)
		return
	}
	m.log.Warn("atcc/rm: late handler returned; its result was dropped", append(attrs, "status", o.status, "err", o.err)...)
}

// failed returns a Failed result prefix with msg cut to maxMsgLen bytes at
// a rune boundary.
func failed(msg string) protocol.Result {
	if len(msg) > maxMsgLen {
		i := maxMsgLen
		for i > 0 && !utf8.RuneStart(msg[i]) {
			i--
		}
		msg = msg[:i]
	}
	return protocol.Result{Code: protocol.ResultFailed, Msg: msg, ExceptionCode: protocol.CodeUnknown}
}

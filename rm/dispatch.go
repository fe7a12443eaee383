package rm

import (
	"context"
	"fmt"
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
// which has none. It calls the resource on the caller's goroutine, under
// the caller's ctx, and lets a panic through: the transport (rpc.Client)
// owns the worker pool, the deadline (atcc.Config.HandlerTimeout), panic
// recovery and the one answer the coordinator gets.
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

// phaseTwo runs the resource's method for p and returns the status to
// answer and the result prefix (Failed, with a message, when the answer is
// not the resource's own clean result). It is the one place where a
// resource's phase-two call starts and ends.
func (m *Manager) phaseTwo(ctx context.Context, p phase, b BranchRequest, saveDays int) (protocol.BranchStatus, protocol.Result) {
	m.mu.RLock()
	closed, r := m.closed, m.resources[resourceKey{b.BranchType, b.ResourceID}]
	m.mu.RUnlock()
	switch {
	case closed:
		return p.retryableFailure(), failed("atcc/rm: resource manager closed")
	case r == nil:
		m.log.Warn("atcc/rm: request for an unknown resource", "op", p, "branch_type", b.BranchType,
			"resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID)
		return p.retryableFailure(), failed(fmt.Sprintf("atcc/rm: resource %v %s not registered", b.BranchType, b.ResourceID))
	}
	var (
		st  protocol.BranchStatus
		err error
	)
	switch p {
	case phaseCommit:
		st, err = r.BranchCommit(ctx, b)
	case phaseRollback:
		st, err = r.BranchRollback(ctx, b)
	default:
		del, ok := r.(UndoLogDeleter)
		if !ok {
			m.log.Debug("atcc/rm: resource keeps no undo logs", "resource", b.ResourceID)
			return 0, protocol.Result{}
		}
		if err := del.DeleteUndoLogs(ctx, saveDays); err != nil {
			m.log.Error("atcc/rm: undo log deletion failed", "resource", b.ResourceID, "err", err)
		}
		return 0, protocol.Result{}
	}
	return m.judge(p, b, st, err)
}

// judge turns a resource's phase-two result into the answer.
func (m *Manager) judge(p phase, b BranchRequest, st protocol.BranchStatus, err error) (protocol.BranchStatus, protocol.Result) {
	ok, success := p.accepts(st)
	if ok && err == nil {
		return st, protocol.Result{Code: protocol.ResultSuccess}
	}
	attrs := []any{"op", p, "resource", b.ResourceID, "xid", b.XID, "branch_id", b.BranchID}
	switch {
	case ok && !success:
		m.log.Debug("atcc/rm: phase two failed", append(attrs, "status", st, "err", err)...)
		return st, failed(err.Error())
	case err == nil:
		m.log.Error("atcc/rm: handler returned a status that does not answer its phase; answered a retryable failure",
			append(attrs, "status", st)...)
		return p.retryableFailure(), failed(fmt.Sprintf("atcc/rm: %s returned status %v", p, st))
	case success:
		m.log.Error("atcc/rm: handler returned a success status with an error; answered a retryable failure",
			append(attrs, "status", st, "err", err)...)
		return p.retryableFailure(), failed(err.Error())
	}
	m.log.Debug("atcc/rm: phase two failed", append(attrs, "status", st, "err", err)...)
	return p.retryableFailure(), failed(err.Error())
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

package tc

import (
	"context"
	"errors"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// handle answers one TC-bound transaction request from the client p. It
// returns nil for a message that is not such a request. Every response has
// all its fields set, including the statuses (a Java peer's decoder breaks
// on a missing one). Exception codes are in the Seata 2.x numbering; the
// transport translates them for older clients.
func (c *coordinator) handle(ctx context.Context, p peer, m protocol.Message) protocol.Message {
	switch r := m.(type) {
	case *protocol.GlobalBeginRequest:
		xid, err := c.begin(ctx, p, r.TimeoutMillis, r.TransactionName)
		return &protocol.GlobalBeginResponse{Result: result(err), XID: xid}
	case *protocol.BranchRegisterRequest:
		id, err := c.registerBranch(ctx, p, r)
		return &protocol.BranchRegisterResponse{Result: result(err), BranchID: id}
	case *protocol.BranchReportRequest:
		err := c.reportBranchAs(ctx, p, r)
		return &protocol.BranchReportResponse{Result: result(err)}
	case *protocol.GlobalLockQueryRequest:
		ok, err := c.lockQuery(ctx, r)
		return &protocol.GlobalLockQueryResponse{Result: result(err), Lockable: ok}
	case *protocol.GlobalCommitRequest:
		st, err := c.commitAs(ctx, p, r.XID)
		return &protocol.GlobalCommitResponse{Result: result(err), GlobalStatus: st}
	case *protocol.GlobalRollbackRequest:
		st, err := c.rollbackAs(ctx, p, r.XID)
		return &protocol.GlobalRollbackResponse{Result: result(err), GlobalStatus: st}
	case *protocol.GlobalStatusRequest:
		st, err := c.statusAs(ctx, p, r.XID)
		return &protocol.GlobalStatusResponse{Result: result(err), GlobalStatus: st}
	case *protocol.GlobalReportRequest:
		st, err := c.reportAs(ctx, p, r.XID, r.GlobalStatus)
		return &protocol.GlobalReportResponse{Result: result(err), GlobalStatus: st}
	}
	return nil
}

// result is the result prefix for err (nil: success).
func result(err error) protocol.Result {
	if err == nil {
		return protocol.Result{Code: protocol.ResultSuccess}
	}
	code, msg := protocol.CodeUnknown, err.Error()
	var te *txError
	if errors.As(err, &te) {
		code = te.code
		msg = te.msg
		if te.err != nil {
			msg += ": " + te.err.Error()
		}
	}
	return protocol.Result{
		Code:          protocol.ResultFailed,
		Msg:           "TransactionException[" + msg + "]",
		ExceptionCode: code,
	}
}

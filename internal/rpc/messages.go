package rpc

import (
	"strings"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// isResponse reports whether a body of this type answers a request.
func isResponse(t protocol.TypeCode) bool {
	switch t {
	case protocol.TypeGlobalBeginResult, protocol.TypeBranchCommitResult, protocol.TypeBranchRollbackResult,
		protocol.TypeGlobalCommitResult, protocol.TypeGlobalRollbackResult, protocol.TypeBranchRegisterResult,
		protocol.TypeBranchReportResult, protocol.TypeGlobalStatusResult, protocol.TypeGlobalReportResult,
		protocol.TypeGlobalLockQueryResult, protocol.TypeMergeResult, protocol.TypeRegisterTMResult,
		protocol.TypeRegisterRMResult, protocol.TypeBatchResult:
		return true
	}
	return false
}

// coordinatorResponse returns the type of the response a coordinator gives
// to a client request of type t, and false if t is not a request a client
// sends to a coordinator with Call (registrations and batches are the
// transport's business).
func coordinatorResponse(t protocol.TypeCode) (protocol.TypeCode, bool) {
	switch t {
	case protocol.TypeGlobalBegin, protocol.TypeGlobalCommit, protocol.TypeGlobalRollback,
		protocol.TypeGlobalStatus, protocol.TypeGlobalReport, protocol.TypeBranchRegister,
		protocol.TypeBranchReport, protocol.TypeGlobalLockQuery:
		return t + 1, true
	}
	return 0, false
}

// isCoordinatorRequest reports whether a server must be registered with
// before a client may send requests of type t (§8.1, J8): the transaction
// requests and batches of them.
func isCoordinatorRequest(t protocol.TypeCode) bool {
	_, ok := coordinatorResponse(t)
	return ok || t == protocol.TypeMergedWarp
}

// xidAddr returns the coordinator address that an XID names ("host:port"
// from "host:port:transactionId", §8.8), or "" if req carries no XID.
func xidAddr(req protocol.Message) string {
	xid := protocol.XIDOf(req)
	if i := strings.LastIndexByte(xid, ':'); i > 0 {
		return xid[:i]
	}
	return ""
}

// responseFrame is the frame that answers the request frame req with body:
// same request id, codec and compressor, and no head map (J9).
func responseFrame(req *protocol.Frame, body protocol.Message) *protocol.Frame {
	return &protocol.Frame{Type: protocol.Response, Codec: req.Codec, Compressor: req.Compressor,
		RequestID: req.RequestID, Body: body}
}

// failureResponse returns the response to req that reports a failure found
// by the transport itself (a full worker queue, a handler that panicked or
// gave no answer), or nil when req is not a request that needs one. Every
// field is filled, statuses included (J11). Branch commit and rollback get a
// retryable failure status with XID and branch id echoed, so the coordinator
// retries the branch later (§8.9).
func failureResponse(req protocol.Message, msg string) protocol.Message {
	res := protocol.Result{Code: protocol.ResultFailed, Msg: msg}
	switch r := req.(type) {
	case *protocol.GlobalBeginRequest:
		return &protocol.GlobalBeginResponse{Result: res}
	case *protocol.GlobalCommitRequest:
		return &protocol.GlobalCommitResponse{Result: res, GlobalStatus: protocol.GlobalUnknown}
	case *protocol.GlobalRollbackRequest:
		return &protocol.GlobalRollbackResponse{Result: res, GlobalStatus: protocol.GlobalUnknown}
	case *protocol.GlobalStatusRequest:
		return &protocol.GlobalStatusResponse{Result: res, GlobalStatus: protocol.GlobalUnknown}
	case *protocol.GlobalReportRequest:
		return &protocol.GlobalReportResponse{Result: res, GlobalStatus: protocol.GlobalUnknown}
	case *protocol.BranchRegisterRequest:
		return &protocol.BranchRegisterResponse{Result: res}
	case *protocol.BranchReportRequest:
		return &protocol.BranchReportResponse{Result: res}
	case *protocol.GlobalLockQueryRequest:
		return &protocol.GlobalLockQueryResponse{Result: res}
	case *protocol.BranchCommitRequest:
		return &protocol.BranchCommitResponse{Result: res, XID: r.XID, BranchID: r.BranchID,
			BranchStatus: protocol.PhaseTwoCommitFailedRetryable}
	case *protocol.BranchRollbackRequest:
		return &protocol.BranchRollbackResponse{Result: res, XID: r.XID, BranchID: r.BranchID,
			BranchStatus: protocol.PhaseTwoRollbackFailedRetryable}
	}
	return nil
}

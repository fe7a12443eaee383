package tm

import (
	"errors"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// retryable reports whether a request that failed with err may be sent
// again. Any request may be resent when it provably never left the
// process. An idempotent one (commit, rollback and status are, for a given
// XID, at the coordinator) may also be resent when the outcome is open: the
// request was sent and the connection broke or no answer came in time, or
// the coordinator reported a transient failure of its own (storage, session
// lock, leadership).
func retryable(err error, idempotent bool) bool {
	if rpc.IsRetryable(err) {
		return true
	}
	if !idempotent {
		return false
	}
	var ce *rpc.CallError
	if errors.As(err, &ce) {
		return !errors.Is(ce.Err, rpc.ErrInvalidRequest) && !errors.Is(ce.Err, rpc.ErrClientClosed) &&
			!errors.Is(ce.Err, rpc.ErrUnexpectedResponse)
	}
	var coord *protocol.CoordinatorError
	if errors.As(err, &coord) {
		switch coord.Code {
		case protocol.CodeIO, protocol.CodeFailedStore, protocol.CodeFailedWriteSession,
			protocol.CodeFailedLockGlobalTransaction, protocol.CodeNotRaftLeader:
			return true
		}
	}
	return false
}

package tm

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestRetryable(t *testing.T) {
	unsent := &rpc.CallError{Sent: false, Err: rpc.ErrNoSession}
	lost := &rpc.CallError{Sent: true, Err: rpc.ErrConnectionLost}
	timedOut := &rpc.CallError{Sent: true, Err: context.DeadlineExceeded}
	for _, c := range []struct {
		name             string
		err              error
		idempotent, once bool // retryable for an idempotent request, for a begin
	}{
		{"not sent", unsent, true, true},
		{"not sent, wrapped", fmt.Errorf("x: %w", unsent), true, true},
		{"connection lost after sending", lost, true, false},
		{"no answer in time", timedOut, true, false},
		{"client closed", &rpc.CallError{Err: rpc.ErrClientClosed}, false, false},
		{"invalid request", &rpc.CallError{Err: rpc.ErrInvalidRequest}, false, false},
		{"unexpected response", &rpc.CallError{Sent: true, Err: rpc.ErrUnexpectedResponse}, false, false},
		{"coordinator store failure", &protocol.CoordinatorError{Code: protocol.CodeFailedStore}, true, false},
		{"coordinator session lock", &protocol.CoordinatorError{Code: protocol.CodeFailedLockGlobalTransaction}, true, false},
		{"not the raft leader", &protocol.CoordinatorError{Code: protocol.CodeNotRaftLeader}, true, false},
		{"not active", &protocol.CoordinatorError{Code: protocol.CodeGlobalTransactionNotActive}, false, false},
		{"begin failed", &protocol.CoordinatorError{Code: protocol.CodeBeginFailed}, false, false},
		{"other", errors.New("other"), false, false},
	} {
		if got := retryable(c.err, true); got != c.idempotent {
			t.Errorf("%s: retryable(idempotent) = %v", c.name, got)
		}
		if got := retryable(c.err, false); got != c.once {
			t.Errorf("%s: retryable(begin) = %v", c.name, got)
		}
	}
}

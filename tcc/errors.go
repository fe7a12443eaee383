package tcc

import (
	"errors"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Errors returned by this package. They usually arrive wrapped with detail
// text (the action, the XID, the parameter); test for them with errors.Is.
var (
	// ErrNoGlobalTx: Participant.Try with a context that carries no XID
	// (see tm.XID). A TCC action only makes sense inside a global
	// transaction.
	ErrNoGlobalTx = errors.New("atcc/tcc: not in a global transaction")
	// ErrSuspended: Participant.Try found that the branch had already been
	// rolled back (the fence holds its rollback, typically an empty
	// rollback after the global transaction timed out while Try was on its
	// way). Try ran nothing and committed nothing: this is the fence's
	// anti-suspension ("anti-hanging") guard. Fenced actions only.
	ErrSuspended = errors.New("atcc/tcc: branch already rolled back, try refused")
	// ErrParamNotFound: a ParamsView accessor was asked for a key the
	// action context does not hold.
	ErrParamNotFound = errors.New("atcc/tcc: parameter not found")
	// ErrParamType: a ParamsView accessor found the key, but its value
	// does not have the type asked for (a string read with Int64, a
	// fraction read with Int64, a number out of int64's range, ...).
	ErrParamType = errors.New("atcc/tcc: parameter has another type")
	// ErrInvalidParams: Participant.Try got Params it cannot send: a value
	// encoding/json cannot encode (a channel, a function, NaN, ...), or a
	// reserved key (see Params).
	ErrInvalidParams = errors.New("atcc/tcc: invalid parameters")
	// ErrInvalidAction: Register got a nil client or action, an action
	// name that cannot be a resource id, or Config it cannot use (a fence
	// table name that is not a plain identifier).
	ErrInvalidAction = errors.New("atcc/tcc: invalid action")
	// ErrClosed: Participant.Try after Participant.Close.
	ErrClosed = errors.New("atcc/tcc: participant closed")
	// ErrNoFence: Participant.CleanFence on a Participant registered
	// without Config.Fence.
	ErrNoFence = errors.New("atcc/tcc: participant has no fence")
	// ErrFenceState: phase two found a fence row that forbids it: a
	// Confirm for a branch whose Try never committed (no row) or that was
	// rolled back, a Cancel for a branch that was committed. The
	// coordinator never asks for that unless something went badly wrong
	// (the launcher committed after a failed Try, the fence table was
	// edited by hand); the answer is unretryable, so the global
	// transaction ends as CommitFailed or RollbackFailed and is logged by
	// the coordinator as needing manual action.
	ErrFenceState = errors.New("atcc/tcc: fence state forbids this phase")
	// ErrApplicationData: phase two got application data that is not the
	// JSON action context Try registers ({"actionContext":{...}}). The
	// branch is answered with a retryable failure and the error is logged
	// by the resource manager.
	ErrApplicationData = errors.New("atcc/tcc: undecodable action context")
	// ErrUnretryable matches every error built by Unretryable.
	ErrUnretryable = errors.New("atcc/tcc: unretryable")
)

// Unretryable marks err, returned by Action.Confirm or Action.Cancel, as a
// failure that retrying cannot fix: the branch is answered with
// PhaseTwo_CommitFailed_Unretryable or PhaseTwo_RollbackFailed_Unretryable,
// the coordinator stops retrying and the global transaction ends as
// CommitFailed or RollbackFailed, to be repaired by hand. Any other error is
// a retryable failure, and the coordinator calls the method again later.
//
// The returned error matches ErrUnretryable and everything err matches
// (errors.Is, errors.As), and has err's text. Unretryable(nil) is nil.
func Unretryable(err error) error {
	if err == nil {
		return nil
	}
	return &unretryableError{err}
}

// unretryableError is the error Unretryable returns.
type unretryableError struct{ err error }

func (e *unretryableError) Error() string        { return e.err.Error() }
func (e *unretryableError) Unwrap() error        { return e.err }
func (e *unretryableError) Is(target error) bool { return target == ErrUnretryable }

// phaseStatus turns the outcome of a phase-two method into the branch
// status to answer: success, unretryable failure when err matches
// ErrUnretryable, retryable failure otherwise.
func phaseStatus(commit bool, err error) (protocol.BranchStatus, error) {
	switch {
	case err == nil && commit:
		return protocol.PhaseTwoCommitted, nil
	case err == nil:
		return protocol.PhaseTwoRollbacked, nil
	case errors.Is(err, ErrUnretryable) && commit:
		return protocol.PhaseTwoCommitFailedUnretryable, err
	case errors.Is(err, ErrUnretryable):
		return protocol.PhaseTwoRollbackFailedUnretryable, err
	case commit:
		return protocol.PhaseTwoCommitFailedRetryable, err
	}
	return protocol.PhaseTwoRollbackFailedRetryable, err
}

package tm

import (
	"errors"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Errors returned by this package. Test for them with errors.Is.
var (
	// ErrTxDone: Commit, Rollback or Status on a GlobalTx that has already
	// been committed or rolled back (Rollback after Commit excepted, see
	// GlobalTx.Rollback).
	ErrTxDone = errors.New("atcc/tm: global transaction has already been committed or rolled back")
	// ErrNoTx: Begin with Mandatory on a context without an XID, or Status
	// on a GlobalTx that stands for no global transaction (RoleNone).
	ErrNoTx = errors.New("atcc/tm: no global transaction")
	// ErrExistingTx: Begin with Never on a context that carries an XID.
	ErrExistingTx = errors.New("atcc/tm: existing global transaction")
	// ErrInvalidOptions: TxOptions that cannot be sent (a negative or too
	// large timeout, an unknown propagation, a name too long for the
	// wire). The error text names the field.
	ErrInvalidOptions = errors.New("atcc/tm: invalid transaction options")
	// ErrInvalidXID: the coordinator answered GlobalBegin with an XID that
	// fails ValidXID.
	ErrInvalidXID = errors.New("atcc/tm: coordinator returned an invalid xid")
	// ErrOutcomeUnknown: Commit or Rollback got an answer that does not
	// say the branches ended as asked: the coordinator no longer knows the
	// transaction (Finished: it forgot it, or it restarted with the memory
	// store and lost it, in which case no branch was committed or rolled
	// back and AT branches still hold their changes and undo_log rows), or
	// it gave up on a branch (CommitFailed, RollbackFailed,
	// TimeoutRollbackFailed and the *RetryTimeout statuses). The branches need attention: look up the
	// XID in undo_log / tcc_fence_log and in the coordinator's logs. A
	// *StatusError matches it; see StatusError.NeedsAttention.
	ErrOutcomeUnknown = errors.New("atcc/tm: outcome unknown, the branches need attention")
)

// StatusError reports that a global transaction did not end the way the
// caller asked: Commit was called but the coordinator had rolled the
// transaction back (typically because it timed out: Got is one of the
// TimeoutRollback* statuses or Rollbacked), or could not finish it (Got is
// CommitFailed, RollbackFailed, ...), or no longer knows it (Got is
// Finished: the coordinator keeps no record of it, so the outcome is
// unknown to it; Java Seata reports this case as CommitHeuristic).
//
// See GlobalTx.Commit and GlobalTx.Rollback for which statuses count as
// success.
type StatusError struct {
	// XID is the global transaction.
	XID string
	// Want is the status the caller asked for: GlobalCommitted for Commit,
	// GlobalRollbacked for Rollback.
	Want protocol.GlobalStatus
	// Got is the status the coordinator reported.
	Got protocol.GlobalStatus
}

// Error reads like "atcc/tm: global transaction 10.0.0.1:8091:42: asked
// Committed, coordinator reports TimeoutRollbacked", followed, when
// NeedsAttention, by what that means.
func (e *StatusError) Error() string {
	s := "atcc/tm: global transaction " + e.XID + ": asked " + e.Want.String() +
		", coordinator reports " + e.Got.String()
	switch e.Got {
	case protocol.GlobalFinished, protocol.GlobalUnknown:
		s += ": outcome unknown: the coordinator does not know the transaction (it ended and was forgotten, " +
			"or the coordinator restarted without a persistent store and lost it: then its branches were " +
			"neither committed nor rolled back, and their changes and undo_log rows remain); " +
			"the branches need attention"
	case protocol.GlobalRollbackFailed, protocol.GlobalRollbackRetryTimeout, protocol.GlobalTimeoutRollbackFailed:
		s += ": outcome unknown: the rollback failed and the coordinator gave up, so some branches may keep " +
			"their changes; the branches need attention (the resource managers' logs name the rows)"
	case protocol.GlobalCommitFailed, protocol.GlobalCommitRetryTimeout:
		s += ": outcome unknown: the commit failed and the coordinator gave up, so some branches may not be " +
			"committed; the branches need attention"
	}
	return s
}

// NeedsAttention reports whether the coordinator's answer leaves the
// branches' outcome unknown: Got is Finished or Unknown (the coordinator
// does not know the transaction), or an end in which it gave up on some
// branches (see Failed). errors.Is(err, ErrOutcomeUnknown) is the same test.
func (e *StatusError) NeedsAttention() bool {
	return e.Got == protocol.GlobalFinished || e.Got == protocol.GlobalUnknown || e.Failed()
}

// Is reports whether target is ErrOutcomeUnknown and e.NeedsAttention().
func (e *StatusError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.NeedsAttention()
}

// RolledBack reports whether Got says the coordinator has rolled the
// transaction back or is rolling it back (Rollbacking, RollbackRetrying,
// Rollbacked and the TimeoutRollback* statuses except
// TimeoutRollbackFailed). For a failed Commit this means none of its work
// stays.
func (e *StatusError) RolledBack() bool {
	switch e.Got {
	case protocol.GlobalRollbacking, protocol.GlobalRollbackRetrying, protocol.GlobalRollbacked,
		protocol.GlobalTimeoutRollbacking, protocol.GlobalTimeoutRollbackRetrying, protocol.GlobalTimeoutRollbacked:
		return true
	}
	return false
}

// Failed reports whether Got is an end in which the coordinator gave up on
// some branches (CommitFailed, CommitRetryTimeout, RollbackFailed,
// RollbackRetryTimeout, TimeoutRollbackFailed): their data is neither
// committed nor rolled back as asked, and needs a person.
func (e *StatusError) Failed() bool {
	switch e.Got {
	case protocol.GlobalCommitFailed, protocol.GlobalCommitRetryTimeout,
		protocol.GlobalRollbackFailed, protocol.GlobalRollbackRetryTimeout, protocol.GlobalTimeoutRollbackFailed:
		return true
	}
	return false
}

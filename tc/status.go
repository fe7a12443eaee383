package tc

import "github.com/atcc-go/atcc/rpc/protocol"

// The global statuses fall into four groups, and every rule of the
// coordinator is phrased in terms of them:
//
//   - active: Begin, the only status in which branches may register;
//   - committing: a commit was decided and phase two is under way;
//   - rolling back: a rollback was decided (by the TM or by the timeout);
//   - ended: nothing more will happen. The successful ends (Committed,
//     Rollbacked, TimeoutRollbacked) release everything and are remembered for
//     a while; the failed ends (CommitFailed, RollbackFailed,
//     TimeoutRollbackFailed, CommitRetryTimeout, RollbackRetryTimeout) keep
//     their branches and, for a rollback, the row locks of the branches not
//     rolled back, until an operator resolves them.

// isCommitPhase reports whether phase two of a commit is under way.
func isCommitPhase(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalCommitting, protocol.GlobalCommitRetrying, protocol.GlobalAsyncCommitting:
		return true
	}
	return false
}

// isRollbackPhase reports whether phase two of a rollback is under way.
func isRollbackPhase(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalRollbacking, protocol.GlobalRollbackRetrying,
		protocol.GlobalTimeoutRollbacking, protocol.GlobalTimeoutRollbackRetrying:
		return true
	}
	return false
}

// isTimeoutRollback reports whether s belongs to a rollback caused by the
// transaction's timeout.
func isTimeoutRollback(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalTimeoutRollbacking, protocol.GlobalTimeoutRollbackRetrying,
		protocol.GlobalTimeoutRollbacked, protocol.GlobalTimeoutRollbackFailed:
		return true
	}
	return false
}

// isSuccessEnd reports whether s is a successful end: the transaction's
// branches and locks are gone and it is only remembered for GlobalStatus.
func isSuccessEnd(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalCommitted, protocol.GlobalRollbacked, protocol.GlobalTimeoutRollbacked:
		return true
	}
	return false
}

// isFailedEnd reports whether s is a failed end that needs an operator.
func isFailedEnd(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalCommitFailed, protocol.GlobalRollbackFailed, protocol.GlobalTimeoutRollbackFailed,
		protocol.GlobalCommitRetryTimeout, protocol.GlobalRollbackRetryTimeout:
		return true
	}
	return false
}

// isDrivable reports whether a coordinator must act on a transaction in
// status s when its due time comes: time it out (Begin) or run phase two.
func isDrivable(s protocol.GlobalStatus) bool {
	return s == protocol.GlobalBegin || isCommitPhase(s) || isRollbackPhase(s)
}

// isRetrying reports whether s is a status a transaction enters after a
// failed phase-two attempt (the retry queues).
func isRetrying(s protocol.GlobalStatus) bool {
	switch s {
	case protocol.GlobalCommitRetrying, protocol.GlobalRollbackRetrying, protocol.GlobalTimeoutRollbackRetrying:
		return true
	}
	return false
}

// drivableStatuses lists the statuses isDrivable accepts, for store queries.
var drivableStatuses = [...]protocol.GlobalStatus{
	protocol.GlobalBegin,
	protocol.GlobalCommitting, protocol.GlobalCommitRetrying, protocol.GlobalAsyncCommitting,
	protocol.GlobalRollbacking, protocol.GlobalRollbackRetrying,
	protocol.GlobalTimeoutRollbacking, protocol.GlobalTimeoutRollbackRetrying,
}

// successEndStatuses lists the statuses isSuccessEnd accepts.
var successEndStatuses = [...]protocol.GlobalStatus{
	protocol.GlobalCommitted, protocol.GlobalRollbacked, protocol.GlobalTimeoutRollbacked,
}

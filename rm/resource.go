package rm

import (
	"context"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// A Resource is something whose local work joins global transactions as
// branches: an AT data source, a TCC action. It is registered with
// Manager.Register and identified by its branch type and resource id.
//
// The coordinator calls BranchCommit or BranchRollback (phase two) once
// the launcher has decided; the client runs them on its worker pool.
// Both must be idempotent: the coordinator resends them until it gets a
// final answer, after a lost answer, after a coordinator restart, or when
// a previous call ran out of time (see atcc.Config.HandlerTimeout), and a
// resend may even overlap with a previous call that is still running. They
// may be called for a branch this process did not register (another
// instance of the same service registered it and went away), and, for
// rollback, for a branch whose phase one has not finished or never will
// (AT and TCC handle that with the "global finished" undo marker and the
// TCC fence).
//
// What to return from BranchCommit:
//
//   - protocol.PhaseTwoCommitted, nil: the branch is committed (also when
//     it already was). The coordinator forgets the branch.
//   - protocol.PhaseTwoCommitFailedRetryable, err: try again later. The
//     coordinator resends the commit (every second by default).
//   - protocol.PhaseTwoCommitFailedUnretryable, err: give up. The global
//     transaction ends as CommitFailed and needs a human.
//
// What to return from BranchRollback:
//
//   - protocol.PhaseTwoRollbacked, nil: the branch is rolled back (also
//     when it already was, or had nothing to undo).
//   - protocol.PhaseTwoRollbackFailedRetryable, err: try again later.
//   - protocol.PhaseTwoRollbackFailedUnretryable, err: give up (e.g. AT
//     found the rows changed outside the global transaction). The global
//     transaction ends as RollbackFailed; its global locks stay held until
//     a human repairs the data.
//
// A failure status may come with a nil error. Any other combination is
// answered as the retryable failure of the phase, with an error logged:
// an error with a success status (an error always wins: phase two is
// idempotent, so a retry is safe while a false success is not), an error
// with no status, a status of the other phase or of phase one, and a panic
// (recovered by the client, logged with its stack).
//
// The ctx of a call ends at the request's deadline
// (atcc.Config.HandlerTimeout after it arrived) or when the client closes;
// a call should return soon after. One that does not is answered as a retryable
// failure at the deadline, and keeps its worker until it returns: the pool
// does not grow, so such calls hold up the requests behind them, and
// atcc.Client.Close waits for them. Their late result is logged and
// dropped.
type Resource interface {
	// ResourceID identifies the resource at the coordinator: the same id
	// across every instance of a service, so that the coordinator can
	// send phase two to any of them. It must not be empty nor contain a
	// comma (the wire joins ids with commas), and must stay the same for
	// the life of the registration.
	ResourceID() string
	// BranchType is the kind of branches the resource takes part in,
	// e.g. protocol.BranchAT or protocol.BranchTCC.
	BranchType() protocol.BranchType
	// BranchCommit runs phase two of a branch whose global transaction
	// committed.
	BranchCommit(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error)
	// BranchRollback runs phase two of a branch whose global transaction
	// rolled back.
	BranchRollback(ctx context.Context, b BranchRequest) (protocol.BranchStatus, error)
}

// UndoLogDeleter is implemented by resources that keep undo logs (AT).
// The coordinator asks every resource manager, about once a day, to delete
// undo logs older than saveDays days; the Manager calls DeleteUndoLogs on
// the resource the request names, if it implements this interface, under
// the same deadline and guards as phase two. Nothing is answered to the
// coordinator; an error is logged.
type UndoLogDeleter interface {
	DeleteUndoLogs(ctx context.Context, saveDays int) error
}

// BranchRequest is a phase-two request from the coordinator.
type BranchRequest struct {
	// XID is the global transaction.
	XID string
	// BranchID is the branch, as BranchRegister returned it.
	BranchID int64
	// BranchType and ResourceID are those of the Resource called.
	BranchType protocol.BranchType
	ResourceID string
	// ApplicationData is what the branch registered with (TCC: the action
	// context), or "".
	ApplicationData string
}

// Package observe defines the hooks through which atcc reports what it
// does, for metrics and tracing: the client (atcc.Config.Observer) and the
// coordinator (tc.Config.Observer) call an Observer at the start and end of
// each operation worth measuring, and for events that have no duration.
//
// The package depends on the standard library only. otelatcc implements
// Observer with OpenTelemetry; any other implementation (another metrics
// library, a test recorder) works the same way.
//
// A nil Observer costs nothing: every call site checks for nil first, and
// builds no Op otherwise. Ops are passed by value, so that an Observer does
// not make the library allocate either.
package observe

import (
	"context"
	"time"
)

// Observer receives the operations and events of a client or a
// coordinator. Its methods are called from many goroutines at once and on
// hot paths: they must be safe for concurrent use, quick, and must not
// block.
type Observer interface {
	// Start is called when an operation of a Kind that has a duration
	// begins. The context it returns is the one the operation continues
	// with and the one End receives: an Observer that traces puts its span
	// there, and the work below (requests, nested operations) sees it.
	// op.Start is set.
	Start(ctx context.Context, op Op) context.Context
	// End is called once for every Start, with the context Start
	// returned and op completed: Result, Err and the fields that were
	// unknown at the start (e.g. XID).
	End(ctx context.Context, op Op)
	// Event reports something without a duration (see the Kinds).
	Event(ctx context.Context, op Op)
	// TraceParent returns the W3C traceparent of the span in ctx, or ""
	// when there is none (an Observer that does not trace always returns
	// ""). The client carries it to the resource manager that runs the
	// branch's phase two, in the branch's application data (see
	// Op.TraceParent).
	TraceParent(ctx context.Context) string
}

// Kind says which operation or event an Op describes. The attributes each
// one sets are listed with it; Start is set for all.
type Kind uint8

// Client operations (Start and End).
const (
	// GlobalTx is a global transaction on the client that began it: from
	// the GlobalBegin request (op.Start) to the end of Commit or Rollback
	// (End). Start is called once the coordinator has answered, so XID is
	// set; also Name (the transaction name, TxOptions.Name). Result is
	// one of ResultCommitted, ResultRolledBack, ResultCommitFailed,
	// ResultRollbackFailed. A failed GlobalBegin has no GlobalTx; it shows
	// as a failed Request. (A GlobalTx the application never commits nor
	// rolls back never ends; the coordinator times it out.)
	GlobalTx Kind = iota + 1
	// GlobalCommit and GlobalRollback are the end of a global
	// transaction, retries included: XID. Result ResultOK or ResultError.
	GlobalCommit
	GlobalRollback
	// BranchRegister is one BranchRegister request: XID, BranchType,
	// Resource; at End BranchID. Result ResultOK, ResultLockConflict or
	// ResultError.
	BranchRegister
	// UndoWrite is the insert of an AT branch's undo log: XID, BranchID,
	// Resource, Bytes (the undo log's size: its rows' images as encoded).
	// Result ResultOK or ResultError.
	UndoWrite
	// PhaseTwo is a BranchCommit or BranchRollback run by the resource
	// manager: XID, BranchID, BranchType, Resource, Name ("commit" or
	// "rollback"), TraceParent (from the branch's application data, ""
	// when it carries none). Result is the branch status answered (e.g.
	// "PhaseTwo_Committed", "PhaseTwo_RollbackFailed_Unretryable").
	PhaseTwo
	// Request is one request of the client to the coordinator: Name (the
	// message type, e.g. "GlobalBeginRequest"). Result ResultOK or
	// ResultError.
	Request
)

// Client events.
const (
	// LockConflict: the coordinator refused a branch's row locks (a
	// BranchRegister conflict) or found them held (a lock query): XID,
	// BranchType, Resource.
	LockConflict Kind = iota + 32
	// ConflictRetry: WithGlobalTx runs a global transaction again after a
	// conflict: Name, XID (of the failed attempt).
	ConflictRetry
)

// Coordinator operations and events.
const (
	// CoordinatorRequest (Start and End) is one request a client sent to
	// the coordinator: Name (the message type), XID when the request
	// names one; for a BranchRegisterRequest also BranchType, Resource
	// and, at End, BranchID. Result ResultOK, or the exception code of the
	// failure (e.g. "LockKeyConflict", "BeginFailed").
	CoordinatorRequest Kind = iota + 64
	// CoordinatorPhaseTwo (Start and End) is a BranchCommit or
	// BranchRollback the coordinator sent to a resource manager: XID,
	// BranchID, BranchType, Resource, Name ("commit" or "rollback"),
	// TraceParent (as for PhaseTwo).
	// Result is the branch status answered, or ResultError when no answer
	// came.
	CoordinatorPhaseTwo
	// CoordinatorGlobalEnd (event) is a global transaction reaching an
	// end status on this coordinator: XID, Name, Result (the status, e.g.
	// "Committed", "RollbackFailed"), Start (its begin time; zero when
	// unknown).
	CoordinatorGlobalEnd
)

// Results set by the library (Result may also hold a status or an
// exception code name, as each Kind says).
const (
	ResultOK             = "ok"
	ResultError          = "error"
	ResultLockConflict   = "lock_conflict"
	ResultCommitted      = "committed"
	ResultRolledBack     = "rolled_back"
	ResultCommitFailed   = "commit_failed"
	ResultRollbackFailed = "rollback_failed"
)

// Op describes one operation or event. Which fields are set depends on the
// Kind. The string fields other than XID take a small set of values, fit
// for metric attributes; XID is not (one value per transaction).
type Op struct {
	Kind Kind
	// Start is when the operation began.
	Start time.Time
	// XID is the global transaction.
	XID string
	// BranchID is the branch, 0 when none.
	BranchID int64
	// BranchType is "AT", "TCC", "SAGA" or "XA", "" when none.
	BranchType string
	// Resource is the resource id.
	Resource string
	// Name is the transaction name, request type or phase (see Kind).
	Name string
	// Result is the outcome, at End (see Kind).
	Result string
	// Err is the error the operation failed with, at End; nil on success.
	Err error
	// Bytes is a size (UndoWrite).
	Bytes int
	// TraceParent is the W3C traceparent the branch was registered under
	// (PhaseTwo): an Observer that traces links the phase two to it.
	TraceParent string
}

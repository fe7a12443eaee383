package tc

import (
	"context"
	"slices"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// globalTx is one global transaction as the store keeps it (a row of
// global_table).
type globalTx struct {
	xid       string
	txID      int64
	status    protocol.GlobalStatus
	appID     string // application_id of the TM
	group     string // transaction_service_group
	name      string // transaction_name
	timeoutMs int32
	beginTime int64 // Unix milliseconds
	appData   string

	// dueAt is when a coordinator must next act on the transaction, in Unix
	// milliseconds; 0 means never:
	//   - Begin: the deadline, after which it is rolled back;
	//   - phase two in progress (owner set): the end of the owner's lease;
	//   - phase two waiting for a retry (no owner): the next attempt;
	//   - a successful end: when it is forgotten;
	//   - a failed end: 0.
	dueAt int64
	// owner is the coordinator instance driving phase two, "" if none.
	owner string
	// attempts counts failed phase-two attempts, for the backoff.
	attempts int32
}

// branchTx is one branch (a row of branch_table).
type branchTx struct {
	branchID      int64
	xid           string
	txID          int64
	resourceGroup string // the RM's transaction service group
	resourceID    string
	branchType    protocol.BranchType
	status        protocol.BranchStatus
	clientID      string // the RM connection that registered it
	appData       string

	// attempts counts the failed phase-two calls of this branch, and
	// lastError describes the latest (branchFailed writes both); with a
	// MySQL schema that predates them they stay empty.
	attempts  int32
	lastError string

	// rmMsg is the text the RM sent with its latest phase-two answer (a
	// failed restore names the rows there); kept in memory only, for
	// lastError.
	rmMsg string
}

// A change is what a store writes to a global transaction in a status
// transition.
//
// Entering a successful end also deletes the transaction's branches and row
// locks; the row then stays as a record of the outcome until dueAt, or is
// deleted at once when dueAt is 0.
type change struct {
	status   protocol.GlobalStatus
	owner    string
	dueAt    int64
	attempts int32

	// ifApp, for endEmpty only, is a condition: the change applies only to
	// a transaction begun by this application; "" matches any.
	ifApp string
}

// An endRule is how GlobalCommit (commit) or GlobalRollback ends a
// transaction in store.endGlobal. It is a value, not a closure over the
// caller's variables, and sees a summary of the branches rather than a copy
// of them: 2 allocations per commit fewer (atcc-bench: the closure and the
// memory store's copy of the branches).
type endRule struct {
	commit bool
	app    string // the application that must own the transaction; "" for any
	now    int64  // Unix ms
	lease  int64  // the dueAt of a phase two this coordinator drives
	owner  string // this coordinator
	ended  change // a commit's change when no branch needs phase two
}

// branchSummary is what an endRule needs to know of the branches.
type branchSummary struct {
	n        int  // branches
	anyAT    bool // some branch is AT
	phaseTwo bool // some branch needs phase two (needsPhaseTwo)
	onlyAT   bool // every branch that needs phase two is AT
}

// add counts b in s (begin with onlyAT set).
func (s *branchSummary) add(b *branchTx) {
	s.n++
	s.anyAT = s.anyAT || b.branchType == protocol.BranchAT
	if needsPhaseTwo(b) {
		s.phaseTwo = true
		s.onlyAT = s.onlyAT && b.branchType == protocol.BranchAT
	}
}

// An endVerdict is what endGlobal reports besides the transaction.
type endVerdict struct {
	decided  bool // the transaction was in Begin and the rule ended it
	foreign  bool // another application's: nothing changed
	branches int  // the branches the rule saw
}

// decide returns the decision for g, whose branches are summarised by bs.
// An unknown or ended transaction's g is decided too, and changes nothing.
func (r *endRule) decide(g *globalTx, bs branchSummary) (decision, endVerdict) {
	v := endVerdict{branches: bs.n}
	if v.foreign = r.app != "" && g.appID != r.app; v.foreign {
		return decision{}, v
	}
	if v.decided = g.status == protocol.GlobalBegin; !v.decided {
		return decision{}, v
	}
	if !r.commit {
		return decision{apply: true, change: change{status: protocol.GlobalRollbacking, owner: r.owner, dueAt: r.lease}}, v
	}
	if g.dueAt <= r.now {
		return decision{apply: true, change: change{status: protocol.GlobalTimeoutRollbacking, owner: r.owner, dueAt: r.lease}}, v
	}
	switch {
	case !bs.phaseTwo:
		return decision{apply: true, releaseLocks: bs.anyAT, change: r.ended}, v
	case bs.onlyAT:
		return decision{apply: true, releaseLocks: true, change: change{status: protocol.GlobalAsyncCommitting, owner: r.owner, dueAt: r.lease}}, v
	default:
		return decision{apply: true, releaseLocks: bs.anyAT, change: change{status: protocol.GlobalCommitting, owner: r.owner, dueAt: r.lease}}, v
	}
}

// A decision is what an endRule decides in store.endGlobal.
type decision struct {
	change
	// apply is false when the transaction must be left as it is.
	apply bool
	// releaseLocks deletes every row lock of the transaction (a commit was
	// decided: the data is final).
	releaseLocks bool
}

// store keeps global transactions, branches and row locks. Every write is a
// compare-and-set on the global status (and, for phase two, on the owner),
// so two requests or two coordinators racing on one transaction cannot both
// move it. Implementations are safe for concurrent use.
type store interface {
	// nextID returns a new transaction or branch id, unique in the store
	// across restarts.
	nextID(ctx context.Context) (int64, error)

	// insertGlobal stores a new transaction in status Begin. It takes g,
	// as registerBranch takes b, by value: a pointer passed through the
	// interface escapes, 1 allocation per call (atcc-bench).
	insertGlobal(ctx context.Context, g globalTx) error

	// global returns the transaction, or errNoGlobal.
	global(ctx context.Context, xid string) (globalTx, error)

	// branches returns the branches of a transaction in registration
	// order.
	branches(ctx context.Context, xid string) ([]branchTx, error)

	// registerBranch adds b to its transaction and takes its row locks, all
	// or nothing, atomically with the check that the transaction is in
	// status Begin. Errors: errNoGlobal, *notActiveError,
	// *lockConflictError. A lock held by the same transaction (another of
	// its branches) is not a conflict and stays with that branch. The store
	// may keep locks (the memory store does): the caller does not use it
	// afterwards.
	registerBranch(ctx context.Context, b branchTx, locks []rowLock) error

	// reportBranch sets a branch's status, and its application data when
	// appData is not empty. Errors: errNoGlobal, errNoBranch.
	reportBranch(ctx context.Context, xid string, branchID int64, status protocol.BranchStatus, appData string) error

	// lockable reports whether no transaction other than xid holds any of
	// the locks.
	lockable(ctx context.Context, xid string, locks []rowLock) (bool, error)

	// endGlobal reads the transaction and its branches under an exclusive
	// lock, decides with r, and applies the decision. It returns the
	// transaction as it is afterwards and r's verdict. An ended transaction
	// the store remembers is decided too (and left as it is).
	endGlobal(ctx context.Context, xid string, r endRule) (globalTx, endVerdict, error)

	// endEmpty applies c, a successful end, if the transaction is in status
	// Begin, never had a branch, and is due after now (not timed out); ok
	// is false, and nothing changes, otherwise. It is the fast path of
	// GlobalCommit and GlobalRollback for transactions without branches.
	endEmpty(ctx context.Context, xid string, now int64, c change) (ok bool, err error)

	// transition applies c if the transaction is in status from and owned
	// by owner; ok is false (and nothing changes) otherwise.
	transition(ctx context.Context, xid string, from protocol.GlobalStatus, owner string, c change) (ok bool, err error)

	// endAll applies c, a successful end, to every transaction of xids
	// that is in status from and owned by owner, as transition does for
	// one, atomically, and returns the xids it ended, in the order of xids
	// (store_end_all.go).
	endAll(ctx context.Context, xids []string, from protocol.GlobalStatus, owner string, c change) (ended []string, err error)

	// removeBranch deletes a finished branch and, if locked, releases its
	// row locks (locked is false when the branch can hold none: not AT, or
	// the transaction's locks were released when its commit was decided).
	// It is idempotent.
	removeBranch(ctx context.Context, xid string, branchID int64, locked bool) error

	// claimDue takes up to limit transactions whose due time has passed
	// (status Begin or a phase-two status) for owner: a Begin transaction
	// becomes TimeoutRollbacking, the others keep their status. Each
	// becomes owned by owner until leaseUntil.
	claimDue(ctx context.Context, now int64, owner string, leaseUntil int64, limit int) ([]globalTx, error)

	// makeDue makes the given transactions due at now, if nobody owns them
	// and they wait for a phase-two retry.
	makeDue(ctx context.Context, xids []string, now int64) error

	// releaseOwner makes every transaction owned by owner unowned and due
	// at now, so another coordinator (or the next start) takes it over.
	releaseOwner(ctx context.Context, owner string, now int64) error

	// purge forgets up to limit successfully ended transactions whose due
	// time has passed and returns how many it forgot.
	purge(ctx context.Context, now int64, limit int) (int, error)

	// branchFailed records a failed phase-two call of a branch: one more
	// attempt, msg as its last error and, when status is not 0, the
	// status the RM answered. A missing branch is not an error.
	branchFailed(ctx context.Context, xid string, branchID int64, status protocol.BranchStatus, msg string) error

	// listGlobals returns up to limit transactions matching f, in the
	// order of (beginTime, xid), after the cursor f.after.
	listGlobals(ctx context.Context, f listFilter, limit int) ([]globalTx, error)

	// locksOf returns up to limit row locks xid holds, by row key.
	locksOf(ctx context.Context, xid string, limit int) ([]heldLock, error)

	// ping reports whether the store can be reached.
	ping(ctx context.Context) error

	// close releases the store's resources (not the caller's *sql.DB).
	close() error
}

// heldLock is a row lock and the branch that holds it.
type heldLock struct {
	rowLock
	branchID int64
}

// listFilter is a store-level TxFilter: statuses (empty: any), app (""
// any), begun at or before beganBy (Unix ms), strictly after the cursor
// (afterBegin, afterXID) when afterXID is not "".
type listFilter struct {
	statuses   []protocol.GlobalStatus
	app        string
	beganBy    int64
	afterBegin int64
	afterXID   string
}

// matches reports whether g passes f (the cursor included).
func (f *listFilter) matches(g *globalTx) bool {
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, g.status) {
		return false
	}
	if f.app != "" && g.appID != f.app || g.beginTime > f.beganBy {
		return false
	}
	return f.afterXID == "" || g.beginTime > f.afterBegin || g.beginTime == f.afterBegin && g.xid > f.afterXID
}

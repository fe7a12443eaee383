package tc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Operations for operators: list and inspect transactions, retry phase two
// at once, and resolve a transaction a person repaired (an admin console
// such as package tc/admin serves them). They read and write the store
// directly, so with the MySQL store they see and act on the transactions
// of every coordinator sharing it.

// Errors of the operator methods.
var (
	// ErrTxNotFound: no transaction has the XID (it never existed, or it
	// ended successfully longer ago than Config.EndedRetention).
	ErrTxNotFound = errors.New("atcc/tc: transaction not found")
	// ErrTxState is wrapped when the transaction's status does not allow
	// the action; the message says why.
	ErrTxState = errors.New("atcc/tc: the transaction's status does not allow this")
	// ErrBadFilter is wrapped when a TxFilter is invalid.
	ErrBadFilter = errors.New("atcc/tc: invalid transaction filter")
)

// Listing bounds.
const (
	// DefaultListLimit is the page size when TxFilter.Limit is 0.
	DefaultListLimit = 50
	// MaxListLimit is the largest page size.
	MaxListLimit = 500
	// MaxLocksShown is how many row locks Transaction returns at most.
	MaxLocksShown = 1000
)

// maxLastErrorLen is the character length of branch_table.last_error.
const maxLastErrorLen = 1024

// TxFilter selects the transactions Server.Transactions lists.
type TxFilter struct {
	// Statuses keeps the transactions in one of them; empty: any status.
	Statuses []protocol.GlobalStatus
	// ApplicationID keeps the transactions begun by this application; "":
	// any.
	ApplicationID string
	// MinAge keeps the transactions begun at least this long ago.
	MinAge time.Duration
	// Limit is the page size: 0 means DefaultListLimit; at most
	// MaxListLimit.
	Limit int
	// After continues a listing: TxPage.Next of the previous page.
	After string
}

// TxPage is one page of a listing, oldest transaction first.
type TxPage struct {
	Transactions []TxInfo
	// Next is the cursor of the next page (TxFilter.After), "" on the last
	// page.
	Next string
}

// TxInfo describes a global transaction.
type TxInfo struct {
	XID            string
	Status         protocol.GlobalStatus
	ApplicationID  string
	TxServiceGroup string
	Name           string
	Timeout        time.Duration
	Begin          time.Time
	// Attempts counts the failed phase-two attempts, which set the retry
	// backoff; a manual retry (RetryNow) starts it again from 0.
	Attempts int
	// Due is when a coordinator next acts on the transaction: its timeout
	// (Begin), its next retry, the end of the lease of the coordinator
	// driving it (Owner set), or when an ended transaction is forgotten.
	// Zero: never (a failed end waits for an operator).
	Due time.Time
	// Owner is the coordinator instance driving phase two now, "" if none.
	Owner string
}

// TxDetail is a transaction with its branches and row locks.
type TxDetail struct {
	TxInfo
	// Branches not finished yet, in registration order (a finished
	// branch is removed).
	Branches []BranchInfo
	// Locks are the row locks the transaction holds, by row key; at most
	// MaxLocksShown, MoreLocks is set when there are more.
	Locks     []LockInfo
	MoreLocks bool
}

// BranchInfo describes a branch of a global transaction.
type BranchInfo struct {
	BranchID      int64
	Type          protocol.BranchType
	ResourceID    string
	ResourceGroup string
	// Status is the last status recorded: the phase-one status the RM
	// reported, or the phase-two failure it answered last.
	Status   protocol.BranchStatus
	ClientID string
	// Attempts counts its failed phase-two calls and LastError describes
	// the latest. (The MySQL store records them from the schema version
	// that has branch_table.attempts; see CreateTables.)
	Attempts  int
	LastError string
}

// LockInfo is a global row lock.
type LockInfo struct {
	BranchID   int64
	ResourceID string
	Table      string
	PK         string
}

// Transactions lists the transactions f selects, oldest first. It is safe
// for concurrent use, as are the other operator methods.
func (s *Server) Transactions(ctx context.Context, f TxFilter) (TxPage, error) {
	if err := s.running(); err != nil {
		return TxPage{}, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return TxPage{}, fmt.Errorf("%w: limit %d is not in [1, %d]", ErrBadFilter, limit, MaxListLimit)
	}
	if f.MinAge < 0 {
		return TxPage{}, fmt.Errorf("%w: negative minimum age", ErrBadFilter)
	}
	lf := listFilter{statuses: f.Statuses, app: f.ApplicationID, beganBy: s.core.nowMs() - f.MinAge.Milliseconds()}
	if f.After != "" {
		begin, xid, ok := strings.Cut(f.After, "/")
		n, err := strconv.ParseInt(begin, 10, 64)
		if !ok || err != nil || xid == "" {
			return TxPage{}, fmt.Errorf("%w: bad cursor %q", ErrBadFilter, f.After)
		}
		lf.afterBegin, lf.afterXID = n, xid
	}
	gs, err := s.st.listGlobals(ctx, lf, limit+1)
	if err != nil {
		return TxPage{}, fmt.Errorf("atcc/tc: list transactions: %w", err)
	}
	var page TxPage
	if len(gs) > limit {
		gs = gs[:limit]
		last := gs[limit-1]
		page.Next = strconv.FormatInt(last.beginTime, 10) + "/" + last.xid
	}
	page.Transactions = make([]TxInfo, len(gs))
	for i := range gs {
		page.Transactions[i] = txInfo(&gs[i])
	}
	return page, nil
}

// Transaction returns a transaction with its branches and row locks, or
// ErrTxNotFound.
func (s *Server) Transaction(ctx context.Context, xid string) (TxDetail, error) {
	if err := s.running(); err != nil {
		return TxDetail{}, err
	}
	g, err := s.st.global(ctx, xid)
	if err != nil {
		return TxDetail{}, readError(err)
	}
	bs, err := s.st.branches(ctx, xid)
	if err != nil {
		return TxDetail{}, fmt.Errorf("atcc/tc: read branches: %w", err)
	}
	ls, err := s.st.locksOf(ctx, xid, MaxLocksShown+1)
	if err != nil {
		return TxDetail{}, fmt.Errorf("atcc/tc: read locks: %w", err)
	}
	d := TxDetail{TxInfo: txInfo(&g), Branches: make([]BranchInfo, len(bs))}
	for i, b := range bs {
		d.Branches[i] = BranchInfo{BranchID: b.branchID, Type: b.branchType, ResourceID: b.resourceID, ResourceGroup: b.resourceGroup,
			Status: b.status, ClientID: b.clientID, Attempts: int(b.attempts), LastError: b.lastError}
	}
	if len(ls) > MaxLocksShown {
		ls, d.MoreLocks = ls[:MaxLocksShown], true
	}
	d.Locks = make([]LockInfo, len(ls))
	for i, l := range ls {
		d.Locks[i] = LockInfo{BranchID: l.branchID, ResourceID: l.resourceID, Table: l.table, PK: l.pk}
	}
	return d, nil
}

// RetryNow makes the next phase-two attempt of a transaction happen at
// once instead of after its backoff, and, for a failed end (a branch that
// refused phase two, or retries that timed out), starts phase two again
// from the branches left: after a person repaired what made an RM refuse
// (for an AT dirty write, restored the rows its undo log expects), this is
// the way to finish the transaction with its real outcome. by names the
// operator, for the log.
//
// A transaction that is still active (Begin), ended successfully, or being
// driven by a coordinator right now gets ErrTxState.
func (s *Server) RetryNow(ctx context.Context, xid, by string) error {
	if err := s.running(); err != nil {
		return err
	}
	c := s.core
	g, err := s.st.global(ctx, xid)
	if err != nil {
		return readError(err)
	}
	now := c.nowMs()
	switch {
	case g.owner != "":
		return fmt.Errorf("%w: %s is %v and being driven by coordinator %s now", ErrTxState, xid, g.status, g.owner)
	case isCommitPhase(g.status) || isRollbackPhase(g.status):
		if err := s.st.makeDue(ctx, []string{xid}, now); err != nil {
			return fmt.Errorf("atcc/tc: retry: %w", err)
		}
	case isFailedEnd(g.status):
		ok, err := s.st.transition(ctx, xid, g.status, "", change{status: retryStatus(g.status), dueAt: now})
		if err != nil {
			return fmt.Errorf("atcc/tc: retry: %w", err)
		}
		if !ok {
			return fmt.Errorf("%w: %s changed meanwhile; look again", ErrTxState, xid)
		}
	default:
		return fmt.Errorf("%w: %s is %v: only a transaction in phase two or in a failed end can be retried", ErrTxState, xid, g.status)
	}
	c.log.Info("atcc/tc: phase two retried by an operator",
		slog.String("xid", xid), slog.String("status", g.status.String()), slog.String("by", by), slog.Time("at", time.UnixMilli(now)))
	c.wake()
	return nil
}

// Resolve ends a transaction that a person has dealt with: one in a failed
// end (a branch refused phase two: for an AT branch, a dirty write the RM
// would not overwrite), or waiting for a phase-two retry that cannot
// succeed (its RM is gone for good). The person must first have brought
// the data of the branches left into the transaction's outcome by hand;
// Resolve then forgets those branches, releases the transaction's row
// locks, and records the outcome the transaction was heading for
// (Committed, Rollbacked or TimeoutRollbacked), which a TM asking for the
// status then learns. The branches' RMs are not called: an AT branch's
// undo_log rows stay until the periodic undo-log deletion
// (Config.UndoLogSaveDays).
//
// by names the operator and reason says what was done; both go to the
// audit line Resolve logs (level Warn, message "atcc/tc: transaction
// resolved by an operator"). It returns the status recorded.
func (s *Server) Resolve(ctx context.Context, xid, by, reason string) (protocol.GlobalStatus, error) {
	if err := s.running(); err != nil {
		return 0, err
	}
	c := s.core
	g, err := s.st.global(ctx, xid)
	if err != nil {
		return 0, readError(err)
	}
	switch {
	case g.owner != "":
		return 0, fmt.Errorf("%w: %s is %v and being driven by coordinator %s now; resolve it when it stops", ErrTxState, xid, g.status, g.owner)
	case isFailedEnd(g.status) || isCommitPhase(g.status) || isRollbackPhase(g.status):
	default:
		return 0, fmt.Errorf("%w: %s is %v: only a transaction in a failed end or in phase two can be resolved", ErrTxState, xid, g.status)
	}
	bs, _ := s.st.branches(ctx, xid) // for the audit line only
	to := resolvedStatus(g.status)
	now := c.nowMs()
	ok, err := s.st.transition(ctx, xid, g.status, "", c.endChange(to, now))
	if err != nil {
		return 0, fmt.Errorf("atcc/tc: resolve: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("%w: %s changed meanwhile (a coordinator may be driving it); look again", ErrTxState, xid)
	}
	ids := make([]int64, len(bs))
	for i := range bs {
		ids[i] = bs[i].branchID
	}
	c.log.Warn("atcc/tc: transaction resolved by an operator",
		slog.String("xid", xid), slog.String("from", g.status.String()), slog.String("to", to.String()),
		slog.String("by", by), slog.Time("at", time.UnixMilli(now)), slog.String("reason", reason),
		slog.Any("branches_forgotten", ids))
	return to, nil
}

// Ping reports whether the server runs and its store answers.
func (s *Server) Ping(ctx context.Context) error {
	if err := s.running(); err != nil {
		return err
	}
	return s.st.ping(ctx)
}

// running returns nil while the server runs (between Start and Shutdown).
func (s *Server) running() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateRunning:
		return nil
	case stateClosed:
		return ErrServerClosed
	}
	return errNotStarted
}

var errNotStarted = errors.New("atcc/tc: server not started")

func readError(err error) error {
	if errors.Is(err, errNoGlobal) {
		return ErrTxNotFound
	}
	return fmt.Errorf("atcc/tc: read transaction: %w", err)
}

func txInfo(g *globalTx) TxInfo {
	t := TxInfo{XID: g.xid, Status: g.status, ApplicationID: g.appID, TxServiceGroup: g.group, Name: g.name,
		Timeout: time.Duration(g.timeoutMs) * time.Millisecond, Begin: time.UnixMilli(g.beginTime),
		Attempts: int(g.attempts), Owner: g.owner}
	if g.dueAt > 0 {
		t.Due = time.UnixMilli(g.dueAt)
	}
	return t
}

// retryStatus is the status a failed end goes back to for a manual retry.
func retryStatus(s protocol.GlobalStatus) protocol.GlobalStatus {
	switch s {
	case protocol.GlobalCommitFailed, protocol.GlobalCommitRetryTimeout:
		return protocol.GlobalCommitRetrying
	case protocol.GlobalTimeoutRollbackFailed:
		return protocol.GlobalTimeoutRollbackRetrying
	}
	return protocol.GlobalRollbackRetrying
}

// resolvedStatus is the successful end Resolve records for a transaction in
// status s (a failed end or phase two).
func resolvedStatus(s protocol.GlobalStatus) protocol.GlobalStatus {
	switch {
	case isCommitPhase(s), s == protocol.GlobalCommitFailed, s == protocol.GlobalCommitRetryTimeout:
		return protocol.GlobalCommitted
	case isTimeoutRollback(s):
		return protocol.GlobalTimeoutRollbacked
	}
	return protocol.GlobalRollbacked
}

// noteBranchFailure records a failed phase-two call of b (see
// store.branchFailed); status is the RM's answer, 0 when there was none.
func (c *coordinator) noteBranchFailure(ctx context.Context, b *branchTx, status protocol.BranchStatus, cause error) {
	msg := truncate(cause.Error(), maxLastErrorLen)
	if err := c.st.branchFailed(ctx, b.xid, b.branchID, status, msg); err != nil && ctx.Err() == nil {
		c.log.Debug("atcc/tc: could not record a branch's failure", slog.String("xid", b.xid),
			slog.Int64("branch_id", b.branchID), slog.Any("error", err))
	}
}

// errRMAnswered describes an RM's answer that is not a success.
func errRMAnswered(st protocol.BranchStatus, msg string) error {
	if msg == "" {
		return errors.New("the RM answered " + st.String())
	}
	return errors.New("the RM answered " + st.String() + ": " + msg)
}

package tc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// defaultTxTimeout is used when GlobalBegin asks for a timeout <= 0 (Java's
// TM default).
const defaultTxTimeout = 60 * time.Second

// Column sizes of the informational fields; longer values are cut (at a
// UTF-8 boundary), in both stores.
const (
	maxNameLen     = 256 // transaction_name
	maxAppIDLen    = 128 // application_id, transaction_service_group, resource_group_id
	maxClientIDLen = 256 // client_id
)

// maxConcurrentDrives bounds the transactions whose phase two runs in the
// background at once (async commits and retries); more wait in the store
// for the next scan.
const maxConcurrentDrives = 256

// claimBatch is how many due transactions one store query claims.
const claimBatch = 64

// purgeBatch is how many remembered ends one store query forgets.
const purgeBatch = 1000

// peer describes the client connection a request came from.
type peer struct {
	clientID string // applicationId:ip:port
	appID    string
	group    string // transaction service group
	addr     string // the remote ip:port, for logs
	// serves reports whether the session registered a resource as RM;
	// nil: not checked. An interface rather than a method value, which
	// would allocate per request (3 per AT transaction, atcc-bench).
	serves resourceServer
}

// resourceServer is what a peer's session registered (*rpc.ServerSession).
type resourceServer interface {
	HasResource(resourceID string) bool
}

// branchCaller delivers phase two to the RM that serves a branch.
type branchCaller interface {
	// phaseTwo sends BranchCommit (commit) or BranchRollback for b to a live
	// RM session of b's resource and returns the branch status the RM
	// answered. An error (no session, timeout, broken connection) means
	// the outcome is unknown and the call must be retried; it is a
	// *noSessionError when no session serves the resource.
	phaseTwo(ctx context.Context, commit bool, g *globalTx, b *branchTx) (protocol.BranchStatus, error)
}

// mergingCaller is a branchCaller that can also send the BranchCommits of
// several AT branches to one RM session as one merged request: the
// sessionIndex, for an atcc RM that announced it takes them
// (rpc.ServerSession.CallMerged). The async committer uses it.
type mergingCaller interface {
	branchCaller
	// mergeTarget returns the session phaseTwo would send the commit of b
	// to, when b is an AT branch and that session takes merged commits;
	// nil otherwise (no session, a Java or seata-go RM, a TCC branch).
	mergeTarget(b *branchTx) *rpc.ServerSession
	// commitMerged sends the commits of calls, 2 to
	// rpc.MaxMergedCommits whose branches all had target ss, as one
	// request, and sets each call's st and err as phaseTwo would have
	// for its branch. A failure of the merged request (timeout, lost
	// session) is every call's error.
	commitMerged(ctx context.Context, ss *rpc.ServerSession, calls []asyncCall)
}

// noSessionError: no live RM session serves the branch's resource.
type noSessionError struct {
	resourceID string
}

func (e *noSessionError) Error() string {
	return "atcc/tc: no RM session serves resource " + strconv.Quote(e.resourceID)
}

// coreConfig is the resolved configuration of a coordinator.
type coreConfig struct {
	advertise        string // host:port, the XID prefix; "" until setAdvertise
	owner            string // this instance, for leases
	retryPeriod      time.Duration
	backoffMax       time.Duration
	branchTimeout    time.Duration
	lease            time.Duration
	maxCommitRetry   time.Duration // <= 0: forever
	maxRollbackRetry time.Duration // <= 0: forever
	retention        time.Duration // <= 0: ended transactions are forgotten at once
	log              *slog.Logger
	now              func() time.Time
	limits           Limits              // zero fields: no limit
	shared           bool                // Config.SharedOwnership
	resourceApps     map[string][]string // Config.ResourceApplications; read-only
}

// coordinator is the transaction coordinator without its transport: it
// answers requests (begin, register, commit, ...) and drives phase two
// through a branchCaller. Requests may arrive concurrently.
//
// Lifecycle: newCoordinator, start (the scan loop), then shutdown or
// close. Phase two runs on c.ctx, not on a request's context: a TM that
// gives up waiting does not stop a commit that was decided.
type coordinator struct {
	cfg   coreConfig
	st    store
	calls branchCaller
	log   *slog.Logger

	advertise atomic.Pointer[string] // the XID prefix; nil until known
	// xidKey permutes the store's ids into XID ids; nil: they are used as
	// they are (tests of the core).
	xidKey atomic.Pointer[xidPermutation]

	async *asyncCommitter // background commits of AT transactions, batched

	open     *openTxs         // open transactions begun here, for the limits
	warn     *rateWarn        // refusals, rate-limited
	refusals refusals         // refusals by reason, for Stats
	obs      observe.Observer // nil: none; set before start

	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{} // one per running background drive
	kick   chan struct{} // wakes the scan loop
	wg     sync.WaitGroup
	loop   sync.WaitGroup

	mu       sync.Mutex
	closing  bool
	inflight map[string]struct{}            // xids driven by this process now
	waiting  map[string]map[string]struct{} // resource id -> xids waiting for a session
}

func newCoordinator(cfg coreConfig, st store, calls branchCaller) *coordinator {
	ctx, cancel := context.WithCancel(context.Background())
	c := &coordinator{
		cfg:      cfg,
		open:     newOpenTxs(cfg.limits),
		warn:     newRateWarn(cfg.log),
		st:       st,
		calls:    calls,
		log:      cfg.log,
		ctx:      ctx,
		cancel:   cancel,
		slots:    make(chan struct{}, maxConcurrentDrives),
		kick:     make(chan struct{}, 1),
		inflight: make(map[string]struct{}),
		waiting:  make(map[string]map[string]struct{}),
	}
	c.async = newAsyncCommitter(c)
	if cfg.advertise != "" {
		c.setAdvertise(cfg.advertise)
	}
	return c
}

// setAdvertise sets the host:port XIDs start with. A server learns it only
// once it listens; until then GlobalBegin is refused.
func (c *coordinator) setAdvertise(hostPort string) { c.advertise.Store(&hostPort) }

func (c *coordinator) nowMs() int64 { return c.cfg.now().UnixMilli() }

// begin starts a global transaction and returns its XID.
func (c *coordinator) begin(ctx context.Context, p peer, timeoutMs int32, name string) (string, error) {
	prefix := c.advertise.Load()
	if prefix == nil {
		return "", txErrorf(protocol.CodeBeginFailed, "the coordinator is starting")
	}
	if timeoutMs <= 0 {
		timeoutMs = int32(defaultTxTimeout / time.Millisecond)
	}
	if err := checkTimeout(timeoutMs, c.cfg.limits.MaxTimeout); err != nil {
		return "", c.refused(p, "GlobalBegin", err)
	}
	id, err := c.txID(ctx)
	if err != nil {
		return "", &txError{code: protocol.CodeBeginFailed, msg: "allocate transaction id", err: err}
	}
	now := c.nowMs()
	var buf [96]byte // one allocation for the XID, not two (atcc-bench)
	xid := string(strconv.AppendInt(append(append(buf[:0], *prefix...), ':'), id, 10))
	g := globalTx{
		xid:       xid,
		txID:      id,
		status:    protocol.GlobalBegin,
		appID:     truncate(p.appID, maxAppIDLen),
		group:     truncate(p.group, maxAppIDLen),
		name:      truncate(name, maxNameLen),
		timeoutMs: timeoutMs,
		beginTime: now,
		dueAt:     now + int64(timeoutMs),
	}
	if err := c.open.add(g.xid, g.appID, g.dueAt, now); err != nil {
		return "", c.refused(p, "GlobalBegin", err)
	}
	if err := c.st.insertGlobal(ctx, g); err != nil {
		c.open.done(g.xid)
		return "", &txError{code: protocol.CodeBeginFailed, msg: "store global transaction", err: err}
	}
	return g.xid, nil
}

// registerBranch adds a branch to a global transaction in status Begin and,
// for AT, takes its row locks.
func (c *coordinator) registerBranch(ctx context.Context, p peer, req *protocol.BranchRegisterRequest) (int64, error) {
	switch req.BranchType {
	case protocol.BranchAT, protocol.BranchTCC, protocol.BranchXA:
	default:
		return 0, txErrorf(protocol.CodeBranchRegisterFailed, "branch type %v is not supported by this coordinator", req.BranchType)
	}
	if req.ResourceID == "" {
		return 0, txErrorf(protocol.CodeBranchRegisterFailed, "empty resource id")
	}
	if n := utf8.RuneCountInString(req.ResourceID); n > maxResourceIDLen {
		return 0, txErrorf(protocol.CodeBranchRegisterFailed, "resource id %q is %d characters, more than %d", clip(req.ResourceID), n, maxResourceIDLen)
	}
	if len(req.ApplicationData) > maxApplicationDataLen {
		return 0, txErrorf(protocol.CodeBranchRegisterFailed, "application data is %d bytes, more than %d", len(req.ApplicationData), maxApplicationDataLen)
	}
	if apps, ok := c.cfg.resourceApps[req.ResourceID]; ok && !slices.Contains(apps, p.appID) {
		return 0, c.refused(p, "BranchRegister", txErrorf(protocol.CodeBranchRegisterFailed,
			"application %q may not register branches on resource %q (Config.ResourceApplications)", clip(p.appID), clip(req.ResourceID)))
	}
	if !c.cfg.shared && p.serves != nil && !p.serves.HasResource(req.ResourceID) {
		return 0, c.refused(p, "BranchRegister", txErrorf(protocol.CodeBranchRegisterFailed,
			"resource %q is not registered by this connection (RegisterRM first)", clip(req.ResourceID)))
	}
	var locks []rowLock
	if req.BranchType == protocol.BranchAT {
		if err := checkLockKey(req.LockKey, c.cfg.limits); err != nil {
			return 0, c.refused(p, "BranchRegister", err)
		}
		var err error
		if locks, err = parseLockKey(req.ResourceID, req.LockKey); err != nil {
			return 0, err
		}
	}
	id, err := c.st.nextID(ctx)
	if err != nil {
		return 0, storeError("allocate branch id", err)
	}
	b := branchTx{
		branchID:      id,
		xid:           req.XID,
		resourceGroup: truncate(p.group, maxAppIDLen),
		resourceID:    req.ResourceID,
		branchType:    req.BranchType,
		status:        protocol.BranchRegistered,
		clientID:      truncate(p.clientID, maxClientIDLen),
		appData:       req.ApplicationData,
	}
	b.txID, _ = txIDOf(req.XID)
	if err = c.st.registerBranch(ctx, b, locks); err == nil {
		return id, nil
	}
	// Declared after the success return: errors.As makes them escape, 2
	// allocations per registration (atcc-bench).
	var na *notActiveError
	var lc *lockConflictError
	switch {
	case errors.Is(err, errNoGlobal):
		return 0, txErrorf(protocol.CodeGlobalTransactionNotExist, "could not find global transaction xid = %s, it may have finished", req.XID)
	case errors.As(err, &na):
		return 0, txErrorf(protocol.CodeGlobalTransactionNotActive, "could not register branch into global transaction xid = %s status = %v: it is not active", req.XID, na.status)
	case errors.As(err, &lc):
		code := protocol.CodeLockKeyConflict
		if lc.holderRollingBack && !autoCommit(req.ApplicationData) {
			code = protocol.CodeLockKeyConflictFailFast
		}
		return 0, &txError{code: code, msg: "global lock acquire failed xid = " + req.XID, err: lc}
	default:
		return 0, storeError("register branch", err)
	}
}

// autoCommit reads the "autoCommit" flag a Java AT RM puts in a branch's
// application data ({"autoCommit":false}); it defaults to true.
func autoCommit(appData string) bool {
	if appData == "" {
		return true
	}
	var v struct {
		AutoCommit *bool `json:"autoCommit"`
	}
	if json.Unmarshal([]byte(appData), &v) != nil || v.AutoCommit == nil {
		return true
	}
	return *v.AutoCommit
}

// txIDOf parses the transaction id after the last ':' of an XID, as Java
// does.
func txIDOf(xid string) (int64, bool) {
	for i := len(xid) - 1; i >= 0; i-- {
		if xid[i] == ':' {
			id, err := strconv.ParseInt(xid[i+1:], 10, 64)
			return id, err == nil
		}
	}
	return 0, false
}

// reportBranch records a branch's phase-one outcome.
func (c *coordinator) reportBranch(ctx context.Context, req *protocol.BranchReportRequest) error {
	switch req.Status {
	case protocol.BranchRegistered, protocol.PhaseOneDone, protocol.PhaseOneFailed,
		protocol.PhaseOneTimeout, protocol.PhaseOneRDOnly:
	default:
		return txErrorf(protocol.CodeBranchReportFailed, "a branch can only report a phase-one status, not %v", req.Status)
	}
	if len(req.ApplicationData) > maxApplicationDataLen {
		return txErrorf(protocol.CodeBranchReportFailed, "application data is %d bytes, more than %d", len(req.ApplicationData), maxApplicationDataLen)
	}
	err := c.st.reportBranch(ctx, req.XID, req.BranchID, req.Status, req.ApplicationData)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoGlobal):
		return txErrorf(protocol.CodeGlobalTransactionNotExist, "could not find global transaction xid = %s, it may have finished", req.XID)
	case errors.Is(err, errNoBranch):
		return txErrorf(protocol.CodeBranchTransactionNotExist, "could not find branch %d of global transaction xid = %s", req.BranchID, req.XID)
	default:
		return storeError("report branch", err)
	}
}

// lockQuery reports whether the rows of an AT lock key are free for xid
// (held by nobody or by xid itself). Other branch types take no locks and
// are always lockable, as in Java.
func (c *coordinator) lockQuery(ctx context.Context, req *protocol.GlobalLockQueryRequest) (bool, error) {
	if req.BranchType != protocol.BranchAT {
		return true, nil
	}
	locks, err := parseLockKey(req.ResourceID, req.LockKey)
	if err != nil {
		var te *txError
		if errors.As(err, &te) {
			te.code = protocol.CodeLockableCheckFailed
		}
		return false, err
	}
	ok, err := c.st.lockable(ctx, req.XID, locks)
	if err != nil {
		return false, &txError{code: protocol.CodeLockableCheckFailed, msg: "query locks", err: err}
	}
	return ok, nil
}

// status returns the status of a transaction; Finished when it is unknown
// (never existed, or ended longer ago than the retention), as Java does.
func (c *coordinator) status(ctx context.Context, xid string) (protocol.GlobalStatus, error) {
	g, err := c.st.global(ctx, xid)
	switch {
	case err == nil:
		return g.status, nil
	case errors.Is(err, errNoGlobal):
		return protocol.GlobalFinished, nil
	default:
		return protocol.GlobalUnknown, storeError("read global transaction", err)
	}
}

// globalReport answers GlobalReport. Java acts on it only for SAGA
// transactions, which this coordinator does not run; for the others it
// changes nothing and answers the current status, or the reported one when
// the transaction is unknown. So does this.
func (c *coordinator) globalReport(ctx context.Context, xid string, reported protocol.GlobalStatus) (protocol.GlobalStatus, error) {
	g, err := c.st.global(ctx, xid)
	switch {
	case err == nil:
		return g.status, nil
	case errors.Is(err, errNoGlobal):
		if reported == protocol.GlobalStatusUnset || int(reported) > int(protocol.GlobalRollbackRetryTimeout) {
			return protocol.GlobalFinished, nil
		}
		return reported, nil
	default:
		return protocol.GlobalUnknown, storeError("read global transaction", err)
	}
}

// needsPhaseTwo reports whether the RM must be called for b in phase two. A
// branch whose phase one failed or was read-only has nothing to commit or
// undo; it is dropped without a call, as Java does.
func needsPhaseTwo(b *branchTx) bool {
	return b.status != protocol.PhaseOneFailed && b.status != protocol.PhaseOneRDOnly
}

// commit answers GlobalCommit. A transaction whose branches are all AT is
// committed asynchronously: its locks are released, Committed is answered,
// and BranchCommit is sent in the background. Otherwise phase two runs
// before the answer. A transaction past its deadline is rolled back
// instead. An unknown transaction gets Finished; one that is no longer in
// Begin gets its current status (AsyncCommitting reads as Committed).
func (c *coordinator) commit(ctx context.Context, xid string) (protocol.GlobalStatus, error) {
	return c.endAs(ctx, "", xid, true)
}

// endAs answers GlobalCommit (commit) or GlobalRollback for the
// application app: errNotOwner when the transaction is another
// application's; "" skips the check.
func (c *coordinator) endAs(ctx context.Context, app, xid string, commit bool) (protocol.GlobalStatus, error) {
	if commit {
		return c.commitApp(ctx, app, xid)
	}
	return c.rollbackApp(ctx, app, xid)
}

func (c *coordinator) commitApp(ctx context.Context, app, xid string) (protocol.GlobalStatus, error) {
	now := c.nowMs()
	end := c.endChange(protocol.GlobalCommitted, now)
	end.ifApp = app
	if ok, err := c.st.endEmpty(ctx, xid, now, end); err == nil && ok {
		c.open.done(xid)
		c.noteEnd(xid, "", protocol.GlobalCommitted, 0)
		return protocol.GlobalCommitted, nil
	}
	g, v, err := c.st.endGlobal(ctx, xid, c.endRule(true, app, now))
	if err != nil {
		return c.failedStatus(ctx, xid, err, "commit")
	}
	if v.foreign {
		return protocol.GlobalUnknown, errNotOwner
	}
	c.open.done(xid)
	if !v.decided {
		// Decided before: report where the transaction is.
		if g.status == protocol.GlobalAsyncCommitting {
			return protocol.GlobalCommitted, nil
		}
		return g.status, nil
	}
	switch g.status {
	case protocol.GlobalAsyncCommitting:
		c.commitInBackground(g)
		return protocol.GlobalCommitted, nil
	case protocol.GlobalCommitting, protocol.GlobalTimeoutRollbacking:
		return c.driveNow(g), nil
	default: // Committed: there was nothing to do in phase two
		c.noteEnd(g.xid, g.name, g.status, g.beginTime)
		return g.status, nil
	}
}

// rollback answers GlobalRollback: phase two runs before the answer, in
// reverse registration order. An unknown transaction gets Finished; one
// that is no longer in Begin gets its current status.
func (c *coordinator) rollback(ctx context.Context, xid string) (protocol.GlobalStatus, error) {
	return c.endAs(ctx, "", xid, false)
}

func (c *coordinator) rollbackApp(ctx context.Context, app, xid string) (protocol.GlobalStatus, error) {
	now := c.nowMs()
	end := c.endChange(protocol.GlobalRollbacked, now)
	end.ifApp = app
	if ok, err := c.st.endEmpty(ctx, xid, now, end); err == nil && ok {
		c.open.done(xid)
		c.noteEnd(xid, "", protocol.GlobalRollbacked, 0)
		return protocol.GlobalRollbacked, nil
	}
	g, v, err := c.st.endGlobal(ctx, xid, c.endRule(false, app, now))
	if err != nil {
		return c.failedStatus(ctx, xid, err, "rollback")
	}
	if v.foreign {
		return protocol.GlobalUnknown, errNotOwner
	}
	c.open.done(xid)
	if !v.decided {
		return g.status, nil
	}
	return c.driveNow(g), nil
}

// failedStatus turns an endGlobal error into GlobalCommit/Rollback's
// answer: Finished for an unknown transaction, else a failure.
func (c *coordinator) failedStatus(ctx context.Context, xid string, err error, op string) (protocol.GlobalStatus, error) {
	if errors.Is(err, errNoGlobal) {
		return protocol.GlobalFinished, nil
	}
	st := protocol.GlobalUnknown
	if g, gerr := c.st.global(ctx, xid); gerr == nil {
		st = g.status
	}
	return st, storeError(op, err)
}

// endChange is the change into a successful end at now.
// endRule is how commitApp (commit) or rollbackApp ends a transaction of
// the application app ("" for any) at now.
func (c *coordinator) endRule(commit bool, app string, now int64) endRule {
	return endRule{commit: commit, app: app, now: now, lease: now + c.cfg.lease.Milliseconds(),
		owner: c.cfg.owner, ended: c.endChange(protocol.GlobalCommitted, now)}
}

func (c *coordinator) endChange(to protocol.GlobalStatus, now int64) change {
	ch := change{status: to}
	if c.cfg.retention > 0 {
		ch.dueAt = now + c.cfg.retention.Milliseconds()
	}
	return ch
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

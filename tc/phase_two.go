package tc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Phase two. A coordinator drives a transaction only while it owns it: the
// store records the owner and a lease (dueAt), and every write is a
// compare-and-set on (status, owner). A driver that loses its lease (it was
// too slow and another coordinator claimed the transaction) notices at its
// next write and stops. The RM therefore sees each branch's phase two at
// least once, possibly more than once, and must be idempotent, which every
// Seata RM is (the undo log and the TCC fence are keyed by xid and branch).
//
// Commit calls every branch, in registration order, and retries the ones
// that failed. Rollback calls the branches in reverse registration order and
// stops at the first failure, so a later branch that changed the same row as
// an earlier one is undone first. Each finished branch is removed from the
// store, with its row locks, before the next is called; a retry starts with
// the branches that remain.

// driveNow runs phase two of g, which this coordinator owns, on the calling
// goroutine and returns the status it left g in.
func (c *coordinator) driveNow(g globalTx) protocol.GlobalStatus {
	if !c.enter(g.xid, false) {
		return g.status
	}
	defer c.leave(g.xid)
	return c.drive(c.ctx, g)
}

// driveInBackground runs phase two of g, which this coordinator owns, on a
// new goroutine, or hands it back to the store (due now) when too many run
// already or the coordinator is closing.
func (c *coordinator) driveInBackground(g globalTx) {
	select {
	case c.slots <- struct{}{}:
	default:
		c.release(g)
		return
	}
	if !c.enter(g.xid, true) {
		<-c.slots
		if c.isClosing() {
			c.release(g)
		} // else driven here already
		return
	}
	go func() {
		defer func() {
			c.leave(g.xid)
			<-c.slots
		}()
		c.drive(c.ctx, g)
	}()
}

// commitInBackground commits g, an AT transaction in status AsyncCommitting
// that this coordinator owns, with the next batch of the async committer;
// when the committer cannot take it, as any background phase two.
func (c *coordinator) commitInBackground(g globalTx) {
	if !c.enter(g.xid, true) {
		if c.isClosing() {
			c.release(g)
		}
		return
	}
	if !c.async.add(g) {
		c.leave(g.xid)
		c.driveInBackground(g)
	}
}

// enter marks xid as driven by this process; false if it already is, or if
// background is set and the coordinator is closing.
func (c *coordinator) enter(xid string, background bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, busy := c.inflight[xid]; busy || background && c.closing {
		return false
	}
	c.inflight[xid] = struct{}{}
	return true
}

func (c *coordinator) leave(xid string) {
	c.mu.Lock()
	delete(c.inflight, xid)
	c.mu.Unlock()
}

// release gives up ownership of g and makes it due now, so the next scan (of
// any coordinator) picks it up.
func (c *coordinator) release(g globalTx) {
	ch := change{status: g.status, dueAt: c.nowMs(), attempts: g.attempts}
	if _, err := c.st.transition(c.ctx, g.xid, g.status, c.cfg.owner, ch); err != nil && c.ctx.Err() == nil {
		c.log.Warn("atcc/tc: could not hand a transaction back to the store; it is retried when its lease ends",
			slog.String("xid", g.xid), slog.Any("error", err))
	}
}

func (c *coordinator) drive(ctx context.Context, g globalTx) protocol.GlobalStatus {
	switch {
	case isCommitPhase(g.status):
		return c.driveCommit(ctx, &g)
	case isRollbackPhase(g.status):
		return c.driveRollback(ctx, &g)
	}
	return g.status
}

func (c *coordinator) driveCommit(ctx context.Context, g *globalTx) protocol.GlobalStatus {
	if c.retryTimedOut(g, c.cfg.maxCommitRetry) {
		return c.end(ctx, g, protocol.GlobalCommitRetryTimeout, nil, "commit retries timed out (MaxCommitRetryTimeout)")
	}
	next := g.status
	if next == protocol.GlobalCommitting {
		next = protocol.GlobalCommitRetrying
	}
	bs, err := c.st.branches(ctx, g.xid)
	if err != nil {
		return c.retryLater(ctx, g, next, fmt.Errorf("load branches: %w", err))
	}
	var pending error
	for i := range bs {
		b := &bs[i]
		if needsPhaseTwo(b) {
			if !c.keepLease(ctx, g) {
				return c.currentStatus(ctx, g)
			}
			st, err := c.calls.phaseTwo(ctx, true, g, b)
			switch {
			case err != nil:
				c.noteWaiting(g.xid, err)
				c.noteBranchFailure(ctx, b, 0, err)
				pending = fmt.Errorf("branch %d: %w", b.branchID, err)
				continue
			case st == protocol.PhaseTwoCommitted:
			case st == protocol.PhaseTwoCommitFailedUnretryable:
				c.noteBranchFailure(ctx, b, st, errRMAnswered(st, b.rmMsg))
				return c.end(ctx, g, protocol.GlobalCommitFailed, b, "a branch cannot be committed (PhaseTwo_CommitFailed_Unretryable)")
			default:
				c.noteBranchFailure(ctx, b, st, errRMAnswered(st, b.rmMsg))
				pending = fmt.Errorf("branch %d: the RM answered %v", b.branchID, st)
				continue
			}
		}
		if err := c.st.removeBranch(ctx, g.xid, b.branchID, false); err != nil {
			pending = fmt.Errorf("remove branch %d: %w", b.branchID, err)
		}
	}
	if pending != nil {
		return c.retryLater(ctx, g, next, pending)
	}
	return c.end(ctx, g, protocol.GlobalCommitted, nil, "")
}

func (c *coordinator) driveRollback(ctx context.Context, g *globalTx) protocol.GlobalStatus {
	timeout := isTimeoutRollback(g.status)
	if c.retryTimedOut(g, c.cfg.maxRollbackRetry) {
		return c.end(ctx, g, protocol.GlobalRollbackRetryTimeout, nil, "rollback retries timed out (MaxRollbackRetryTimeout); row locks are kept")
	}
	next, done, failed := protocol.GlobalRollbackRetrying, protocol.GlobalRollbacked, protocol.GlobalRollbackFailed
	if timeout {
		next, done, failed = protocol.GlobalTimeoutRollbackRetrying, protocol.GlobalTimeoutRollbacked, protocol.GlobalTimeoutRollbackFailed
	}
	bs, err := c.st.branches(ctx, g.xid)
	if err != nil {
		return c.retryLater(ctx, g, next, fmt.Errorf("load branches: %w", err))
	}
	for i := len(bs) - 1; i >= 0; i-- {
		b := &bs[i]
		if needsPhaseTwo(b) {
			if !c.keepLease(ctx, g) {
				return c.currentStatus(ctx, g)
			}
			st, err := c.calls.phaseTwo(ctx, false, g, b)
			switch {
			case err != nil:
				c.noteWaiting(g.xid, err)
				c.noteBranchFailure(ctx, b, 0, err)
				return c.retryLater(ctx, g, next, fmt.Errorf("branch %d: %w", b.branchID, err))
			case st == protocol.PhaseTwoRollbacked:
			case st == protocol.PhaseTwoRollbackFailedUnretryable:
				c.noteBranchFailure(ctx, b, st, errRMAnswered(st, b.rmMsg))
				return c.end(ctx, g, failed, b, "a branch cannot be rolled back (PhaseTwo_RollbackFailed_Unretryable); its row locks and those of the branches before it are kept")
			default:
				c.noteBranchFailure(ctx, b, st, errRMAnswered(st, b.rmMsg))
				return c.retryLater(ctx, g, next, fmt.Errorf("branch %d: the RM answered %v", b.branchID, st))
			}
		}
		if err := c.st.removeBranch(ctx, g.xid, b.branchID, b.branchType == protocol.BranchAT); err != nil {
			return c.retryLater(ctx, g, next, fmt.Errorf("remove branch %d: %w", b.branchID, err))
		}
	}
	return c.end(ctx, g, done, nil, "")
}

// retryTimedOut reports whether g, which failed before, has been retried
// for longer than max since it began (Java measures from the begin time
// too). max <= 0 means retry forever.
func (c *coordinator) retryTimedOut(g *globalTx, max time.Duration) bool {
	return max > 0 && g.attempts > 0 && c.nowMs() >= g.beginTime+max.Milliseconds()
}

// keepLease renews this coordinator's lease on g when less than half of it
// is left, so that it cannot run out during the next branch call. false
// means the lease was lost (or could not be renewed): stop driving g.
func (c *coordinator) keepLease(ctx context.Context, g *globalTx) bool {
	now := c.nowMs()
	lease := c.cfg.lease.Milliseconds()
	if g.dueAt-now > lease/2 {
		return true
	}
	due := now + lease
	ok, err := c.st.transition(ctx, g.xid, g.status, c.cfg.owner, change{status: g.status, owner: c.cfg.owner, dueAt: due, attempts: g.attempts})
	if err != nil || !ok {
		return false
	}
	g.dueAt = due
	return true
}

// end moves g into an end status. A failed end is logged as needing an
// operator; b is the branch that caused it, if any.
func (c *coordinator) end(ctx context.Context, g *globalTx, to protocol.GlobalStatus, b *branchTx, reason string) protocol.GlobalStatus {
	ch := change{status: to}
	if isSuccessEnd(to) {
		ch = c.endChange(to, c.nowMs())
	}
	ok, err := c.st.transition(ctx, g.xid, g.status, c.cfg.owner, ch)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("atcc/tc: could not record the end of a transaction; it is driven again when the lease ends",
				slog.String("xid", g.xid), slog.String("status", to.String()), slog.Any("error", err))
		}
		return g.status
	}
	if !ok {
		return c.currentStatus(ctx, g)
	}
	if isFailedEnd(to) {
		attrs := []any{slog.String("xid", g.xid), slog.String("status", to.String()), slog.String("reason", reason)}
		if b != nil {
			attrs = append(attrs, slog.Int64("branch_id", b.branchID), slog.String("resource_id", b.resourceID),
				slog.String("branch_type", b.branchType.String()), slog.String("client_id", b.clientID))
		}
		c.log.Error("atcc/tc: global transaction needs manual action", attrs...)
	}
	g.status, g.owner, g.dueAt = to, "", ch.dueAt
	c.noteEnd(g.xid, g.name, to, g.beginTime)
	return to
}

// retryLater gives g up until its next attempt, in status next, after a
// backoff that doubles with each failed attempt.
func (c *coordinator) retryLater(ctx context.Context, g *globalTx, next protocol.GlobalStatus, cause error) protocol.GlobalStatus {
	attempts := g.attempts + 1
	due := c.nowMs() + c.backoff(attempts).Milliseconds()
	ok, err := c.st.transition(ctx, g.xid, g.status, c.cfg.owner, change{status: next, dueAt: due, attempts: attempts})
	if err != nil || ctx.Err() != nil {
		// Left owned by this coordinator; the lease ends, or Close hands
		// it back.
		return g.status
	}
	if !ok {
		return c.currentStatus(ctx, g)
	}
	level := slog.LevelDebug
	if attempts == 1 {
		level = slog.LevelWarn
	}
	c.log.Log(ctx, level, "atcc/tc: phase two failed; will retry",
		slog.String("xid", g.xid), slog.String("status", next.String()), slog.Int("attempts", int(attempts)), slog.Any("error", cause))
	g.status, g.owner, g.dueAt, g.attempts = next, "", due, attempts
	return next
}

// backoff is the wait before attempt number attempts+1: RetryPeriod,
// doubled per failed attempt, at most the configured maximum.
func (c *coordinator) backoff(attempts int32) time.Duration {
	d := c.cfg.retryPeriod
	for i := int32(1); i < attempts && d < c.cfg.backoffMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.backoffMax)
}

// currentStatus re-reads g's status after this coordinator lost it.
func (c *coordinator) currentStatus(ctx context.Context, g *globalTx) protocol.GlobalStatus {
	cur, err := c.st.global(ctx, g.xid)
	if err != nil {
		if errors.Is(err, errNoGlobal) {
			return protocol.GlobalFinished
		}
		return g.status
	}
	return cur.status
}

// noteWaiting remembers that xid waits for an RM session when err says no
// session serves a branch's resource, so that the session's registration
// triggers the retry.
func (c *coordinator) noteWaiting(xid string, err error) {
	var ns *noSessionError
	if !errors.As(err, &ns) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waiting[ns.resourceID]
	if w == nil {
		if len(c.waiting) >= maxWaitingResources {
			return // the periodic retries still get there
		}
		w = make(map[string]struct{})
		c.waiting[ns.resourceID] = w
	}
	if len(w) < maxWaitingPerResource {
		w[xid] = struct{}{}
	}
}

// Bounds of the waiting-for-a-session index; past them, transactions are
// found by the periodic scan only.
const (
	maxWaitingResources   = 10_000
	maxWaitingPerResource = 10_000
)

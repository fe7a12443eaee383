package tcc

import (
	"context"
	"fmt"

	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// BranchCommit runs the action's Confirm for a branch of a committed global
// transaction, implementing rm.Resource; the resource manager calls it when
// the coordinator asks. The parameters come from b.ApplicationData, so any
// Participant of the action can serve it. It answers PhaseTwoCommitted
// when Confirm returns nil (or, with a fence, when the branch was already
// committed), PhaseTwoCommitFailedUnretryable for an error built with
// Unretryable (or a fence row that forbids the commit, ErrFenceState),
// and PhaseTwoCommitFailedRetryable for any other error.
func (p *Participant) BranchCommit(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	return p.phaseTwo(ctx, b, true)
}

// BranchRollback runs the action's Cancel for a branch of a rolled-back
// global transaction, implementing rm.Resource, like BranchCommit runs
// Confirm. With a fence, a branch whose Try has not committed is answered
// PhaseTwoRollbacked without calling Cancel (empty rollback), and so is a
// branch already rolled back.
func (p *Participant) BranchRollback(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	return p.phaseTwo(ctx, b, false)
}

// phaseTwo serves BranchCommit (commit) or BranchRollback.
func (p *Participant) phaseTwo(ctx context.Context, b rm.BranchRequest, commit bool) (protocol.BranchStatus, error) {
	op, fn := "cancel", p.action.Cancel
	if commit {
		op, fn = "confirm", p.action.Confirm
	}
	view, err := decodeContext(b.ApplicationData)
	if err != nil {
		return phaseStatus(commit, fmt.Errorf("atcc/tcc: %s of %s branch %d of %s: %w", op, p.name, b.BranchID, b.XID, err))
	}
	ac := &ActionContext{
		XID: b.XID, BranchID: b.BranchID, ActionName: p.name, Params: view,
		Retry: p.attempts.mark(attemptKey{b.XID, b.BranchID, commit}),
	}
	if p.fence == nil {
		return phaseStatus(commit, fn(ctx, ac))
	}
	var skipped bool
	if commit {
		skipped, err = p.fence.confirm(ctx, ac, fn)
	} else {
		skipped, err = p.fence.cancel(ctx, ac, fn)
	}
	if skipped {
		p.log.Debug("atcc/tcc: "+op+" not called: the fence says it is done or has nothing to do",
			"xid", b.XID, "branch_id", b.BranchID)
	}
	return phaseStatus(commit, err)
}

package tm

import (
	"context"
	"time"

	"github.com/atcc-go/atcc/observe"
)

// txObs is what a launcher GlobalTx keeps for its Observer: the context
// the GlobalTx operation started with, and the operation.
type txObs struct {
	ctx context.Context
	op  observe.Op
}

// startTx starts the GlobalTx operation of a launcher begun at start and
// returns the context its work runs with.
func (m *Manager) startTx(ctx context.Context, tx *GlobalTx, name string, start time.Time) context.Context {
	op := observe.Op{Kind: observe.GlobalTx, Start: start, XID: tx.xid, Name: name}
	ctx = m.obs.Start(ctx, op)
	tx.obs = &txObs{ctx: ctx, op: op}
	return ctx
}

// endTx ends the GlobalTx operation with the outcome of Commit (commit) or
// Rollback.
func (tx *GlobalTx) endTx(commit bool, err error) {
	op := tx.obs.op
	op.Err = err
	switch {
	case commit && err == nil:
		op.Result = observe.ResultCommitted
	case commit:
		op.Result = observe.ResultCommitFailed
	case err == nil:
		op.Result = observe.ResultRolledBack
	default:
		op.Result = observe.ResultRollbackFailed
	}
	tx.m.obs.End(tx.obs.ctx, op)
}

// startEnd starts the GlobalCommit (commit) or GlobalRollback operation.
func (m *Manager) startEnd(ctx context.Context, xid string, commit bool) (context.Context, observe.Op) {
	op := observe.Op{Kind: observe.GlobalRollback, Start: time.Now(), XID: xid}
	if commit {
		op.Kind = observe.GlobalCommit
	}
	return m.obs.Start(ctx, op), op
}

// endOp ends op with err's outcome.
func (m *Manager) endOp(ctx context.Context, op observe.Op, err error) {
	op.Err, op.Result = err, observe.ResultOK
	if err != nil {
		op.Result = observe.ResultError
	}
	m.obs.End(ctx, op)
}

// conflictRetry reports that WithGlobalTx runs a transaction again.
func (m *Manager) conflictRetry(ctx context.Context, name string) {
	if name == "" {
		name = defaultName
	}
	m.obs.Event(ctx, observe.Op{Kind: observe.ConflictRetry, Start: time.Now(), Name: name})
}

package tm

import (
	"context"
	"errors"
)

// WithGlobalTx runs fn inside a global transaction begun (or joined, or
// suspended) with Begin(ctx, opts), passing fn the context Begin returns.
// When fn returns nil, WithGlobalTx commits and returns Commit's error.
// When fn returns an error, it rolls back and returns fn's error, joined
// (errors.Join) with the rollback's error if the rollback fails. When fn
// panics, it rolls back, logs a failed rollback, and lets the panic go on
// unchanged (it is never turned into an error).
//
// # fn may run more than once
//
// Like Cloud Spanner's ReadWriteTransaction, WithGlobalTx retries the
// whole transaction when it lost a race with another one: when fn fails
// with an error matching ErrConflict (another global transaction held a
// row's global lock for too long, the database ended a statement with a
// deadlock or a lock wait timeout), WithGlobalTx rolls the global
// transaction back, pauses (a jittered backoff, starting at a few
// milliseconds and doubling up to 250 ms) and calls fn again in a new
// global transaction with a new XID. Keep side effects that are not part
// of the transaction (messages sent, caches filled, counters bumped) out
// of fn, or make them idempotent; and build fn's results inside fn, not
// by appending to a slice that outlives one attempt.
//
// It retries only when that is provably safe: this call began the global
// transaction (RoleLauncher: not when it joined an upstream XID as a
// participant, whose launcher decides), fn failed before commit, and the
// rollback succeeded. Commit's errors are never retried. At most
// opts.ConflictRetries retries run (default DefaultConflictRetries; a
// negative value turns retrying off, and fn's conflict is returned at once
// and as is); when the last attempt fails on a conflict, or ctx ends
// during a pause, the error is a *ConflictError that counts the attempts
// and unwraps to the last one's error.
//
// Only a launcher (RoleLauncher) commits or rolls back at the coordinator;
// as a participant WithGlobalTx just runs fn and returns its error, which
// must reach the launcher.
//
// The rollback runs even when ctx has been canceled (fn often fails
// because of that): it uses a context detached from ctx's cancellation,
// bounded by the transaction timeout, after which the coordinator rolls
// the transaction back by itself anyway.
func (m *Manager) WithGlobalTx(ctx context.Context, opts TxOptions, fn func(ctx context.Context) error) error {
	retries := opts.conflictRetries()
	for attempt := 1; ; attempt++ {
		again, err := m.attempt(ctx, opts, fn)
		if !again || retries == 0 {
			return err
		}
		if attempt > retries {
			return &ConflictError{Attempts: attempt, Err: err}
		}
		m.log.Debug("atcc/tm: conflict, running the global transaction again", "name", opts.Name, "attempt", attempt, "err", err)
		if m.obs != nil {
			m.conflictRetry(ctx, opts.Name)
		}
		if !awaitRetry(ctx, attempt) {
			return &ConflictError{Attempts: attempt, Err: errors.Join(err, context.Cause(ctx))}
		}
	}
}

// attempt runs fn once in a global transaction (see WithGlobalTx) and
// returns whether the transaction may run again (it was begun here, fn
// failed on a conflict, and the rollback succeeded) and its outcome.
func (m *Manager) attempt(ctx context.Context, opts TxOptions, fn func(ctx context.Context) error) (again bool, err error) {
	txCtx, tx, err := m.Begin(ctx, opts)
	if err != nil {
		return false, err
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked (or called runtime.Goexit): roll back and let the
		// panic continue; recover is not called, so the stack is kept.
		if err := tx.rollbackDetached(txCtx); err != nil {
			m.log.Error("atcc/tm: rollback after panic failed", "xid", tx.xid, "err", err)
		}
	}()
	fnErr := fn(txCtx)
	returned = true
	if fnErr != nil {
		if err := tx.rollbackDetached(txCtx); err != nil {
			return false, errors.Join(fnErr, err)
		}
		return tx.role == RoleLauncher && errors.Is(fnErr, ErrConflict), fnErr
	}
	// txCtx is ctx with the transaction's values (an Observer's span).
	return false, tx.Commit(txCtx)
}

// rollbackDetached rolls back with a context that keeps ctx's values but
// not its cancellation, bounded by the transaction timeout.
func (tx *GlobalTx) rollbackDetached(ctx context.Context) error {
	if tx.role != RoleLauncher {
		return tx.Rollback(ctx)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tx.timeout)
	defer cancel()
	return tx.Rollback(rctx)
}

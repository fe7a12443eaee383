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
// Only a launcher (RoleLauncher) commits or rolls back at the coordinator;
// as a participant WithGlobalTx just runs fn and returns its error, which
// must reach the launcher.
//
// The rollback runs even when ctx has been canceled (fn often fails
// because of that): it uses a context detached from ctx's cancellation,
// bounded by the transaction timeout, after which the coordinator rolls
// the transaction back by itself anyway.
func (m *Manager) WithGlobalTx(ctx context.Context, opts TxOptions, fn func(ctx context.Context) error) error {
	txCtx, tx, err := m.Begin(ctx, opts)
	if err != nil {
		return err
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked (or called runtime.Goexit): roll back and let the
		// panic continue; recover is not called, so the stack is kept.
		if err := tx.rollbackDetached(ctx); err != nil {
			m.log.Error("atcc/tm: rollback after panic failed", "xid", tx.xid, "err", err)
		}
	}()
	fnErr := fn(txCtx)
	returned = true
	if fnErr != nil {
		if err := tx.rollbackDetached(ctx); err != nil {
			return errors.Join(fnErr, err)
		}
		return fnErr
	}
	return tx.Commit(ctx)
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

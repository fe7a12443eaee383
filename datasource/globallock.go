package datasource

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
)

type globalLockKey struct{}

// WithGlobalLock returns a copy of ctx that runs statements in GlobalLock
// mode when it carries no XID: work that is not part of any global
// transaction but must not read or overwrite rows that a global transaction
// has changed and not yet committed or rolled back. In this mode a local
// transaction (or a single autocommit statement) collects the keys of the rows
// it writes and of the rows its SELECT ... FOR UPDATE statements lock, and
// asks the coordinator whether any global transaction holds them: locking
// reads ask at once, writes just before the local COMMIT. While they are held
// it waits (Config.LockRetryInterval, Config.LockRetries), then rolls back
// with a *LockConflictError. Nothing is registered and no undo log is written.
// An XID in ctx takes precedence over GlobalLock mode.
func WithGlobalLock(ctx context.Context) context.Context {
	return context.WithValue(ctx, globalLockKey{}, true)
}

func hasGlobalLock(ctx context.Context) bool {
	v, _ := ctx.Value(globalLockKey{}).(bool)
	return v
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Waiting for a global lock while holding local ones.
//
// A local transaction that needs a row's global lock (at COMMIT, to
// register its branch; for SELECT ... FOR UPDATE; in GlobalLock mode) has
// already locked the row in the database. The global transaction holding
// the global lock may need that very row to roll back (its undo), or to run
// a statement in another of its branches: while the waiter holds on, the
// holder's rollback blocks on the row and fails with a lock wait timeout,
// and the waiter waits for a lock that cannot be released. So the waiter
// holds its local locks only briefly:
//
//   - it asks again at most Config.LockRetries times, Config.LockRetryInterval
//     apart, and not once LockRetries × LockRetryInterval have passed
//     however slowly the coordinator answers (by default 20 × 1 ms, enough
//     for a holder that is committing: its locks go with its GlobalCommit);
//     at COMMIT the first attempt goes while the after images are read, and
//     the read is the pause before the first repeat;
//   - it gives up at once when the coordinator answers
//     LockKeyConflictFailFast: the holder is rolling back and needs the
//     rows (a branch registers with {"autoCommit":false}, as Java's AT RM
//     does when it holds local locks, which asks the coordinator for this
//     answer);
//   - giving up rolls the local transaction back (at COMMIT; a statement's
//     caller rolls it back on the error) and returns a *LockConflictError,
//     which matches tm.ErrConflict: tm.Manager.WithGlobalTx rolls the
//     global transaction back and runs it again after a jittered backoff,
//     holding no locks while it waits.

// appDataHoldsLocks is a branch's application data: it tells the
// coordinator that the branch holds local row locks while it waits for
// global ones (see above).
const appDataHoldsLocks = `{"autoCommit":false}`

// awaitLocks asks the coordinator whether the rows of keys are free of
// other global transactions' locks (xid's own are fine; xid is "" in
// GlobalLock mode), asking again per lockWait while they are not.
func (r *resource) awaitLocks(ctx context.Context, xid, keys string) error {
	b := rm.Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: r.id, LockKeys: keys}
	w := r.lockWait()
	for {
		free, err := r.client.RM().LockQuery(ctx, b)
		if err != nil {
			return err
		}
		if free {
			return nil
		}
		ok, err := w.again(ctx, true)
		if err != nil {
			return err
		}
		if !ok {
			return &LockConflictError{LockKeys: keys}
		}
	}
}

// register registers a branch of xid holding the rows of keys, asking
// again per lockWait while another global transaction holds one of them.
func (r *resource) register(ctx context.Context, xid, keys string) (int64, error) {
	id, conflict, err := r.registerAttempt(ctx, xid, keys)
	if !conflict {
		return id, err
	}
	return r.registerAgain(ctx, xid, keys, err, true)
}

// registerAgain goes on with a registration whose first attempt met a
// conflict (err). It pauses Config.LockRetryInterval before each repeat,
// before the first only if pause is set (at COMMIT the after-image read
// was that pause).
func (r *resource) registerAgain(ctx context.Context, xid, keys string, err error, pause bool) (int64, error) {
	w := r.lockWait()
	for {
		ok, serr := w.again(ctx, pause)
		if serr != nil {
			return 0, errors.Join(&LockConflictError{LockKeys: keys, Err: err}, serr)
		}
		if !ok {
			return 0, &LockConflictError{LockKeys: keys, Err: err}
		}
		pause = true
		id, conflict, aerr := r.registerAttempt(ctx, xid, keys)
		if !conflict {
			return id, aerr
		}
		err = aerr
	}
}

// registerAttempt sends one BranchRegister. conflict reports a lock
// conflict to ask about again (err is then the coordinator's); otherwise
// err is the outcome.
func (r *resource) registerAttempt(ctx context.Context, xid, keys string) (id int64, conflict bool, err error) {
	b := rm.Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: r.id, LockKeys: keys, ApplicationData: appDataHoldsLocks}
	id, err = r.client.RM().BranchRegister(ctx, b)
	switch {
	case err == nil:
		return id, false, nil
	case errors.Is(err, rm.ErrLockConflictFailFast):
		// The holder is rolling back and needs rows we hold.
		return 0, false, &LockConflictError{LockKeys: keys, Err: err}
	case errors.Is(err, rm.ErrLockConflict):
		return 0, true, err
	default:
		return 0, false, err
	}
}

// lockWait bounds a waiter's repeats after a global lock conflict: at most
// Config.LockRetries of them, none starting once LockRetries ×
// LockRetryInterval have passed since the wait began. The time bound keeps
// a distant coordinator's round trips from stretching the time the waiter
// keeps its rows: at 1 ms × 20 and a 2 ms round trip, the count alone would
// allow 60 ms.
type lockWait struct {
	left     int
	interval time.Duration
	end      time.Time
}

func (r *resource) lockWait() lockWait {
	w := lockWait{left: r.cfg.LockRetries, interval: r.cfg.LockRetryInterval}
	if w.interval > 0 && int64(w.left) < int64(math.MaxInt64/w.interval) {
		w.end = time.Now().Add(time.Duration(w.left) * w.interval)
	} // else no bound in time: only the count (and no overflow)
	return w
}

// again reports whether the waiter may ask once more, pausing first if
// pause is set. The error is the context's, when it ends during the pause.
func (w *lockWait) again(ctx context.Context, pause bool) (bool, error) {
	if w.left <= 0 {
		return false, nil
	}
	w.left--
	if pause {
		if err := sleep(ctx, w.interval); err != nil {
			return false, err
		}
	}
	return w.end.IsZero() || !time.Now().After(w.end), nil
}

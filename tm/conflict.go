package tm

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"
)

// ErrConflict is matched (errors.Is) by the errors that mean a global
// transaction lost a race with other transactions before it committed: the
// work may well succeed when it runs again. The datasource package makes
// its errors match it when another global transaction holds a row's global
// lock for too long (a *datasource.LockConflictError), and when the server
// ends a statement of a branch with a deadlock (MySQL error 1213) or a lock
// wait timeout (1205). An application's own error type may match it too,
// through an Is method, to ask WithGlobalTx for another attempt.
//
// WithGlobalTx retries the whole global transaction when fn fails with an
// error that matches ErrConflict (see WithGlobalTx).
var ErrConflict = errors.New("atcc/tm: conflict with another transaction")

// ConflictError is returned by WithGlobalTx when every attempt it was
// allowed failed with a conflict (ErrConflict), or its context ended
// between two attempts. It matches ErrConflict and unwraps to the last
// attempt's error (joined with the context's error when that ended the
// retries), so errors.Is and errors.As still find the cause, for instance
// datasource.ErrLockConflict.
type ConflictError struct {
	// Attempts is how many times fn ran, each in a global transaction of
	// its own that was rolled back.
	Attempts int
	// Err is the last attempt's error.
	Err error
}

// Error reads like "atcc/tm: global transaction failed on a conflict after
// 11 attempts: atcc/datasource: global lock conflict on ...".
func (e *ConflictError) Error() string {
	return "atcc/tm: global transaction failed on a conflict after " + strconv.Itoa(e.Attempts) + " attempts: " + e.Err.Error()
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the last attempt's error.
func (e *ConflictError) Unwrap() error { return e.Err }

// Defaults and bounds of the whole-transaction retry.
const (
	// DefaultConflictRetries is how many times WithGlobalTx runs fn again
	// after a conflict when TxOptions.ConflictRetries is zero.
	DefaultConflictRetries = 10
	// conflictBackoff is the longest pause before the first retry; it
	// doubles for each further one up to maxConflictBackoff. Every pause is
	// drawn uniformly from (0, backoff] ("full jitter"), so that the
	// transactions that just collided do not meet again in step.
	conflictBackoff    = 4 * time.Millisecond
	maxConflictBackoff = 250 * time.Millisecond
)

// conflictRetries returns how many retries opts allow.
func (opts TxOptions) conflictRetries() int {
	switch {
	case opts.ConflictRetries == 0:
		return DefaultConflictRetries
	case opts.ConflictRetries < 0:
		return 0
	}
	return opts.ConflictRetries
}

// conflictPause returns the jittered pause before retry number retry
// (1 for the first).
func conflictPause(retry int) time.Duration {
	backoff := conflictBackoff
	for i := 1; i < retry && backoff < maxConflictBackoff; i++ {
		backoff *= 2
	}
	backoff = min(backoff, maxConflictBackoff)
	return 1 + rand.N(backoff)
}

// awaitRetry pauses before retry number retry and reports whether ctx is
// still live afterwards.
func awaitRetry(ctx context.Context, retry int) bool {
	return ctx.Err() == nil && sleep(ctx, conflictPause(retry))
}

package datasource

import (
	"database/sql/driver"
	"errors"

	"github.com/atcc-go/atcc/internal/mysqlerr"
	"github.com/atcc-go/atcc/tm"
)

// conflictError is a server error of a statement that ran for a global
// transaction (or in GlobalLock mode) and lost a race with another
// transaction: a deadlock or a lock wait timeout. It reads and unwraps as
// the server's error (errors.As finds the *mysql.MySQLError) and matches
// tm.ErrConflict, so that tm.Manager.WithGlobalTx runs the global
// transaction again.
type conflictError struct{ err error }

func (e *conflictError) Error() string        { return e.err.Error() }
func (e *conflictError) Unwrap() error        { return e.err }
func (e *conflictError) Is(target error) bool { return target == tm.ErrConflict }

// markConflict returns err marked as a conflict (see conflictError) when
// the server reported a deadlock or a lock wait timeout, else err itself.
// It is the one place where this package decides that a server error is a
// conflict worth running the global transaction again for.
func markConflict(err error) error {
	if err == nil {
		return nil
	}
	switch mysqlerr.Number(err) {
	case mysqlerr.Deadlock, mysqlerr.LockWaitTimeout:
		if !errors.Is(err, tm.ErrConflict) {
			return &conflictError{err}
		}
	}
	return err
}

// conflictResult is markConflict for the two results of a statement.
func conflictResult[T any](v T, err error) (T, error) {
	return v, markConflict(err)
}

// endsTx reports whether err means the server rolled the whole transaction
// back (a deadlock) or the connection is gone, so that the local
// transaction can only roll back.
func endsTx(err error) bool {
	return errors.Is(err, driver.ErrBadConn) || mysqlerr.Is(err, mysqlerr.Deadlock)
}

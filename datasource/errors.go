package datasource

import (
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/tm"
)

// Errors returned by this package. They may arrive wrapped with detail;
// test for them with errors.Is.
var (
	// ErrUnsupported matches every *UnsupportedError: a statement that AT
	// mode cannot undo was refused before it ran, so it changed nothing.
	ErrUnsupported = errors.New("atcc/datasource: statement not supported in a global transaction")
	// ErrNoPrimaryKey: the statement writes (or locks) a table without a
	// primary key, whose rows AT mode cannot name. Comes as an
	// *UnsupportedError.
	ErrNoPrimaryKey = errors.New("atcc/datasource: table has no primary key")
	// ErrPrimaryKeyUpdate: the statement assigns a primary key column
	// (UPDATE ... SET id = ..., ON DUPLICATE KEY UPDATE id = ...). Comes as
	// an *UnsupportedError.
	ErrPrimaryKeyUpdate = errors.New("atcc/datasource: statement changes a primary key")
	// ErrDDLInGlobalTx: DDL, or another statement that commits implicitly,
	// inside a global transaction or in GlobalLock mode. Comes as an
	// *UnsupportedError.
	ErrDDLInGlobalTx = errors.New("atcc/datasource: DDL in a global transaction")
	// ErrLockConflict matches every *LockConflictError: another global
	// transaction kept a row lock the statement or the commit needed for
	// longer than Config.LockRetries retries, or was rolling back and
	// needed the rows itself. The local transaction has been (or, for a
	// statement, must be) rolled back. A *LockConflictError also matches
	// tm.ErrConflict, so that tm.Manager.WithGlobalTx runs the global
	// transaction again.
	ErrLockConflict = errors.New("atcc/datasource: global lock conflict")
	// ErrTxMismatch: a statement's context names a global transaction (or
	// GlobalLock mode) other than the one its local transaction began in,
	// for instance a local transaction begun without an XID and used with
	// one. The statement did not run.
	ErrTxMismatch = errors.New("atcc/datasource: statement context does not match its transaction")
	// ErrTxAborted: a statement of the local transaction ran but its undo
	// information could not be completed (the after image failed, the rows
	// changed differ from the before image, the server rolled the transaction
	// back on a deadlock). The transaction can only roll back: Commit rolls
	// it back and returns an error wrapping ErrTxAborted and the cause.
	ErrTxAborted = errors.New("atcc/datasource: transaction aborted")
	// ErrRowsMismatch: an UPDATE or DELETE, run on exactly the rows of its
	// before image, changed a different number of rows (a foreign key's ON
	// DELETE CASCADE removed an imaged row first): its undo would not be
	// exact, so the local transaction is aborted (see ErrTxAborted).
	ErrRowsMismatch = errors.New("atcc/datasource: statement changed other rows than its before image holds")
	// ErrDatabaseChanged: a prepared statement ran in a global transaction
	// (or GlobalLock mode) after USE made another database current than
	// the one it was prepared in. The server runs it against the tables of
	// the database current at PREPARE time, which AT mode does not track
	// per statement; prepare it again. Comes as an *UnsupportedError.
	ErrDatabaseChanged = errors.New("atcc/datasource: statement prepared in another database")
	// ErrInvalidConfig: NewConnector or Register got a Config or arguments
	// it cannot use; the text names the field.
	ErrInvalidConfig = errors.New("atcc/datasource: invalid config")
	// ErrNoMultiStatements: Config.MultiStatements is set but a new target
	// connection does not accept several statements in one query; set
	// multiStatements=true in its DSN (mysql.Config.MultiStatements).
	// Connect fails with it.
	ErrNoMultiStatements = errors.New("atcc/datasource: Config.MultiStatements is set but the connection does not accept several statements in one query (set multiStatements=true in the DSN)")
	// ErrClosed: the Connector was closed.
	ErrClosed = errors.New("atcc/datasource: connector closed")
)

// errArgCount reports a query with more placeholders than args.
var errArgCount = errors.New("atcc/datasource: fewer arguments than placeholders")

// UnsupportedError reports a statement refused in a global transaction (or
// in GlobalLock mode) before it ran: nothing was changed. It matches
// ErrUnsupported, and unwraps to the specific reason when there is one
// (ErrNoPrimaryKey, ErrPrimaryKeyUpdate, ErrDDLInGlobalTx, a parse error).
type UnsupportedError struct {
	SQL    string // the statement, cut to 256 bytes
	Reason string // why, e.g. "INSERT ... SELECT"
	Err    error  // the sentinel or cause, may be nil
}

// Error names the reason and the statement.
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("atcc/datasource: unsupported in a global transaction: %s: %q", e.Reason, e.SQL)
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns the specific reason, or nil.
func (e *UnsupportedError) Unwrap() error { return e.Err }

func unsupported(sql, reason string, err error) *UnsupportedError {
	const max = 256
	if len(sql) > max {
		cut := max
		for cut > 0 && sql[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		sql = sql[:cut] + "..."
	}
	return &UnsupportedError{SQL: sql, Reason: reason, Err: err}
}

// LockConflictError reports global row locks that another global
// transaction held through every retry. It matches ErrLockConflict and
// unwraps to the resource manager's error (matching rm.ErrLockConflict or
// rm.ErrLockConflictFailFast), which is nil when the conflict was seen by a
// lock query (SELECT ... FOR UPDATE, GlobalLock mode).
type LockConflictError struct {
	LockKeys string // the rows asked for: "table:pk1,pk2;table2:pk"
	Err      error
}

// Error names the rows.
func (e *LockConflictError) Error() string {
	keys := e.LockKeys
	if len(keys) > 256 {
		keys = keys[:256] + "..."
	}
	if e.Err != nil {
		return fmt.Sprintf("atcc/datasource: global lock conflict on %s: %v", keys, e.Err)
	}
	return "atcc/datasource: global lock conflict on " + keys
}

// Is reports whether target is ErrLockConflict or tm.ErrConflict (the
// latter makes tm.Manager.WithGlobalTx run the global transaction again).
func (e *LockConflictError) Is(target error) bool {
	return target == ErrLockConflict || target == tm.ErrConflict
}

// Unwrap returns the coordinator's error, or nil.
func (e *LockConflictError) Unwrap() error { return e.Err }

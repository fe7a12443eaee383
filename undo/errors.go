package undo

import (
	"errors"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/internal/mysqlerr"
)

var (
	// ErrGlobalFinished is returned by Manager.Insert when the branch's
	// global transaction has already been rolled back: a rollback found no
	// undo log and left a marker row in its place. Phase one must roll its
	// local transaction back; retrying cannot succeed.
	ErrGlobalFinished = errors.New("atcc/undo: global transaction already finished")
	// ErrDirtyWrite matches a *DirtyWriteError.
	ErrDirtyWrite = errors.New("atcc/undo: rows changed outside the global transaction")
	// ErrCorrupt reports an undo log that does not decode or does not
	// describe a consistent change.
	ErrCorrupt = errors.New("atcc/undo: malformed undo log")
	// ErrPayloadTooLarge reports an undo log whose decoded size exceeds
	// Config.MaxPayload, on write or on read (decompression stops there).
	ErrPayloadTooLarge = errors.New("atcc/undo: undo log exceeds the size limit")
	// ErrUnsupportedFormat reports an undo log written by another serializer
	// (for instance fastjson or kryo), compressor or format version.
	ErrUnsupportedFormat = errors.New("atcc/undo: unsupported undo log format")
	// ErrLossy reports an undo log, written by another Seata client, whose
	// writer lost information a rollback needs (a DECIMAL rounded through
	// float64, binary data seata-go v1.2.0 may have overwritten): restoring
	// it would write a guessed value, so the branch is left for a person.
	ErrLossy = errors.New("atcc/undo: undo log lost information needed to restore the rows")
	// ErrSchemaChanged reports a table or column of the undo log that the
	// live table no longer has, or a changed primary key.
	ErrSchemaChanged = errors.New("atcc/undo: table no longer matches the undo log")
	// ErrUnsupportedType reports a column type or driver value that has no
	// exact Value.
	ErrUnsupportedType = errors.New("atcc/undo: unsupported column value")
	// ErrInvalid reports a bad argument (an empty or over-long XID, a nil
	// log, a negative limit).
	ErrInvalid = errors.New("atcc/undo: invalid argument")
	// ErrClosed is returned by Manager.Commit after Close.
	ErrClosed = errors.New("atcc/undo: manager closed")
	// ErrRestoreFailed matches a *RestoreError: the server refused to put
	// rows back for a reason that retrying cannot change.
	ErrRestoreFailed = errors.New("atcc/undo: rows cannot be restored")
)

// unretryable lists the errors that the same call cannot outgrow: the
// coordinator should stop retrying (PhaseTwo_RollbackFailed_Unretryable).
var unretryable = [...]error{
	ErrGlobalFinished, ErrDirtyWrite, ErrCorrupt, ErrPayloadTooLarge,
	ErrUnsupportedFormat, ErrSchemaChanged, ErrUnsupportedType, ErrInvalid, ErrRestoreFailed, ErrLossy,
}

// Retryable reports whether err, returned by this package, may go away if
// the call is repeated later: connection failures, deadlocks, lock wait
// timeouts, a server shutting down or read-only, and context ends are
// retryable; dirty data, malformed or oversized logs, schema changes, bad
// arguments, and any other error the server answered (a duplicate key that
// still collides, data that does not fit the column) are not. IsRetryable(nil)
// is false.
//
// It is the one place this package classifies errors for retrying.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	for _, u := range unretryable {
		if errors.Is(err, u) {
			return false
		}
	}
	if n := mysqlerr.Number(err); n != 0 {
		return retryableServerError(n)
	}
	return true // the connection, the driver or the context failed
}

// retryableServerError reports whether a server error number names a
// condition that passes by itself.
func retryableServerError(n uint16) bool {
	switch n {
	case mysqlerr.ConCount, // too many connections
		mysqlerr.ServerShutdown,
		mysqlerr.DiskFull, mysqlerr.TableFull,
		mysqlerr.LockWaitTimeout, mysqlerr.Deadlock,
		mysqlerr.ReadOnly,         // --read-only, as during a failover
		mysqlerr.QueryInterrupted, // KILL QUERY, max_statement_time
		mysqlerr.ConnectionKilled:
		return true
	}
	return false
}

// RestoreError reports rows that a rollback could not put back because the
// server refused the statement for a reason retrying cannot change: a
// unique key value now held by a row the branch did not write, data that
// no longer fits the column, a foreign key that no longer holds. The local
// transaction was rolled back: data and undo log are as they were, for a
// person to reconcile; the rows are logged at Error. It is not retryable.
type RestoreError struct {
	XID      string
	BranchID int64
	Table    string   // quoted, schema-qualified
	Op       string   // what the restore ran: "insert", "update" or "delete"
	Columns  []string // the order of every Row below
	Rows     []Row    // the rows it tried to write (delete: their primary keys)
	Err      error    // the server's answer
}

// Error names the table, the operation and the server's answer.
func (e *RestoreError) Error() string {
	return fmt.Sprintf("atcc/undo: rows cannot be restored: xid %s branch %d table %s: %s of %d row(s): %v",
		e.XID, e.BranchID, e.Table, e.Op, len(e.Rows), e.Err)
}

// Is reports whether target is ErrRestoreFailed.
func (e *RestoreError) Is(target error) bool { return target == ErrRestoreFailed }

// Unwrap returns the server's answer.
func (e *RestoreError) Unwrap() error { return e.Err }

// DirtyWriteError reports that rows a branch changed were changed again by a
// writer outside the global transaction, so restoring the before image would
// overwrite that write. Nothing was changed: the data and the undo log are
// left as they are for a person to reconcile. It is not retryable.
type DirtyWriteError struct {
	XID      string
	BranchID int64
	Table    string   // quoted, schema-qualified
	Columns  []string // the image's columns, the order of every Row below
	Rows     []DirtyRow
}

// DirtyRow is one row that differs from what the undo log expects.
type DirtyRow struct {
	Key      Row      // primary key values, in primary key order
	Expected Row      // what the branch left (its after image); nil: no row
	Current  Row      // what is there now; nil: no row
	Changed  []string // columns where Current differs from Expected, when both exist
}

// Error describes the first dirty row; Rows holds them all.
func (e *DirtyWriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "atcc/undo: rows changed outside the global transaction: xid %s branch %d table %s: %d row(s)",
		e.XID, e.BranchID, e.Table, len(e.Rows))
	if len(e.Rows) > 0 {
		r := e.Rows[0]
		fmt.Fprintf(&b, "; key %s ", r.Key.format())
		switch {
		case r.Current == nil:
			b.WriteString("was deleted")
		case r.Expected == nil:
			b.WriteString("was inserted")
		default:
			fmt.Fprintf(&b, "changed %v", r.Changed)
		}
	}
	return b.String()
}

// Is reports whether target is ErrDirtyWrite.
func (e *DirtyWriteError) Is(target error) bool { return target == ErrDirtyWrite }

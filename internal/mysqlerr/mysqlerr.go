// Package mysqlerr classifies the errors a MySQL or MariaDB server returns
// through go-sql-driver/mysql: it finds the *mysql.MySQLError in an error's
// chain with errors.As, so wrapped errors classify as the server's own.
//
// It is the one place atcc names server error numbers; the packages decide
// what each class means for them (undo.IsRetryable, for instance).
package mysqlerr

import (
	"errors"

	"github.com/go-sql-driver/mysql"
)

// Server error numbers atcc acts on (MySQL's ER_ names; MariaDB uses the
// same numbers).
const (
	DiskFull         uint16 = 1021 // ER_DISK_FULL
	ConCount         uint16 = 1040 // ER_CON_COUNT_ERROR: too many connections
	TableExists      uint16 = 1050 // ER_TABLE_EXISTS_ERROR
	ServerShutdown   uint16 = 1053 // ER_SERVER_SHUTDOWN
	BadField         uint16 = 1054 // ER_BAD_FIELD_ERROR: unknown column
	DupEntry         uint16 = 1062 // ER_DUP_ENTRY
	ParseError       uint16 = 1064 // ER_PARSE_ERROR: also a multi-statement query on a connection without multiStatements
	TableFull        uint16 = 1114 // ER_RECORD_FILE_FULL
	NoSuchTable      uint16 = 1146 // ER_NO_SUCH_TABLE
	LockWaitTimeout  uint16 = 1205 // ER_LOCK_WAIT_TIMEOUT: the statement was rolled back
	Deadlock         uint16 = 1213 // ER_LOCK_DEADLOCK: the whole transaction was rolled back
	NoReferencedRow  uint16 = 1216 // ER_NO_REFERENCED_ROW
	RowIsReferenced  uint16 = 1217 // ER_ROW_IS_REFERENCED
	ReadOnly         uint16 = 1290 // ER_OPTION_PREVENTS_STATEMENT (--read-only)
	QueryInterrupted uint16 = 1317 // ER_QUERY_INTERRUPTED: KILL QUERY, max_statement_time
	RowIsReferenced2 uint16 = 1451 // ER_ROW_IS_REFERENCED_2
	NoReferencedRow2 uint16 = 1452 // ER_NO_REFERENCED_ROW_2
	DupEntryWithKey  uint16 = 1586 // ER_DUP_ENTRY_WITH_KEY_NAME
	ConnectionKilled uint16 = 1927 // ER_CONNECTION_KILLED (MariaDB)
)

// Server returns the server error in err's chain, or nil when there is
// none (the connection, the driver or the context failed).
func Server(err error) *mysql.MySQLError {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// Number returns the number of the server error in err's chain, or 0.
func Number(err error) uint16 {
	if me := Server(err); me != nil {
		return me.Number
	}
	return 0
}

// Is reports whether err's chain holds a server error numbered one of
// numbers.
func Is(err error, numbers ...uint16) bool {
	n := Number(err)
	if n == 0 {
		return false
	}
	for _, m := range numbers {
		if n == m {
			return true
		}
	}
	return false
}

// IsLockConflict reports a lost race for row locks: a deadlock or a lock
// wait timeout.
func IsLockConflict(err error) bool { return Is(err, Deadlock, LockWaitTimeout) }

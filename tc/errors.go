package tc

import (
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Errors returned by Server methods.
var (
	// ErrServerClosed is returned by Start after Close or Shutdown.
	ErrServerClosed = errors.New("atcc/tc: server closed")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("atcc/tc: server already started")
	// ErrSchema is wrapped by Start when the MySQL store's tables are
	// missing or lack a column; CreateTables creates them.
	ErrSchema = errors.New("atcc/tc: mysql store schema")
)

// A txError is a refusal the coordinator sends back to a client: a failed
// result with a Seata TransactionExceptionCode. It never leaves the package
// as a Go error; it is turned into a response.
type txError struct {
	code protocol.ExceptionCode
	msg  string
	err  error // the cause, if any
}

func (e *txError) Error() string {
	if e.err != nil {
		return "atcc/tc: " + e.msg + ": " + e.err.Error()
	}
	return "atcc/tc: " + e.msg
}

func (e *txError) Unwrap() error { return e.err }

func txErrorf(code protocol.ExceptionCode, format string, args ...any) *txError {
	return &txError{code: code, msg: fmt.Sprintf(format, args...)}
}

// storeError wraps a failure of the store as the FailedStore refusal.
func storeError(op string, err error) *txError {
	return &txError{code: protocol.CodeFailedStore, msg: op, err: err}
}

// Store-level outcomes. Stores return them (possibly wrapped); the
// coordinator turns them into txErrors with the codes the Java TC uses.
var (
	errNoGlobal = errors.New("atcc/tc: global transaction not found")
	errNoBranch = errors.New("atcc/tc: branch transaction not found")
)

// notActiveError: a branch tried to join a global transaction that is not
// in status Begin.
type notActiveError struct {
	status protocol.GlobalStatus
}

func (e *notActiveError) Error() string {
	return "atcc/tc: global transaction is " + e.status.String() + ", not Begin"
}

// lockConflictError: a row lock is held by another global transaction.
type lockConflictError struct {
	rowKey    string
	holderXID string
	// holderRollingBack is true when the holder's rollback has started; an
	// RM that holds local locks (autoCommit=false) should then give up at
	// once instead of retrying (LockKeyConflictFailFast).
	holderRollingBack bool
}

func (e *lockConflictError) Error() string {
	return fmt.Sprintf("atcc/tc: row lock %q is held by %s", e.rowKey, e.holderXID)
}

package protocol

// CoordinatorError is a failure the coordinator reported in a response's
// result (ResultCode Failed): the request reached it and was refused. The
// client's transport returns it together with the response; atcc's TM, RM
// and TCC layers pass it on wrapped, so callers match it with errors.Is or
// errors.As.
//
// errors.Is matches a CoordinatorError against another by Code, so
// errors.Is(err, ErrLockKeyConflict) holds for any lock conflict
// whatever its message.
type CoordinatorError struct {
	// Code is the transaction exception code in the Seata 2.x numbering,
	// already translated from the coordinator's own numbering.
	Code ExceptionCode
	// Message is the coordinator's text, e.g. "TransactionException[...]".
	Message string
	// Type is the response's type code; zero in the sentinels below.
	Type TypeCode
}

func (e *CoordinatorError) Error() string {
	s := "atcc: coordinator: " + e.Code.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is a *CoordinatorError with the same Code.
func (e *CoordinatorError) Is(target error) bool {
	t, ok := target.(*CoordinatorError)
	return ok && t.Code == e.Code
}

// Sentinels for the coordinator failures callers act on; compare with
// errors.Is.
var (
	ErrBeginFailed                    = &CoordinatorError{Code: CodeBeginFailed}
	ErrLockKeyConflict                = &CoordinatorError{Code: CodeLockKeyConflict}
	ErrLockKeyConflictFailFast        = &CoordinatorError{Code: CodeLockKeyConflictFailFast}
	ErrBranchRegisterFailed           = &CoordinatorError{Code: CodeBranchRegisterFailed}
	ErrBranchReportFailed             = &CoordinatorError{Code: CodeBranchReportFailed}
	ErrLockableCheckFailed            = &CoordinatorError{Code: CodeLockableCheckFailed}
	ErrBranchTransactionNotExist      = &CoordinatorError{Code: CodeBranchTransactionNotExist}
	ErrGlobalTransactionNotExist      = &CoordinatorError{Code: CodeGlobalTransactionNotExist}
	ErrGlobalTransactionNotActive     = &CoordinatorError{Code: CodeGlobalTransactionNotActive}
	ErrGlobalTransactionStatusInvalid = &CoordinatorError{Code: CodeGlobalTransactionStatusInvalid}
	ErrFailedLockGlobalTransaction    = &CoordinatorError{Code: CodeFailedLockGlobalTransaction}
	ErrFailedWriteSession             = &CoordinatorError{Code: CodeFailedWriteSession}
	ErrFailedStore                    = &CoordinatorError{Code: CodeFailedStore}
	ErrNotRaftLeader                  = &CoordinatorError{Code: CodeNotRaftLeader}
	ErrTransactionTimeout             = &CoordinatorError{Code: CodeTransactionTimeout}
	ErrCommitHeuristic                = &CoordinatorError{Code: CodeCommitHeuristic}
)

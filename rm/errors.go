package rm

import "errors"

// Errors returned by this package. They may arrive wrapped with detail
// text; test for them with errors.Is.
var (
	// ErrInvalidResource: Register got a nil Resource, an empty resource
	// id, an id with a comma or too long for the wire, or an unknown branch
	// type.
	ErrInvalidResource = errors.New("atcc/rm: invalid resource")
	// ErrDuplicateResource: Register got a resource whose branch type and
	// id are already registered.
	ErrDuplicateResource = errors.New("atcc/rm: resource already registered")
	// ErrUnknownResource: Unregister or BranchRegister named
	// a resource that is not registered with this Manager. Registering a
	// branch for it would leave the coordinator unable to send phase two
	// here.
	ErrUnknownResource = errors.New("atcc/rm: resource not registered")
	// ErrInvalidBranch: BranchRegister, BranchReport or LockQuery got
	// arguments that cannot be sent (an empty resource id, an empty XID
	// where one is required, a string too long for the wire).
	ErrInvalidBranch = errors.New("atcc/rm: invalid branch")
	// ErrLockConflict: BranchRegister could not take the global locks of
	// Branch.LockKeys because another global transaction holds one of
	// them. The caller may retry after a pause. The error also matches the
	// coordinator's protocol.ErrLockKeyConflict.
	ErrLockConflict = errors.New("atcc/rm: global lock held by another transaction")
	// ErrLockConflictFailFast: as ErrLockConflict, but the holder is rolling
	// back and waits for rows the caller's local transaction holds, so
	// waiting cannot help: the caller should give up at once. The error
	// also matches the coordinator's protocol.ErrLockKeyConflictFailFast.
	ErrLockConflictFailFast = errors.New("atcc/rm: global lock held by a transaction that is rolling back")
	// ErrClosed: the Manager was closed.
	ErrClosed = errors.New("atcc/rm: manager closed")
)

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
	// ErrClosed: the Manager was closed.
	ErrClosed = errors.New("atcc/rm: manager closed")
)

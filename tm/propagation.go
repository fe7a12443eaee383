package tm

import "strconv"

// Propagation says how Begin treats a global transaction the context may
// already carry. The names and meanings are those of Seata's (and
// Spring's) propagation modes. The zero value is Required.
type Propagation uint8

// Propagation modes. "Existing" means the context passed to Begin carries
// an XID (see XID).
const (
	// Required joins the existing global transaction as a participant, or
	// begins a new one when there is none. The default.
	Required Propagation = iota
	// RequiresNew always begins a new global transaction. An existing one
	// is suspended: the returned context carries the new XID, while the
	// caller's context still carries the outer one, which resumes as soon
	// as the caller goes on with its own context.
	RequiresNew
	// NotSupported runs without a global transaction. An existing one is
	// suspended: the returned context carries no XID.
	NotSupported
	// Supports joins the existing global transaction as a participant, or
	// runs without one when there is none.
	Supports
	// Never runs without a global transaction and fails with
	// ErrExistingTx when there is one.
	Never
	// Mandatory joins the existing global transaction as a participant
	// and fails with ErrNoTx when there is none.
	Mandatory
)

var propagationNames = [...]string{"REQUIRED", "REQUIRES_NEW", "NOT_SUPPORTED", "SUPPORTS", "NEVER", "MANDATORY"}

// String returns the Seata name of the mode, e.g. "REQUIRES_NEW".
func (p Propagation) String() string {
	if int(p) < len(propagationNames) {
		return propagationNames[p]
	}
	return "Propagation(" + strconv.Itoa(int(p)) + ")"
}

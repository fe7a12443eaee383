package rm

import (
	"context"
	"fmt"
	"math"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Branch names a branch to register, or the rows whose global locks
// LockQuery asks about.
type Branch struct {
	// XID is the global transaction (tm.XID of the context the work runs
	// with). Required, except for LockQuery outside a global transaction.
	XID string
	// BranchType and ResourceID name a Resource registered with the
	// Manager.
	BranchType protocol.BranchType
	ResourceID string
	// LockKeys are the rows the branch locks, AT only:
	// "table:pk1,pk2;table2:pk" (composite keys join their columns with
	// "_"). Empty for TCC.
	LockKeys string
	// ApplicationData is handed back in every BranchRequest of the branch
	// (TCC: the action context, as JSON). Optional.
	ApplicationData string
}

// BranchStatusReport is a branch status to report to the coordinator.
type BranchStatusReport struct {
	XID        string
	BranchID   int64
	BranchType protocol.BranchType
	ResourceID string
	// Status is usually protocol.PhaseOneFailed (the local work failed after
	// the branch was registered) or protocol.PhaseOneDone.
	Status protocol.BranchStatus
	// ApplicationData replaces the branch's application data when not "".
	ApplicationData string
}

// BranchRegister registers a branch of the global transaction b.XID and
// returns its branch id. The resource must be registered with the Manager
// (else ErrUnknownResource). For AT the coordinator takes the global locks
// of b.LockKeys at the same time; when another global transaction holds
// one it fails with an error matching ErrLockConflict (or
// ErrLockConflictFailFast when the holder is itself waiting), and the
// caller may retry after a pause. Other coordinator failures match
// the rpc sentinels (protocol.ErrGlobalTransactionNotActive when the
// transaction has already ended or timed out, ...).
//
// BranchRegister is sent once and never resent: when the answer is lost
// the coordinator may have registered the branch and locked its rows; the
// caller must then treat the local work as failed (roll it back). The
// global transaction will roll back (the launcher sees the error, or the
// coordinator times it out), and the phase-two rollback of the orphan
// branch finds nothing to undo.
func (m *Manager) BranchRegister(ctx context.Context, b Branch) (id int64, err error) {
	if err := m.checkBranch(b, true); err != nil {
		return 0, err
	}
	if m.obs != nil {
		var op observe.Op
		ctx, op, b.ApplicationData = m.startRegister(ctx, b)
		defer func() { m.endRegister(ctx, op, id, err) }()
	}
	resp, err := call[*protocol.BranchRegisterResponse](ctx, m.caller, &protocol.BranchRegisterRequest{
		XID: b.XID, BranchType: b.BranchType, ResourceID: b.ResourceID,
		LockKey: b.LockKeys, ApplicationData: b.ApplicationData,
	})
	if err != nil {
		return 0, fmt.Errorf("atcc/rm: register branch of %s on %s: %w", b.XID, b.ResourceID, lockConflict(err))
	}
	m.inflight.add(resp.BranchID)
	return resp.BranchID, nil
}

// BranchReport reports a branch's status to the coordinator (Java's
// BranchReport). It is sent once; a report that fails may be sent again,
// as the coordinator just records the status.
func (m *Manager) BranchReport(ctx context.Context, r BranchStatusReport) error {
	if r.XID == "" {
		return fmt.Errorf("%w: empty xid", ErrInvalidBranch)
	}
	if err := m.checkBranch(Branch{XID: r.XID, BranchType: r.BranchType, ResourceID: r.ResourceID,
		ApplicationData: r.ApplicationData}, false); err != nil {
		return err
	}
	_, err := call[*protocol.BranchReportResponse](ctx, m.caller, &protocol.BranchReportRequest{
		XID: r.XID, BranchID: r.BranchID, Status: r.Status, ResourceID: r.ResourceID,
		ApplicationData: r.ApplicationData, BranchType: r.BranchType,
	})
	if err != nil {
		return fmt.Errorf("atcc/rm: report branch %d of %s: %w", r.BranchID, r.XID, err)
	}
	return nil
}

// LockQuery asks the coordinator whether the rows of b.LockKeys could be
// locked by b.XID now, that is whether no other global transaction holds
// a lock on any of them. AT uses it for reads that must not see
// uncommitted global work (SELECT ... FOR UPDATE outside or inside a
// global transaction); b.XID may be empty outside one. The resource need
// not be registered.
func (m *Manager) LockQuery(ctx context.Context, b Branch) (bool, error) {
	if err := m.checkBranch(b, false); err != nil {
		return false, err
	}
	resp, err := call[*protocol.GlobalLockQueryResponse](ctx, m.caller, &protocol.GlobalLockQueryRequest{
		XID: b.XID, BranchType: b.BranchType, ResourceID: b.ResourceID,
		LockKey: b.LockKeys, ApplicationData: b.ApplicationData,
	})
	if err != nil {
		return false, fmt.Errorf("atcc/rm: query locks on %s: %w", b.ResourceID, err)
	}
	if !resp.Lockable && m.obs != nil {
		m.lockConflict(ctx, b.XID, b.BranchType.String(), b.ResourceID)
	}
	return resp.Lockable, nil
}

// checkBranch validates what goes on the wire; registered also requires
// an XID and a resource registered with the Manager.
func (m *Manager) checkBranch(b Branch, registered bool) error {
	switch {
	case b.ResourceID == "":
		return fmt.Errorf("%w: empty resource id", ErrInvalidBranch)
	case registered && b.XID == "":
		return fmt.Errorf("%w: empty xid", ErrInvalidBranch)
	case len(b.XID) > math.MaxInt16 || len(b.ResourceID) > math.MaxInt16:
		return fmt.Errorf("%w: xid or resource id too long", ErrInvalidBranch)
	case len(b.LockKeys) > math.MaxInt32 || len(b.ApplicationData) > math.MaxInt32:
		return fmt.Errorf("%w: lock keys or application data too long", ErrInvalidBranch)
	}
	if registered && m.lookup(b.BranchType, b.ResourceID) == nil {
		return fmt.Errorf("%w: %v %s", ErrUnknownResource, b.BranchType, b.ResourceID)
	}
	return nil
}

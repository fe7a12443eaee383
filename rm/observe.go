package rm

import (
	"context"
	"errors"
	"time"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// startRegister starts the BranchRegister operation and returns the
// application data to register, with the caller's trace context.
func (m *Manager) startRegister(ctx context.Context, b Branch) (context.Context, observe.Op, string) {
	appData := observe.WithTraceParent(b.ApplicationData, m.obs.TraceParent(ctx))
	op := observe.Op{Kind: observe.BranchRegister, Start: time.Now(), XID: b.XID,
		BranchType: b.BranchType.String(), Resource: b.ResourceID}
	return m.obs.Start(ctx, op), op, appData
}

// endRegister ends the BranchRegister operation, reporting a lock
// conflict also as a LockConflict event.
func (m *Manager) endRegister(ctx context.Context, op observe.Op, id int64, err error) {
	op.BranchID, op.Err, op.Result = id, err, observe.ResultOK
	if err != nil {
		op.Result = observe.ResultError
		if errors.Is(err, protocol.ErrLockKeyConflict) || errors.Is(err, protocol.ErrLockKeyConflictFailFast) {
			op.Result = observe.ResultLockConflict
			m.lockConflict(ctx, op.XID, op.BranchType, op.Resource)
		}
	}
	m.obs.End(ctx, op)
}

func (m *Manager) lockConflict(ctx context.Context, xid, branchType, resource string) {
	m.obs.Event(ctx, observe.Op{Kind: observe.LockConflict, Start: time.Now(), XID: xid,
		BranchType: branchType, Resource: resource})
}

// startPhaseTwo starts the PhaseTwo operation of a BranchCommit or
// BranchRollback request; it returns ctx and a zero Op when there is no
// Observer.
func (m *Manager) startPhaseTwo(ctx context.Context, p phase, b BranchRequest) (context.Context, observe.Op) {
	if m.obs == nil {
		return ctx, observe.Op{}
	}
	name := "commit"
	if p == phaseRollback {
		name = "rollback"
	}
	op := observe.Op{Kind: observe.PhaseTwo, Start: time.Now(), XID: b.XID, BranchID: b.BranchID,
		BranchType: b.BranchType.String(), Resource: b.ResourceID, Name: name,
		TraceParent: observe.TraceParentOf(b.ApplicationData)}
	return m.obs.Start(ctx, op), op
}

// endPhaseTwo ends the operation startPhaseTwo started.
func (m *Manager) endPhaseTwo(ctx context.Context, op observe.Op, st protocol.BranchStatus, res protocol.Result) {
	if m.obs == nil {
		return
	}
	op.Result = st.String()
	if res.Code == protocol.ResultFailed && res.Msg != "" {
		op.Err = errors.New(res.Msg)
	}
	m.obs.End(ctx, op)
}

package rm

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// The trace context of a branch travels to the resource manager that runs
// its phase two as a top-level "traceparent" member of the branch's
// application data, a JSON object: the coordinator stores the data and
// sends it back in BranchCommit and BranchRollback. Seata's coordinators
// read only their own members of it ("autoCommit", "skipCheckLock"), and
// Seata's resource managers only theirs (TCC: "actionContext"), so the
// extra member is harmless to them. It is not added to data that is not a
// JSON object, that already has one, or that would then exceed the 2,000
// bytes of Seata's branch_table.application_data column.
const (
	traceParentKey    = `"traceparent"`
	maxAppDataWithTP  = 2000
	traceParentMaxLen = 55 // version-traceid-spanid-flags
)

// withTraceParent returns appData with tp added (see above).
func withTraceParent(appData, tp string) string {
	if tp == "" || len(tp) > traceParentMaxLen || !isTraceParent(tp) ||
		strings.Contains(appData, traceParentKey) {
		return appData
	}
	member := traceParentKey + `:"` + tp + `"`
	s := strings.TrimSpace(appData)
	switch {
	case s == "":
		return "{" + member + "}"
	case len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || len(s)+len(member)+1 > maxAppDataWithTP:
		return appData
	case strings.TrimSpace(s[1:len(s)-1]) == "":
		return "{" + member + "}"
	}
	return s[:len(s)-1] + "," + member + "}"
}

// isTraceParent reports whether tp holds only what a W3C traceparent may
// (lower-case hex and dashes), so that it needs no JSON escaping.
func isTraceParent(tp string) bool {
	for i := 0; i < len(tp); i++ {
		c := tp[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

// traceParentOf returns the traceparent member of a branch's application
// data, or "".
func traceParentOf(appData string) string {
	if !strings.Contains(appData, traceParentKey) {
		return ""
	}
	var v struct {
		TraceParent string `json:"traceparent"`
	}
	if json.Unmarshal([]byte(appData), &v) != nil || !isTraceParent(v.TraceParent) {
		return ""
	}
	return v.TraceParent
}

// startRegister starts the BranchRegister operation and returns the
// application data to register, with the caller's trace context.
func (m *Manager) startRegister(ctx context.Context, b Branch) (context.Context, observe.Op, string) {
	appData := withTraceParent(b.ApplicationData, m.obs.TraceParent(ctx))
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
		if errors.Is(err, rpc.ErrLockKeyConflict) || errors.Is(err, rpc.ErrLockKeyConflictFailFast) {
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
		TraceParent: traceParentOf(b.ApplicationData)}
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

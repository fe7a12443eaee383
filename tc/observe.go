package tc

import (
	"context"
	"errors"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// observedCalls reports every phase-two call of calls as a
// CoordinatorPhaseTwo operation.
type observedCalls struct {
	calls branchCaller
	obs   observe.Observer
}

func (o observedCalls) phaseTwo(ctx context.Context, commit bool, g *globalTx, b *branchTx) (protocol.BranchStatus, error) {
	op := phaseTwoOp(commit, b)
	ctx = o.obs.Start(ctx, op)
	st, err := o.calls.phaseTwo(ctx, commit, g, b)
	endPhaseTwoOp(&op, st, err)
	o.obs.End(ctx, op)
	return st, err
}

// mergeTarget implements mergingCaller when calls does; otherwise nothing
// is merged.
func (o observedCalls) mergeTarget(b *branchTx) *rpc.ServerSession {
	if m, ok := o.calls.(mergingCaller); ok {
		return m.mergeTarget(b)
	}
	return nil
}

// commitMerged reports each branch of a merged commit as a
// CoordinatorPhaseTwo operation of its own, as if it had been called
// alone: the counts by resource and status stay per branch.
func (o observedCalls) commitMerged(ctx context.Context, ss *rpc.ServerSession, calls []asyncCall) {
	ops := make([]observe.Op, len(calls))
	ctxs := make([]context.Context, len(calls))
	for i := range calls {
		ops[i] = phaseTwoOp(true, calls[i].b)
		ctxs[i] = o.obs.Start(ctx, ops[i])
	}
	o.calls.(mergingCaller).commitMerged(ctx, ss, calls) // mergeTarget found a mergingCaller
	for i := range calls {
		endPhaseTwoOp(&ops[i], calls[i].st, calls[i].err)
		o.obs.End(ctxs[i], ops[i])
	}
}

// phaseTwoOp is the CoordinatorPhaseTwo operation of a call for b.
func phaseTwoOp(commit bool, b *branchTx) observe.Op {
	op := observe.Op{Kind: observe.CoordinatorPhaseTwo, Start: time.Now(), XID: b.xid, BranchID: b.branchID,
		BranchType: b.branchType.String(), Resource: b.resourceID, Name: "rollback",
		TraceParent: observe.TraceParentOf(b.appData)}
	if commit {
		op.Name = "commit"
	}
	return op
}

// endPhaseTwoOp records a call's outcome in op.
func endPhaseTwoOp(op *observe.Op, st protocol.BranchStatus, err error) {
	op.Err, op.Result = err, st.String()
	if err != nil {
		op.Result = observe.ResultError
	}
}

// observedRequest handles a client's request as a CoordinatorRequest
// operation.
func observedRequest(ctx context.Context, o observe.Observer, req protocol.Message, handle func(context.Context) protocol.Message) protocol.Message {
	op := observe.Op{Kind: observe.CoordinatorRequest, Start: time.Now(), Name: req.TypeCode().String(), XID: protocol.XIDOf(req)}
	ctx = o.Start(ctx, op)
	resp := handle(ctx)
	op.Result = observe.ResultOK
	if res, ok := protocol.ResultOf(resp); ok && res.Code != protocol.ResultSuccess {
		op.Result = res.ExceptionCode.String()
		op.Err = &protocol.CoordinatorError{Code: res.ExceptionCode, Message: res.Msg, Type: req.TypeCode()}
	}
	if r, ok := req.(*protocol.BranchRegisterRequest); ok {
		op.BranchType, op.Resource = r.BranchType.String(), r.ResourceID
		if br, ok := resp.(*protocol.BranchRegisterResponse); ok {
			op.BranchID = br.BranchID
		}
	}
	o.End(ctx, op)
	return resp
}

// noteEnd reports that a transaction reached the end status to; beginMs
// is its begin time (Unix ms), 0 when unknown.
func (c *coordinator) noteEnd(xid, name string, to protocol.GlobalStatus, beginMs int64) {
	if c.obs == nil {
		return
	}
	op := observe.Op{Kind: observe.CoordinatorGlobalEnd, XID: xid, Name: name, Result: to.String()}
	if beginMs > 0 {
		op.Start = time.UnixMilli(beginMs)
	}
	c.obs.Event(c.ctx, op)
}

// refusedFor counts a refusal for Stats.Refused: by a limit or policy
// (err's message names it) or, for errNotOwner, "not_owner".
func (c *coordinator) refusedFor(err error) {
	if errors.Is(err, errNotOwner) {
		c.refusals.add("not_owner")
		return
	}
	var te *txError
	if errors.As(err, &te) {
		c.refusals.add(refusalReason(te.msg))
	}
}

package tcc

import (
	"context"
	"database/sql"
)

// Action is a TCC action: a try that reserves, a confirm that makes the
// reservation final, a cancel that releases it. Register turns it into a
// Participant.
//
// Try runs in the caller's goroutine, from Participant.Try. Confirm and
// Cancel run when the coordinator asks, on the resource manager's workers,
// possibly in another process than Try (any instance that registered an
// action of the same name), and possibly concurrently with each other for
// different branches; an Action must be safe for concurrent use.
//
// Without a fence (Config.Fence nil) the action itself must be idempotent
// and tolerate the three classic TCC anomalies:
//
//   - Confirm and Cancel may be called more than once for a branch (a lost
//     answer, a timeout, a coordinator restart), even concurrently;
//   - Cancel may be called for a branch whose Try failed or never ran (an
//     "empty rollback": the global transaction timed out, or Try's error
//     rolled it back);
//   - Try may run after Cancel ("suspension": Try was slow, the global
//     transaction timed out and rolled back meanwhile); what it reserves
//     then is never released.
//
// With a fence the Participant handles all three; see Config.Fence.
//
// Errors: a Confirm or Cancel error is a retryable failure (the
// coordinator calls again later) unless built with Unretryable. A panic is
// recovered by the resource manager and answered as a retryable failure.
// A Try error is returned by Participant.Try as it is; the launcher must
// then roll the global transaction back, which calls Cancel.
type Action interface {
	// Name is the action name, which is also the resource id of its
	// branches at the coordinator. It must be the same in every instance
	// of the service and never change: phase two is routed by it. It must
	// not be empty nor contain a comma; with a fence it is at most 64
	// bytes (the action_name column).
	Name() string
	// Try reserves the resources for the branch ac describes.
	Try(ctx context.Context, ac *ActionContext) error
	// Confirm makes the branch's reservation final.
	Confirm(ctx context.Context, ac *ActionContext) error
	// Cancel releases the branch's reservation.
	Cancel(ctx context.Context, ac *ActionContext) error
}

// ActionContext describes the branch an Action method works on. The
// library builds a new one for every call; the action may keep it for the
// duration of the call only.
type ActionContext struct {
	// XID is the global transaction, BranchID the branch the coordinator
	// assigned to this Try.
	XID      string
	BranchID int64
	// ActionName is the action's Name.
	ActionName string
	// Params are the parameters Participant.Try was given, as they
	// travelled through the coordinator (the same in all three methods).
	Params ParamsView
	// Retry is set in Confirm and Cancel when this Participant has called
	// the same method for the same branch before (at most the last 4096
	// branches are remembered): the earlier call failed, panicked, ran out
	// of time, or succeeded and the coordinator did not get the answer.
	// It is false in Try. False does not prove a first call: an earlier
	// call may have run in another process, or before a restart.
	//
	// With a fence, Confirm and Cancel are only called while the branch is
	// still "tried" in the fence and their database work commits with the
	// fence update, so a Retry there means an earlier call failed and its
	// transaction was rolled back; only side effects outside Tx may have
	// happened already.
	Retry bool
	// Tx is set for actions with a fence: the local transaction on
	// Config.Fence holding the fence row of this call. The action should
	// do its database work in it, so that the work and the fence row
	// commit or roll back together. The Participant commits Tx when the
	// method returns nil and rolls it back otherwise; the action must not
	// Commit or Rollback it. Nil without a fence.
	Tx *sql.Tx
}

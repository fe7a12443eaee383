// Package rm is the resource manager: it keeps the resources registered
// by the AT data sources and TCC actions of a client, registers their
// branches with the coordinator, reports branch status, queries global
// locks, and runs phase two when the coordinator asks.
//
// # For resource implementers (AT, TCC)
//
// Implement Resource and register it once, before its first branch:
//
//	m := client.RM()
//	if err := m.Register(ctx, myResource); err != nil { ... }
//
// In phase one, with the context of the business call:
//
//	xid, ok := tm.XID(ctx) // no XID: not in a global transaction
//	branchID, err := m.BranchRegister(ctx, rm.Branch{
//		XID: xid, BranchType: protocol.BranchAT, ResourceID: id,
//		LockKeys: "orders:17", // AT only
//	})
//
// In phase two the coordinator calls the resource's BranchCommit or
// BranchRollback with the XID and branch id; see Resource for what to
// return. The Manager translates the request into the resource's call and
// its result into the answer (an unknown resource or an error yields a
// retryable failure status); the client's transport runs it on its worker
// pool under a deadline and answers the coordinator exactly once, with a
// retryable failure status when the call panics or runs out of time.
//
// A Manager is safe for concurrent use. It belongs to an atcc.Client,
// which closes it.
package rm

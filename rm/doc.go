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
// return. The Manager answers the coordinator in every case: an unknown
// resource, an error, a panic or a handler that runs out of time yields a
// retryable failure status, never silence.
//
// A Manager is safe for concurrent use. It belongs to an atcc.Client,
// which closes it.
package rm

package rm_test

import (
	"context"
	"log"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// reservations is a TCC-style resource: phase one reserves, phase two
// confirms or cancels. Both phase-two methods are idempotent.
type reservations struct{}

func (reservations) ResourceID() string              { return "inventory-reserve" }
func (reservations) BranchType() protocol.BranchType { return protocol.BranchTCC }

func (reservations) BranchCommit(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	if err := confirm(ctx, b.XID, b.BranchID); err != nil {
		return protocol.PhaseTwoCommitFailedRetryable, err // the coordinator retries
	}
	return protocol.PhaseTwoCommitted, nil
}

func (reservations) BranchRollback(ctx context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	if err := cancel(ctx, b.XID, b.BranchID); err != nil {
		return protocol.PhaseTwoRollbackFailedRetryable, err
	}
	return protocol.PhaseTwoRollbacked, nil
}

func confirm(context.Context, string, int64) error { return nil }
func cancel(context.Context, string, int64) error  { return nil }

var client *atcc.Client // from atcc.New

func ExampleManager_Register() {
	ctx := context.Background()
	if err := client.RM().Register(ctx, reservations{}); err != nil {
		log.Fatal(err)
	}
}

func ExampleManager_BranchRegister() {
	reserve := func(ctx context.Context, item string) error {
		xid, ok := tm.XID(ctx)
		if !ok {
			return nil // not in a global transaction: nothing to register
		}
		branchID, err := client.RM().BranchRegister(ctx, rm.Branch{
			XID:             xid,
			BranchType:      protocol.BranchTCC,
			ResourceID:      reservations{}.ResourceID(),
			ApplicationData: `{"item":"` + item + `"}`,
		})
		if err != nil {
			return err // the caller's error makes the launcher roll back
		}
		log.Printf("reserved %s as branch %d", item, branchID)
		return nil
	}
	_ = reserve
}

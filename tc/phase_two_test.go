package tc

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// TestPhaseTwoSkipsBranchesWithoutWork commits and rolls back transactions
// holding a branch whose phase one failed and one that was read-only: the
// RM is asked about neither, and their row locks are freed all the same.
// The all-AT commit runs in the background (AsyncCommitting), the mixed one
// before the answer.
func TestPhaseTwoSkipsBranchesWithoutWork(t *testing.T) {
	for _, tt := range []struct {
		name       string
		commit     bool
		types      [4]protocol.BranchType // done, failed, read-only, done
		wantAnswer protocol.GlobalStatus
	}{
		{"all AT commit", true, [4]protocol.BranchType{protocol.BranchAT, protocol.BranchAT, protocol.BranchAT, protocol.BranchAT}, protocol.GlobalCommitted},
		{"mixed commit", true, [4]protocol.BranchType{protocol.BranchTCC, protocol.BranchAT, protocol.BranchTCC, protocol.BranchAT}, protocol.GlobalCommitted},
		{"mixed rollback", false, [4]protocol.BranchType{protocol.BranchAT, protocol.BranchAT, protocol.BranchTCC, protocol.BranchTCC}, protocol.GlobalRollbacked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachCore(t, nil, func(t *testing.T, c *testCore) {
				ctx := context.Background()
				xid := c.begin(t, time.Minute)
				var ids []int64
				for i, typ := range tt.types {
					key := ""
					if typ == protocol.BranchAT {
						key = "t:" + string(rune('1'+i))
					}
					ids = append(ids, c.register(t, xid, typ, key))
				}
				failed, readOnly := ids[1], ids[2]
				for b, st := range map[int64]protocol.BranchStatus{failed: protocol.PhaseOneFailed, readOnly: protocol.PhaseOneRDOnly} {
					if err := c.reportBranch(ctx, &protocol.BranchReportRequest{XID: xid, BranchID: b, Status: st}); err != nil {
						t.Fatal(err)
					}
				}
				op := c.rollback
				if tt.commit {
					op = c.commit
				}
				if st, err := op(ctx, xid); err != nil || st != tt.wantAnswer {
					t.Fatal(st, err)
				}
				// The end status is recorded only after every branch was
				// visited, so from here on no delivery can still come.
				c.waitStatus(t, xid, tt.wantAnswer)
				want := []int64{ids[0], ids[3]}
				if !tt.commit {
					want = []int64{ids[3], ids[0]}
				}
				if got := c.rm.order(xid); !slices.Equal(got, want) {
					t.Fatalf("phase two reached branches %v, want %v (phase one failed: %d, read-only: %d)", got, want, failed, readOnly)
				}
				if !c.lockable(t, "", "t:1;t:2;t:3;t:4") {
					t.Fatal("row locks kept")
				}
			})
		})
	}
}

// TestLeaseRenewedDuringLongPhaseTwo drives a commit whose three branches
// each take more than half the lease, while a second coordinator scans the
// same MySQL store. The driving coordinator must push its lease forward
// before each call, so the stored deadline moves and the second one never
// takes the transaction over: every branch is committed exactly once.
func TestLeaseRenewedDuringLongPhaseTwo(t *testing.T) {
	t.Parallel()
	const lease = time.Second
	const call = 600 * time.Millisecond // more than half the lease
	s := openMySQLStore(t)
	rm := &fakeRM{}
	// a's own scan loop would renew its lease too, when it runs out (a
	// claim of a transaction driven here already); only b scans.
	a := newTestCoreRM(t, s, rm, func(c *coreConfig) { c.owner, c.lease, c.retryPeriod = "coordinator-a", lease, time.Hour })
	newTestCoreRM(t, reopen(t, s), rm, func(c *coreConfig) { c.owner, c.lease = "coordinator-b", lease })

	type seen struct {
		at, dueAt int64
		owner     string
	}
	var mu sync.Mutex
	var calls []seen
	rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
		g, err := s.global(context.Background(), b.xid)
		mu.Lock()
		if err == nil {
			calls = append(calls, seen{time.Now().UnixMilli(), g.dueAt, g.owner})
		}
		mu.Unlock()
		time.Sleep(call) // the RM's work
		return protocol.PhaseTwoCommitted, nil
	})

	xid := a.begin(t, time.Minute)
	var ids []int64
	for range 3 {
		ids = append(ids, a.register(t, xid, protocol.BranchTCC, ""))
	}
	if st, err := a.commit(context.Background(), xid); err != nil || st != protocol.GlobalCommitted {
		t.Errorf("commit answered %v, %v; want Committed", st, err)
	}
	a.waitStatus(t, xid, protocol.GlobalCommitted)
	for _, b := range ids {
		if n := rm.deliveries(true, xid, b); n != 1 {
			t.Errorf("branch %d committed %d times, want once (order %v)", b, n, rm.order(xid))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != len(ids) {
		t.Fatalf("%d calls, want %d: %+v", len(calls), len(ids), calls)
	}
	for i, c := range calls {
		if c.owner != "coordinator-a" || c.dueAt-c.at < call.Milliseconds() {
			t.Errorf("call %d at %d: owner %q, lease until %d; want coordinator-a with a lease outlasting the call", i, c.at, c.owner, c.dueAt)
		}
		if i > 0 && c.dueAt <= calls[i-1].dueAt {
			t.Errorf("call %d: the stored deadline did not move (%d, then %d)", i, calls[i-1].dueAt, c.dueAt)
		}
	}
}

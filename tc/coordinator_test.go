package tc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func forEachCore(t *testing.T, edit func(*coreConfig), f func(t *testing.T, c *testCore)) {
	forEachStore(t, func(t *testing.T, s store) { f(t, newTestCore(t, s, edit)) })
}

func TestBeginCommitEmpty(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		ctx := context.Background()
		xid := c.begin(t, time.Minute)
		if !strings.HasPrefix(xid, "127.0.0.1:8091:") {
			t.Fatalf("xid %q", xid)
		}
		if id, ok := txIDOf(xid); !ok || id <= 0 {
			t.Fatalf("xid %q", xid)
		}
		if st := c.mustStatus(t, xid); st != protocol.GlobalBegin {
			t.Fatal(st)
		}
		st, err := c.commit(ctx, xid)
		if err != nil || st != protocol.GlobalCommitted {
			t.Fatal(st, err)
		}
		// The outcome is remembered: a retried commit, a status query, a
		// late rollback all learn it.
		if st, _ := c.commit(ctx, xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		if st := c.mustStatus(t, xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		if st, _ := c.rollback(ctx, xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		if _, err := c.tryRegister(xid, protocol.BranchAT, "t:1", ""); codeOf(err) != protocol.CodeGlobalTransactionNotActive {
			t.Fatalf("late register: %v", err)
		}
	})
}

func TestBeginRollbackEmpty(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, 0) // default timeout
		st, err := c.rollback(context.Background(), xid)
		if err != nil || st != protocol.GlobalRollbacked {
			t.Fatal(st, err)
		}
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
	})
}

func TestUnknownXID(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		ctx := context.Background()
		for _, xid := range []string{"127.0.0.1:8091:1", "", "garbage"} {
			for name, f := range map[string]func(context.Context, string) (protocol.GlobalStatus, error){
				"commit": c.commit, "rollback": c.rollback, "status": c.status,
			} {
				if st, err := f(ctx, xid); err != nil || st != protocol.GlobalFinished {
					t.Fatalf("%s(%q) = %v, %v; want Finished", name, xid, st, err)
				}
			}
			if _, err := c.tryRegister(xid, protocol.BranchTCC, "", ""); codeOf(err) != protocol.CodeGlobalTransactionNotExist {
				t.Fatalf("register: %v", err)
			}
			err := c.reportBranch(ctx, &protocol.BranchReportRequest{XID: xid, BranchID: 1, Status: protocol.PhaseOneDone})
			if codeOf(err) != protocol.CodeGlobalTransactionNotExist {
				t.Fatalf("report: %v", err)
			}
			if st, err := c.globalReport(ctx, xid, protocol.GlobalCommitted); err != nil || st != protocol.GlobalCommitted {
				t.Fatal(st, err)
			}
			if st, err := c.globalReport(ctx, xid, protocol.GlobalStatusUnset); err != nil || st != protocol.GlobalFinished {
				t.Fatal(st, err)
			}
		}
	})
}

func TestForgetEndsWithoutRetention(t *testing.T) {
	forEachCore(t, func(c *coreConfig) { c.retention = -1 }, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		if st := c.mustStatus(t, xid); st != protocol.GlobalFinished {
			t.Fatal(st)
		}
	})
}

func TestATCommitIsAsyncAndReleasesLocksFirst(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		ctx := context.Background()
		release := testgate.New(t)
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			release.Wait()
			return protocol.PhaseTwoCommitted, nil
		})
		xid := c.begin(t, time.Minute)
		b1 := c.register(t, xid, protocol.BranchAT, "t:1,2")
		b2 := c.register(t, xid, protocol.BranchAT, "u:1")
		other := c.begin(t, time.Minute)
		if c.lockable(t, other, "t:2") {
			t.Fatal("t:2 should be locked")
		}
		st, err := c.commit(ctx, xid)
		if err != nil || st != protocol.GlobalCommitted {
			t.Fatal(st, err)
		}
		// Answered before phase two; the locks are free already.
		if !c.lockable(t, other, "t:1,2;u:1") {
			t.Fatal("locks not released at commit")
		}
		c.register(t, other, protocol.BranchAT, "t:1")
		if st := c.mustStatus(t, xid); st != protocol.GlobalAsyncCommitting {
			t.Fatal(st)
		}
		release.Open()
		c.waitStatus(t, xid, protocol.GlobalCommitted)
		if c.rm.deliveries(true, xid, b1) != 1 || c.rm.deliveries(true, xid, b2) != 1 {
			t.Fatal(c.rm.log)
		}
	})
}

func TestTCCCommitIsSync(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		b1 := c.register(t, xid, protocol.BranchTCC, "")
		b2 := c.register(t, xid, protocol.BranchAT, "t:1")
		st, err := c.commit(context.Background(), xid)
		if err != nil || st != protocol.GlobalCommitted {
			t.Fatal(st, err)
		}
		// Both delivered before the answer, in registration order.
		if got := c.rm.order(xid); !slices.Equal(got, []int64{b1, b2}) {
			t.Fatalf("order %v", got)
		}
		if st := c.mustStatus(t, xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
	})
}

func TestRollbackReverseOrder(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		var ids []int64
		for i := range 4 {
			ids = append(ids, c.register(t, xid, protocol.BranchAT, fmt.Sprintf("t:%d", i)))
		}
		other := c.begin(t, time.Minute)
		st, err := c.rollback(context.Background(), xid)
		if err != nil || st != protocol.GlobalRollbacked {
			t.Fatal(st, err)
		}
		slices.Reverse(ids)
		if got := c.rm.order(xid); !slices.Equal(got, ids) {
			t.Fatalf("order %v, want %v", got, ids)
		}
		if !c.lockable(t, other, "t:0,1,2,3") {
			t.Fatal("locks kept after rollback")
		}
	})
}

func TestPhaseOneFailedBranchIsNotCalled(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		ctx := context.Background()
		xid := c.begin(t, time.Minute)
		done := c.register(t, xid, protocol.BranchTCC, "")
		failed := c.register(t, xid, protocol.BranchAT, "t:1")
		if err := c.reportBranch(ctx, &protocol.BranchReportRequest{XID: xid, BranchID: failed, Status: protocol.PhaseOneFailed}); err != nil {
			t.Fatal(err)
		}
		if st, _ := c.rollback(ctx, xid); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
		if got := c.rm.order(xid); !slices.Equal(got, []int64{done}) {
			t.Fatalf("calls %v", got)
		}
		if !c.lockable(t, "", "t:1") {
			t.Fatal("lock of the failed branch kept")
		}
	})
}

func TestReportBranchRefusals(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		ctx := context.Background()
		xid := c.begin(t, time.Minute)
		b := c.register(t, xid, protocol.BranchTCC, "")
		err := c.reportBranch(ctx, &protocol.BranchReportRequest{XID: xid, BranchID: b, Status: protocol.PhaseTwoCommitted})
		if codeOf(err) != protocol.CodeBranchReportFailed {
			t.Fatalf("phase-two status: %v", err)
		}
		err = c.reportBranch(ctx, &protocol.BranchReportRequest{XID: xid, BranchID: b + 1000, Status: protocol.PhaseOneDone})
		if codeOf(err) != protocol.CodeBranchTransactionNotExist {
			t.Fatalf("unknown branch: %v", err)
		}
	})
}

func TestRegisterRefusals(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		for _, tc := range []struct {
			typ      protocol.BranchType
			resource string
			lockKey  string
			appData  string
		}{
			{protocol.BranchSAGA, "r", "", ""},
			{protocol.BranchType(9), "r", "", ""},
			{protocol.BranchTCC, "", "", ""},
			{protocol.BranchTCC, strings.Repeat("é", maxResourceIDLen+1), "", ""},
			{protocol.BranchAT, "r", "t1:1;nocolon", ""},
			{protocol.BranchAT, "r", ":1", ""},
			{protocol.BranchAT, "r", "t:", ""},
			{protocol.BranchAT, "r", "t:" + strings.Repeat("x", maxRowKeyLen), ""},
			{protocol.BranchTCC, "r", "", strings.Repeat("x", maxApplicationDataLen+1)},
		} {
			_, err := c.registerBranch(context.Background(), rmPeer, &protocol.BranchRegisterRequest{
				XID: xid, BranchType: tc.typ, ResourceID: tc.resource, LockKey: tc.lockKey, ApplicationData: tc.appData})
			if codeOf(err) != protocol.CodeBranchRegisterFailed {
				t.Errorf("%v %q %q: %v", tc.typ, clip(tc.resource), clip(tc.lockKey), err)
			}
		}
		// Nothing was registered or locked.
		if !c.lockable(t, "", "t1:1") {
			t.Fatal("locked")
		}
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		if len(c.rm.log) != 0 {
			t.Fatal(c.rm.log)
		}
	})
}

func TestLockConflicts(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		a, b := c.begin(t, time.Minute), c.begin(t, time.Minute)
		c.register(t, a, protocol.BranchAT, "t:1,2")
		_, err := c.tryRegister(b, protocol.BranchAT, "t:3;t:2", "")
		if codeOf(err) != protocol.CodeLockKeyConflict {
			t.Fatalf("conflict: %v", err)
		}
		if !c.lockable(t, b, "t:3") || c.lockable(t, b, "t:1") || !c.lockable(t, a, "t:1,2") {
			t.Fatal("lockable")
		}
		c.register(t, a, protocol.BranchAT, "t:2,3") // same transaction: no conflict
		// A TCC branch takes no locks whatever its lock key says.
		c.register(t, b, protocol.BranchTCC, "t:1")
		if st, _ := c.rollback(context.Background(), a); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
		c.register(t, b, protocol.BranchAT, "t:1,2,3")
	})
}

func TestLockConflictFailFast(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		release := testgate.New(t)
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			release.Wait()
			return protocol.PhaseTwoRollbacked, nil
		})
		a, b := c.begin(t, time.Minute), c.begin(t, time.Minute)
		c.register(t, a, protocol.BranchAT, "t:1")
		done := make(chan protocol.GlobalStatus)
		go func() {
			st, _ := c.rollback(context.Background(), a)
			done <- st
		}()
		c.waitStatus(t, a, protocol.GlobalRollbacking)
		_, err := c.tryRegister(b, protocol.BranchAT, "t:1", `{"autoCommit":false}`)
		if codeOf(err) != protocol.CodeLockKeyConflictFailFast {
			t.Fatalf("holder rolling back, autoCommit=false: %v", err)
		}
		_, err = c.tryRegister(b, protocol.BranchAT, "t:1", `{"autoCommit":true}`)
		if codeOf(err) != protocol.CodeLockKeyConflict {
			t.Fatalf("autoCommit=true: %v", err)
		}
		release.Open()
		if st := <-done; st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
	})
}

func TestTimeoutRollsBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		clock := &testClock{}
		c := newTestCore(t, s, func(cfg *coreConfig) { cfg.now = clock.now })
		xid := c.begin(t, time.Minute)
		b := c.register(t, xid, protocol.BranchAT, "t:1")
		clock.advance(time.Minute)
		c.waitStatus(t, xid, protocol.GlobalTimeoutRollbacked)
		if c.rm.deliveries(false, xid, b) != 1 || c.rm.deliveries(true, xid, b) != 0 {
			t.Fatal(c.rm.log)
		}
		if !c.lockable(t, "", "t:1") {
			t.Fatal("lock kept")
		}
		// The TM's commit arrives too late and learns it.
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalTimeoutRollbacked {
			t.Fatal(st)
		}
	})
}

func TestCommitPastDeadlineRollsBack(t *testing.T) {
	// The scan loop is slow here, so the commit finds the transaction still
	// in Begin after its deadline.
	forEachCore(t, func(c *coreConfig) { c.retryPeriod = time.Hour }, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Millisecond)
		b := c.register(t, xid, protocol.BranchTCC, "")
		time.Sleep(5 * time.Millisecond)
		st, err := c.commit(context.Background(), xid)
		if err != nil || st != protocol.GlobalTimeoutRollbacked {
			t.Fatal(st, err)
		}
		if c.rm.deliveries(false, xid, b) != 1 || c.rm.deliveries(true, xid, b) != 0 {
			t.Fatal(c.rm.log)
		}
	})
}

// TestCommitRacesTimeout commits transactions right at their deadline: each
// must end either committed or rolled back, and its branch must see only
// that phase two.
func TestCommitRacesTimeout(t *testing.T) {
	forEachCore(t, func(c *coreConfig) { c.retryPeriod = 2 * time.Millisecond }, func(t *testing.T, c *testCore) {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				xid := c.begin(t, time.Duration(20+i%10)*time.Millisecond)
				b, err := c.tryRegister(xid, protocol.BranchTCC, "", "")
				if err != nil { // timed out already
					if codeOf(err) != protocol.CodeGlobalTransactionNotActive {
						t.Error(err)
					}
					return
				}
				time.Sleep(time.Duration(18+i%5) * time.Millisecond)
				st, err := c.commit(context.Background(), xid)
				if err != nil {
					t.Error(err)
					return
				}
				final := c.waitStatus(t, xid, protocol.GlobalCommitted, protocol.GlobalTimeoutRollbacked)
				commits, rollbacks := c.rm.deliveries(true, xid, b), c.rm.deliveries(false, xid, b)
				switch final {
				case protocol.GlobalCommitted:
					if st != protocol.GlobalCommitted || commits != 1 || rollbacks != 0 {
						t.Errorf("%s: answered %v, %d commits, %d rollbacks", xid, st, commits, rollbacks)
					}
				case protocol.GlobalTimeoutRollbacked:
					if !isTimeoutRollback(st) || commits != 0 || rollbacks != 1 {
						t.Errorf("%s: answered %v, %d commits, %d rollbacks", xid, st, commits, rollbacks)
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestCommitRetriesUntilTheRMSucceeds(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		const failures = 3
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			switch {
			case n > failures:
				return protocol.PhaseTwoCommitted, nil
			case n%2 == 0:
				return 0, errors.New("timeout")
			}
			return protocol.PhaseTwoCommitFailedRetryable, nil
		})
		xid := c.begin(t, time.Minute)
		b := c.register(t, xid, protocol.BranchTCC, "")
		st, err := c.commit(context.Background(), xid)
		if err != nil || st != protocol.GlobalCommitRetrying {
			t.Fatal(st, err)
		}
		c.waitStatus(t, xid, protocol.GlobalCommitted)
		if n := c.rm.deliveries(true, xid, b); n != failures+1 {
			t.Fatalf("%d deliveries", n)
		}
		if len(c.logs.find(slog.LevelWarn, "will retry")) != 1 {
			t.Fatal("the first failure should be logged once at Warn")
		}
	})
}

func TestAsyncCommitRetries(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			if n <= 2 {
				return protocol.PhaseTwoCommitFailedRetryable, nil
			}
			return protocol.PhaseTwoCommitted, nil
		})
		xid := c.begin(t, time.Minute)
		b1 := c.register(t, xid, protocol.BranchAT, "t:1")
		b2 := c.register(t, xid, protocol.BranchAT, "t:2")
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		c.waitStatus(t, xid, protocol.GlobalCommitted)
		if c.rm.deliveries(true, xid, b1) != 3 || c.rm.deliveries(true, xid, b2) != 3 {
			t.Fatal(c.rm.log)
		}
	})
}

func TestRollbackRetriesStopAtTheFailingBranch(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		first := c.register(t, xid, protocol.BranchAT, "t:1")
		last := c.register(t, xid, protocol.BranchAT, "t:2")
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			if b.branchID == last && n <= 2 {
				return protocol.PhaseTwoRollbackFailedRetryable, nil
			}
			return protocol.PhaseTwoRollbacked, nil
		})
		st, _ := c.rollback(context.Background(), xid)
		if st != protocol.GlobalRollbackRetrying {
			t.Fatal(st)
		}
		if c.lockable(t, "", "t:1") || c.lockable(t, "", "t:2") {
			t.Fatal("locks released before the rollback finished")
		}
		c.waitStatus(t, xid, protocol.GlobalRollbacked)
		// The first branch is called only once the last one is undone.
		if got := c.rm.order(xid); !slices.Equal(got, []int64{last, last, last, first}) {
			t.Fatalf("order %v", got)
		}
	})
}

func TestTimeoutRollbackRetries(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		clock := &testClock{}
		c := newTestCore(t, s, func(cfg *coreConfig) { cfg.now = clock.now })
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			if n == 1 {
				return 0, errors.New("broken connection")
			}
			return protocol.PhaseTwoRollbacked, nil
		})
		xid := c.begin(t, time.Minute)
		c.register(t, xid, protocol.BranchTCC, "")
		clock.advance(time.Minute)
		c.waitStatus(t, xid, protocol.GlobalTimeoutRollbackRetrying, protocol.GlobalTimeoutRollbacked)
		c.waitStatus(t, xid, protocol.GlobalTimeoutRollbacked)
	})
}

func TestRollbackUnretryableKeepsLocks(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		xid := c.begin(t, time.Minute)
		undone := c.register(t, xid, protocol.BranchAT, "t:1")
		dirty := c.register(t, xid, protocol.BranchAT, "t:2")
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			if b.branchID == dirty {
				return protocol.PhaseTwoRollbackFailedUnretryable, nil
			}
			return protocol.PhaseTwoRollbacked, nil
		})
		if st, _ := c.rollback(context.Background(), xid); st != protocol.GlobalRollbackFailed {
			t.Fatal(st)
		}
		if c.rm.deliveries(false, xid, undone) != 0 {
			t.Fatal("an earlier branch was rolled back after a later one failed")
		}
		if c.lockable(t, "", "t:1") || c.lockable(t, "", "t:2") {
			t.Fatal("RollbackFailed must keep the row locks")
		}
		other := c.begin(t, time.Minute)
		if _, err := c.tryRegister(other, protocol.BranchAT, "t:2", ""); codeOf(err) != protocol.CodeLockKeyConflict {
			t.Fatal(err)
		}
		recs := c.logs.find(slog.LevelError, "needs manual action")
		if len(recs) != 1 || attr(recs[0], "xid") != xid || attr(recs[0], "status") != "RollbackFailed" || attr(recs[0], "branch_id") != fmt.Sprint(dirty) {
			t.Fatalf("log %v", recs)
		}
		// Nobody retries it: a later scan leaves it alone.
		c.scanPassed(t)
		c.unclaimed(t, xid, protocol.GlobalRollbackFailed)
		if got := c.rm.order(xid); len(got) != 1 {
			t.Fatal(got)
		}
	})
}

func TestCommitUnretryable(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			return protocol.PhaseTwoCommitFailedUnretryable, nil
		})
		xid := c.begin(t, time.Minute)
		c.register(t, xid, protocol.BranchTCC, "")
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitFailed {
			t.Fatal(st)
		}
		if len(c.logs.find(slog.LevelError, "needs manual action")) != 1 {
			t.Fatal("not logged")
		}
	})
}

func TestMaxRetryTimeouts(t *testing.T) {
	forEachCore(t, func(c *coreConfig) {
		c.maxCommitRetry = 100 * time.Millisecond
		c.maxRollbackRetry = 100 * time.Millisecond
	}, func(t *testing.T, c *testCore) {
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			return 0, errors.New("down")
		})
		commit, rollback := c.begin(t, time.Minute), c.begin(t, time.Minute)
		c.register(t, commit, protocol.BranchTCC, "")
		c.register(t, rollback, protocol.BranchAT, "t:1")
		c.commit(context.Background(), commit)
		c.rollback(context.Background(), rollback)
		c.waitStatus(t, commit, protocol.GlobalCommitRetryTimeout)
		c.waitStatus(t, rollback, protocol.GlobalRollbackRetryTimeout)
		if c.lockable(t, "", "t:1") {
			t.Fatal("RollbackRetryTimeout must keep the row locks")
		}
		eventually(t, func() bool { return len(c.logs.find(slog.LevelError, "needs manual action")) == 2 }, "not logged")
	})
}

func TestSessionRegisteredTriggersRetry(t *testing.T) {
	// Retries are an hour apart: only the registration can bring the
	// branch's phase two in time.
	forEachCore(t, func(c *coreConfig) {
		c.retryPeriod = time.Hour
		c.backoffMax = time.Hour
	}, func(t *testing.T, c *testCore) {
		var connected atomic.Bool
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			if !connected.Load() {
				return 0, &noSessionError{resourceID: b.resourceID}
			}
			return protocol.PhaseTwoCommitted, nil
		})
		xid := c.begin(t, time.Minute)
		c.register(t, xid, protocol.BranchTCC, "")
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitRetrying {
			t.Fatal(st)
		}
		connected.Store(true)
		c.sessionRegistered([]string{"other"})
		c.scanPassed(t)
		c.unclaimed(t, xid, protocol.GlobalCommitRetrying) // not retried for an unrelated resource
		c.sessionRegistered([]string{"jdbc:mysql://db/r"})
		c.waitStatus(t, xid, protocol.GlobalCommitted)
	})
}

func TestShutdownWaitsForPhaseTwo(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		c := newTestCore(t, s, nil)
		release := testgate.New(t)
		var returned atomic.Bool // the RM answered
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			release.Wait()
			returned.Store(true)
			return protocol.PhaseTwoCommitted, nil
		})
		xid := c.begin(t, time.Minute)
		b := c.register(t, xid, protocol.BranchAT, "t:1")
		if st, _ := c.commit(context.Background(), xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
		eventually(t, func() bool { return c.rm.deliveries(true, xid, b) == 1 }, "no delivery")
		done := make(chan error, 1)
		go func() {
			err := c.shutdown(context.Background())
			if !returned.Load() {
				err = errors.New("shutdown returned while the RM was still working")
			}
			done <- err
		}()
		eventually(t, c.isClosing, "shutdown did not start")
		release.Open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if g, _ := reopen(t, s).global(context.Background(), xid); g.status != protocol.GlobalCommitted {
			t.Fatal(g.status)
		}
	})
}

func TestShutdownDeadlineHandsTransactionsBack(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		c := newTestCore(t, s, nil)
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			<-c.ctx.Done() // an RM call ends when phase two is cancelled
			return 0, errors.New("cancelled")
		})
		xid := c.begin(t, time.Minute)
		c.register(t, xid, protocol.BranchAT, "t:1")
		c.commit(context.Background(), xid)
		eventually(t, func() bool { return len(c.rm.order(xid)) == 1 }, "no delivery")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if err := c.shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		g, _ := reopen(t, s).global(context.Background(), xid)
		if g.status != protocol.GlobalAsyncCommitting || g.owner != "" {
			t.Fatalf("%+v", g)
		}
	})
}

package tc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// registerOn registers an AT branch of xid on resource.
func (c *testCore) registerOn(t testing.TB, xid, resource, lockKey string) int64 {
	t.Helper()
	id, err := c.registerBranch(context.Background(), rmPeer, &protocol.BranchRegisterRequest{
		XID: xid, BranchType: protocol.BranchAT, ResourceID: resource, LockKey: lockKey})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Many AT transactions committed at once: each is answered Committed at
// once, every branch gets exactly one BranchCommit, every transaction ends
// Committed, and its locks are free from the answer on.
func TestAsyncCommitBatches(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		type tx struct {
			xid string
			bs  []int64
		}
		txs := make([]tx, 20)
		for i := range txs {
			xid := c.begin(t, time.Minute)
			txs[i] = tx{xid, []int64{
				c.registerOn(t, xid, "db2", "t:"+strconv.Itoa(2*i)),
				c.registerOn(t, xid, "db1", "t:"+strconv.Itoa(2*i+1)),
			}}
		}
		var wg sync.WaitGroup
		for _, x := range txs {
			wg.Go(func() {
				st, err := c.commit(context.Background(), x.xid)
				if err != nil || st != protocol.GlobalCommitted {
					t.Errorf("commit %s: %v, %v", x.xid, st, err)
				}
			})
		}
		wg.Wait()
		for i, x := range txs {
			if !c.lockable(t, "other", "t:"+strconv.Itoa(2*i)) {
				t.Errorf("row lock of %s held after the commit was answered", x.xid)
			}
		}
		for _, x := range txs {
			c.waitStatus(t, x.xid, protocol.GlobalCommitted)
			for _, b := range x.bs {
				if n := c.rm.deliveries(true, x.xid, b); n != 1 {
					t.Errorf("%s branch %d: %d BranchCommits, want 1", x.xid, b, n)
				}
			}
			if bs, err := c.st.branches(context.Background(), x.xid); err != nil || len(bs) != 0 {
				t.Errorf("%s: branches left %v, %v", x.xid, bs, err)
			}
		}
	})
}

// A branch whose commit fails is retried alone; the other branches of its
// transaction, and the other transactions of the batch, are done at once.
// A branch that cannot be committed ends its transaction CommitFailed.
func TestAsyncCommitRetriesFailedBranchesOnly(t *testing.T) {
	forEachCore(t, nil, func(t *testing.T, c *testCore) {
		retry, fail, fine := c.begin(t, time.Minute), c.begin(t, time.Minute), c.begin(t, time.Minute)
		r1 := c.registerOn(t, retry, "db1", "t:1")
		r2 := c.registerOn(t, retry, "db2", "t:2")
		f1 := c.registerOn(t, fail, "db1", "t:3")
		ok1 := c.registerOn(t, fine, "db1", "t:4")
		c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
			switch {
			case b.branchID == r2 && n == 1:
				return 0, errors.New("connection lost")
			case b.branchID == f1:
				return protocol.PhaseTwoCommitFailedUnretryable, nil
			}
			return protocol.PhaseTwoCommitted, nil
		})
		for _, xid := range []string{retry, fail, fine} {
			if st, err := c.commit(context.Background(), xid); err != nil || st != protocol.GlobalCommitted {
				t.Fatalf("commit %s: %v, %v", xid, st, err)
			}
		}
		c.waitStatus(t, fine, protocol.GlobalCommitted)
		c.waitStatus(t, fail, protocol.GlobalCommitFailed)
		c.waitStatus(t, retry, protocol.GlobalCommitted)
		if a, b, d := c.rm.deliveries(true, retry, r1), c.rm.deliveries(true, retry, r2), c.rm.deliveries(true, fine, ok1); a != 1 || b != 2 || d != 1 {
			t.Errorf("BranchCommits: %d and %d for the retried transaction (want 1, 2), %d for the fine one (want 1)", a, b, d)
		}
	})
}

// Shutdown waits for the commits the committer holds (they are driven
// here); Close hands what it could not finish back to the store, where it
// stays AsyncCommitting, unowned, for the next coordinator.
func TestAsyncCommitShutdown(t *testing.T) {
	t.Run("drain finishes the queue", func(t *testing.T) {
		forEachCore(t, nil, func(t *testing.T, c *testCore) {
			var xids []string
			for i := range 10 {
				xid := c.begin(t, time.Minute)
				c.registerOn(t, xid, "db1", "t:"+strconv.Itoa(i))
				if st, err := c.commit(context.Background(), xid); err != nil || st != protocol.GlobalCommitted {
					t.Fatalf("commit: %v, %v", st, err)
				}
				xids = append(xids, xid)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.drain(ctx); err != nil {
				t.Fatal(err)
			}
			for _, xid := range xids {
				if st := c.mustStatus(t, xid); st != protocol.GlobalCommitted {
					t.Errorf("%s is %v after drain, want Committed", xid, st)
				}
			}
		})
	})
	t.Run("close hands back", func(t *testing.T) {
		forEachCore(t, nil, func(t *testing.T, c *testCore) {
			gate := testgate.New(t)
			entered := make(chan struct{}, 1)
			c.rm.setAnswer(func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) {
				select {
				case entered <- struct{}{}:
				default:
				}
				gate.Wait()
				return protocol.PhaseTwoCommitted, nil
			})
			xid := c.begin(t, time.Minute)
			c.registerOn(t, xid, "db1", "t:1")
			if st, err := c.commit(context.Background(), xid); err != nil || st != protocol.GlobalCommitted {
				t.Fatalf("commit: %v, %v", st, err)
			}
			<-entered
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := c.drain(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("drain: %v", err)
			}
			done := make(chan struct{})
			go func() { c.stop(); close(done) }()
			gate.Open() // the RM answers once cancelled; the answer comes too late
			<-done
			g, err := c.st.global(context.Background(), xid)
			if err != nil {
				t.Fatal(err)
			}
			if g.owner != "" || (g.status != protocol.GlobalAsyncCommitting && g.status != protocol.GlobalCommitted) {
				t.Fatalf("%s is %v owned by %q after Close, want AsyncCommitting (or Committed) unowned", xid, g.status, g.owner)
			}
		})
	})
}

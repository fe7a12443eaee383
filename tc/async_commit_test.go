package tc

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
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

// Java's TM (TransactionalTemplate.commitTransaction) fails a commit whose
// answer is Finished, TimeoutRollbacking/Rollbacked or heuristic and takes
// any other status as success; the Java TC answers an asynchronous commit
// with Committed, never AsyncCommitting, and so does this one, over the
// wire, for every store, while GlobalStatus shows AsyncCommitting until
// phase two is over.
func TestAsyncCommitAnswersCommittedOnTheWire(t *testing.T) {
	for _, kind := range []string{"memory", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			cfg := Config{}
			if kind == "mysql" {
				cfg.DB = mysqlTables(t).DB
			}
			s := startServer(t, cfg)
			const res = "jdbc:mysql://127.0.0.1:3306/java"
			release := testgate.New(t)
			rm := newClient(t, "java-app", rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
				release.Wait()
				return commitAll(ctx, req)
			}), []string{res}, s.Addr())
			tm := newClient(t, "java-app", nil, nil, s.Addr())
			ctx := context.Background()
			resp, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "java"})
			if err != nil {
				t.Fatal(err)
			}
			xid := resp.(*protocol.GlobalBeginResponse).XID
			resp, err = rm.Call(ctx, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: res, LockKey: "t:1"})
			if err != nil || resp.(*protocol.BranchRegisterResponse).Code != protocol.ResultSuccess {
				t.Fatal(resp, err)
			}
			resp, err = tm.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: xid})
			if err != nil {
				t.Fatal(err)
			}
			if r := resp.(*protocol.GlobalCommitResponse); r.Code != protocol.ResultSuccess || r.GlobalStatus != protocol.GlobalCommitted {
				t.Fatalf("GlobalCommit answered %+v, want Committed (9)", r)
			}
			status := func() protocol.GlobalStatus {
				resp, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalStatusRequest{XID: xid})
				if err != nil {
					t.Fatal(err)
				}
				return resp.(*protocol.GlobalStatusResponse).GlobalStatus
			}
			if st := status(); st != protocol.GlobalAsyncCommitting {
				t.Fatalf("status during phase two: %v", st)
			}
			// A second GlobalCommit (a TM retrying) reads Committed too.
			resp, err = tm.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: xid})
			if err != nil || resp.(*protocol.GlobalCommitResponse).GlobalStatus != protocol.GlobalCommitted {
				t.Fatalf("second GlobalCommit: %+v, %v", resp, err)
			}
			release.Open()
			eventually(t, func() bool {
				st := status()
				return st == protocol.GlobalCommitted || st == protocol.GlobalFinished
			}, "phase two of %s did not end", xid)
		})
	}
}

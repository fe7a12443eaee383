package tc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func mysqlTables(t testing.TB) *testdb.Database {
	t.Helper()
	d := testdb.Create(t)
	d.DB.SetMaxOpenConns(64)
	d.DB.SetMaxIdleConns(64)
	if err := CreateTables(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
	return d
}

func countRows(t testing.TB, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServerMySQLRestart stops a coordinator in the middle of transactions in
// every phase and starts another on the same database: every transaction
// reaches the outcome it was headed for, and no branch sees both phase twos.
// The RMs count deliveries: at-least-once delivery of the same phase two is
// allowed (an RM must be idempotent: Seata's undo log and TCC fence are); a
// branch committed and rolled back, or a wrong final status, is not.
//
// "graceful" uses Shutdown, which hands the transactions over at once;
// "crash" cuts the first coordinator's database before closing it, so its
// leases stay and the second must wait for them to end.
func TestServerMySQLRestart(t *testing.T) {
	for _, crash := range []bool{false, true} {
		name := "graceful"
		if crash {
			name = "crash"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRestart(t, crash)
		})
	}
}

func testRestart(t *testing.T, crash bool) {
	d := mysqlTables(t)
	cfg := testConfig()
	cfg.BranchTimeout = 200 * time.Millisecond
	cfg.LeaseTimeout = 500 * time.Millisecond

	dbA := sql.OpenDB(d.Connector(t))
	dbA.SetMaxIdleConns(16)
	defer dbA.Close()
	cfgA := cfg
	cfgA.DB = dbA
	// One clock for both coordinators: the test moves it forward to time a
	// transaction out after the restart.
	clock := &testClock{}
	a := startServerAt(t, cfgA, clock)

	type txn struct {
		xid      string
		branches []int64
		want     protocol.GlobalStatus
	}
	var txns []*txn
	var hang atomic.Int64 // a branch whose commit is in flight when the coordinator stops
	rm1h := &recordingRM{}
	rm1h.setAnswer(func(req protocol.Message, n int) protocol.BranchStatus {
		if r, ok := req.(*protocol.BranchCommitRequest); ok && r.BranchID == hang.Load() {
			time.Sleep(time.Second)
		}
		if _, ok := req.(*protocol.BranchCommitRequest); ok {
			return protocol.PhaseTwoCommitFailedRetryable
		}
		return protocol.PhaseTwoRollbackFailedRetryable
	})
	resources := []string{dbRes, "deduct"}
	rm1 := newClient(t, "orders", rm1h, resources, a.Addr())
	tm1 := newClient(t, "tm-app", nil, nil, a.Addr())

	add := func(want protocol.GlobalStatus, timeout time.Duration, branches ...string) *txn {
		x := &txn{xid: begin(t, tm1, timeout), want: want}
		for _, b := range branches {
			if b == "deduct" {
				x.branches = append(x.branches, mustRegister(t, rm1, x.xid, protocol.BranchTCC, "deduct", ""))
			} else {
				x.branches = append(x.branches, mustRegister(t, rm1, x.xid, protocol.BranchAT, dbRes, b))
			}
		}
		txns = append(txns, x)
		return x
	}
	for i := range 3 { // AT commits: answered, phase two failing in the background
		x := add(protocol.GlobalCommitted, time.Minute, fmt.Sprintf("a:%d", i), fmt.Sprintf("b:%d", i))
		if st := commitTx(t, tm1, x.xid); st != protocol.GlobalCommitted {
			t.Fatal(st)
		}
	}
	for range 3 { // TCC commits: CommitRetrying
		x := add(protocol.GlobalCommitted, time.Minute, "deduct")
		if st := commitTx(t, tm1, x.xid); st != protocol.GlobalCommitRetrying {
			t.Fatal(st)
		}
	}
	for i := range 3 { // rollbacks: RollbackRetrying, locks held
		x := add(protocol.GlobalRollbacked, time.Minute, fmt.Sprintf("r:%d", i), "deduct")
		if st := rollbackTx(t, tm1, x.xid); st != protocol.GlobalRollbackRetrying {
			t.Fatal(st)
		}
	}
	var open []*txn
	for i := range 2 { // still open: the TM commits them through the next coordinator
		open = append(open, add(protocol.GlobalCommitted, time.Minute, fmt.Sprintf("o:%d", i), "deduct"))
	}
	add(protocol.GlobalTimeoutRollbacked, 10*time.Second, "t:1", "deduct") // times out after the restart

	inFlight := add(protocol.GlobalCommitted, time.Minute, "deduct")
	hang.Store(inFlight.branches[0])
	go func() {
		// Committing when the coordinator stops; the TM gets an error or
		// an answer, either way the commit was decided.
		tm1.Call(context.Background(), rpc.RoleTM, &protocol.GlobalCommitRequest{XID: inFlight.xid})
	}()
	eventually(t, func() bool { return len(rm1h.phases(hang.Load())) == 1 }, "the in-flight commit did not reach the RM")

	if crash {
		dbA.Close()
		a.Close()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		a.Shutdown(ctx)
		cancel()
	}
	rm1.Close()
	tm1.Close()

	cfgB := cfg
	cfgB.DB = d.DB
	b := startServerAt(t, cfgB, clock)
	// Past the timeout above; less than EndedRetention, so that no ended
	// transaction is forgotten before the test asks for its status.
	clock.advance(10 * time.Second)
	rm2h := &recordingRM{}
	newClient(t, "orders", rm2h, resources, b.Addr())
	tm2 := newClient(t, "tm-app", nil, nil, b.Addr())
	for _, x := range open {
		if st := commitTx(t, tm2, x.xid); st != protocol.GlobalCommitted {
			t.Fatal(x.xid, st)
		}
	}
	for _, x := range txns {
		waitFor(t, tm2, x.xid, x.want)
		commit := x.want == protocol.GlobalCommitted
		for _, id := range x.branches {
			got := append(rm1h.phases(id), rm2h.phases(id)...)
			if slices.Contains(got, !commit) {
				t.Errorf("%s branch %d (want %v): deliveries %v", x.xid, id, x.want, got)
			}
			if len(rm2h.phases(id)) == 0 {
				t.Errorf("%s branch %d: never completed by the second coordinator", x.xid, id)
			}
		}
	}
	if n := countRows(t, d.DB, "SELECT COUNT(*) FROM lock_table"); n != 0 {
		t.Errorf("%d row locks left", n)
	}
	if n := countRows(t, d.DB, "SELECT COUNT(*) FROM branch_table"); n != 0 {
		t.Errorf("%d branches left", n)
	}
}

// TestServerMySQLTwoCoordinators runs two coordinators on one database, each
// with its own RM: lock conflicts between them are decided in the database,
// a transaction begun on one can be ended on the other, and timed-out
// transactions are rolled back once, by one of them.
func TestServerMySQLTwoCoordinators(t *testing.T) {
	t.Parallel()
	d := mysqlTables(t)
	cfg := testConfig()
	cfg.DB = d.DB
	// One clock for both, as the clocks of two hosts in sync: the timed-out
	// transactions below time out when the test moves it forward.
	clock := &testClock{}
	a, b := startServerAt(t, cfg, clock), startServerAt(t, cfg, clock)
	rmAh, rmBh := &recordingRM{}, &recordingRM{}
	rmA := newClient(t, "orders", rmAh, []string{dbRes, "deduct"}, a.Addr())
	rmB := newClient(t, "orders", rmBh, []string{dbRes, "deduct"}, b.Addr())
	tmA := newClient(t, "tm-app", nil, nil, a.Addr())
	tmB := newClient(t, "tm-app", nil, nil, b.Addr())

	for round := range 20 {
		xa, xb := begin(t, tmA, time.Minute), begin(t, tmB, time.Minute)
		key := fmt.Sprintf("t:%d", round)
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { _, errA = registerBranch(t, rmA, xa, protocol.BranchAT, dbRes, key+";u:0") })
		wg.Go(func() { _, errB = registerBranch(t, rmB, xb, protocol.BranchAT, dbRes, "u:0;"+key) })
		wg.Wait()
		if (errA == nil) == (errB == nil) || !errors.Is(errors.Join(errA, errB), protocol.ErrLockKeyConflict) {
			t.Fatalf("round %d: %v / %v", round, errA, errB)
		}
		// Each ended through the other coordinator.
		if st := rollbackTx(t, tmB, xa); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
		if st := rollbackTx(t, tmA, xb); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
	}

	x := begin(t, tmA, time.Minute)
	br := mustRegister(t, rmA, x, protocol.BranchAT, dbRes, "c:1")
	if st := commitTx(t, tmB, x); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
	waitFor(t, tmA, x, protocol.GlobalCommitted)
	if got := append(rmAh.phases(br), rmBh.phases(br)...); !slices.Equal(got, []bool{true}) {
		t.Fatalf("deliveries %v", got)
	}

	var timed []string
	var ids []int64
	for i := range 10 {
		tm, rm := tmA, rmA
		if i%2 == 1 {
			tm, rm = tmB, rmB
		}
		xid := begin(t, tm, 10*time.Second)
		timed = append(timed, xid)
		ids = append(ids, mustRegister(t, rm, xid, protocol.BranchTCC, "deduct", ""))
	}
	// Past their timeout; less than the lease (a minute), so that no
	// claim by one coordinator looks abandoned to the other.
	clock.advance(10 * time.Second)
	for i, xid := range timed {
		waitFor(t, tmA, xid, protocol.GlobalTimeoutRollbacked)
		if got := append(rmAh.phases(ids[i]), rmBh.phases(ids[i])...); !slices.Equal(got, []bool{false}) {
			t.Fatalf("%s: deliveries %v", xid, got)
		}
	}
}

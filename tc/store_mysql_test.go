package tc

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// TestMySQLEndWaitsForRegistration holds a registration's database
// transaction open (the global row locked shared, the branch inserted) and
// checks that a decision started meanwhile waits for it and then sees the
// branch, and that the fast path for empty transactions does not apply: the snapshot of the decision's transaction must be taken after its
// locking read, not at BEGIN.
func TestMySQLEndWaitsForRegistration(t *testing.T) {
	t.Parallel()
	s := openMySQLStore(t)
	ctx := context.Background()
	g := newTx(t, s, 0)

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A failure below must not leave the locks held: the database's DROP
	// at cleanup would wait for them for ever.
	defer tx.Rollback()
	if _, err := tx.Exec(sqlJoin, g.xid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(sqlInsertBranch, 42, g.xid, g.txID, "grp", "r", "TCC", 1, "c", ""); err != nil {
		t.Fatal(err)
	}
	seen := make(chan int, 1)
	go func() {
		// Another application's: it decides nothing.
		_, v, err := s.endGlobal(ctx, g.xid, endRule{commit: true, app: "not-" + g.appID, now: time.Now().UnixMilli()})
		seen <- v.branches
		if err != nil {
			t.Error(err)
		}
	}()
	// The decision must reach the registration's row lock and wait there
	// before it decides anything.
	deadline := time.Now().Add(10 * time.Second)
	for lockWaits(t, s.db) == 0 {
		select {
		case n := <-seen:
			t.Fatalf("the decision did not wait for the registration (saw %d branches)", n)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the decision never waited for the registration's lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := <-seen; n != 1 {
		t.Fatalf("the decision saw %d branches, want the one registered", n)
	}
	if ok, err := s.endEmpty(ctx, g.xid, 0, change{status: protocol.GlobalCommitted, dueAt: 1}); ok || err != nil {
		t.Fatal("ended a transaction with a branch as empty", err)
	}
}

// TestMySQLLockConflictAcrossStores races registrations for the same rows
// through two stores (two coordinators) on one database: exactly one wins
// each round.
func TestMySQLLockConflictAcrossStores(t *testing.T) {
	t.Parallel()
	db := mysqlTestDB(t)
	a, b := openMySQLStoreOn(t, db), openMySQLStoreOn(t, db)
	for round := range 30 {
		ga, gb := newTx(t, a, 0), newTx(t, b, 0)
		keys := []string{"t:1,2,3;u:5", "u:5;t:3,2"}
		if round%2 == 1 {
			slices.Reverse(keys)
		}
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { _, errA = newBranch(t, a, ga, protocol.BranchAT, keys[0]) })
		wg.Go(func() { _, errB = newBranch(t, b, gb, protocol.BranchAT, keys[1]) })
		wg.Wait()
		var lc *lockConflictError
		switch {
		case errA == nil && errors.As(errB, &lc) && lc.holderXID == ga.xid:
		case errB == nil && errors.As(errA, &lc) && lc.holderXID == gb.xid:
		default:
			t.Fatalf("round %d: %v / %v", round, errA, errB)
		}
		for _, g := range []globalTx{ga, gb} {
			bs, _ := a.branches(context.Background(), g.xid)
			for _, br := range bs {
				a.removeBranch(context.Background(), g.xid, br.branchID, true)
			}
		}
	}
}

func TestMySQLIDsAcrossStoresAndRestarts(t *testing.T) {
	t.Parallel()
	db := mysqlTestDB(t)
	before := time.Now().UnixMilli() << 22
	seen := map[int64]bool{}
	for range 3 { // three lives of a coordinator, two at a time
		a, b := openMySQLStoreOn(t, db), openMySQLStoreOn(t, db)
		for range 50 {
			for _, s := range []*mysqlStore{a, b} {
				id, err := s.nextID(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if seen[id] || id < before {
					t.Fatalf("id %d (seen %v, start %d)", id, seen[id], before)
				}
				seen[id] = true
			}
		}
		a.close()
		b.close()
	}
}

func TestMySQLSchemaCheck(t *testing.T) {
	t.Parallel()
	d := testdb.Create(t)
	ctx := context.Background()
	s := newMySQLStore(d.DB)
	if err := s.init(ctx, time.Now()); !errors.Is(err, ErrSchema) {
		t.Fatalf("no tables: %v", err)
	}
	if err := CreateTables(ctx, d.DB); err != nil {
		t.Fatal(err)
	}
	if err := CreateTables(ctx, d.DB); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := s.init(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	d.Exec(t, "ALTER TABLE global_table DROP COLUMN lease_owner")
	if err := s.init(ctx, time.Now()); !errors.Is(err, ErrSchema) {
		t.Fatalf("missing column: %v", err)
	}
}

func TestBatches(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 256, 257, 700, 1000} {
		var sizes []int
		next := 0
		for c := range batches(n) {
			if c.lo != next || c.n() <= 0 || c.n() > maxBatch || c.n()&(c.n()-1) != 0 {
				t.Fatalf("n=%d: bad chunk %+v", n, c)
			}
			next = c.hi
			sizes = append(sizes, c.n())
		}
		if next != n {
			t.Fatalf("n=%d: covered %d (%v)", n, next, sizes)
		}
	}
	if got := batchSQL("IN (?s)", "?", ", ", 3); got != "IN (?, ?, ?)" {
		t.Fatal(got)
	}
}

// lockWaits counts the transactions of db's database that wait for a row
// lock.
func lockWaits(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	// A statement blocked on a row lock shows as LOCK WAIT in innodb_trx,
	// except when MariaDB's optimizer reads a const row while planning:
	// then it waits in processlist state "Statistics" and innodb_trx does
	// not list it. Either counts.
	err := db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist p " +
		"LEFT JOIN information_schema.innodb_trx x ON p.id = x.trx_mysql_thread_id " +
		"WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID() AND " +
		"(x.trx_state = 'LOCK WAIT' OR (p.command IN ('Query', 'Execute') AND p.state = 'Statistics'))").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

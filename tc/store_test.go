package tc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// storeKinds lists the stores every store test runs against.
var storeKinds = []struct {
	name string
	open func(t testing.TB) store
}{
	{"memory", func(testing.TB) store { return newMemStore(time.Now) }},
	{"mysql", func(t testing.TB) store { return openMySQLStore(t) }},
}

// openMySQLStore creates a fresh database with the schema and a store on it.
func openMySQLStore(t testing.TB) *mysqlStore {
	t.Helper()
	return openMySQLStoreOn(t, mysqlTestDB(t))
}

func mysqlTestDB(t testing.TB) *sql.DB {
	t.Helper()
	d := testdb.Create(t)
	d.DB.SetMaxOpenConns(64)
	d.DB.SetMaxIdleConns(64)
	if err := CreateTables(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
	return d.DB
}

func openMySQLStoreOn(t testing.TB, db *sql.DB) *mysqlStore {
	t.Helper()
	s := newMySQLStore(db)
	if err := s.init(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	return s
}

func forEachStore(t *testing.T, f func(t *testing.T, s store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			f(t, k.open(t))
		})
	}
}

// newTx inserts a Begin transaction due at dueAt (0: in an hour).
func newTx(t testing.TB, s store, dueAt int64) globalTx {
	t.Helper()
	ctx := context.Background()
	id, err := s.nextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if dueAt == 0 {
		dueAt = now + 3600_000
	}
	g := globalTx{xid: fmt.Sprintf("127.0.0.1:8091:%d", id), txID: id, status: protocol.GlobalBegin,
		appID: "app", group: "grp", name: "name", timeoutMs: 60000, beginTime: now, dueAt: dueAt}
	if err := s.insertGlobal(ctx, g); err != nil {
		t.Fatal(err)
	}
	return g
}

func newBranch(t testing.TB, s store, g globalTx, typ protocol.BranchType, lockKey string) (branchTx, error) {
	t.Helper()
	ctx := context.Background()
	id, err := s.nextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := branchTx{branchID: id, xid: g.xid, txID: g.txID, resourceGroup: "grp", resourceID: "jdbc:mysql://db/r",
		branchType: typ, status: protocol.BranchRegistered, clientID: "app:1.2.3.4:5", appData: `{"k":"v"}`}
	var locks []rowLock
	if lockKey != "" {
		if locks, err = parseLockKey(b.resourceID, lockKey); err != nil {
			t.Fatal(err)
		}
	}
	return b, s.registerBranch(ctx, b, locks)
}

func mustBranch(t testing.TB, s store, g globalTx, typ protocol.BranchType, lockKey string) branchTx {
	t.Helper()
	b, err := newBranch(t, s, g, typ, lockKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func locks(t testing.TB, lockKey string) []rowLock {
	t.Helper()
	l, err := parseLockKey("jdbc:mysql://db/r", lockKey)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustLockable(t testing.TB, s store, xid, lockKey string, want bool) {
	t.Helper()
	ok, err := s.lockable(context.Background(), xid, locks(t, lockKey))
	if err != nil {
		t.Fatal(err)
	}
	if ok != want {
		t.Fatalf("lockable(%s, %q) = %v, want %v", xid, lockKey, ok, want)
	}
}

func TestStoreIDsAreUniqueAndGrow(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		var mu sync.Mutex
		seen := make(map[int64]bool)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				var last int64
				for range 500 {
					id, err := s.nextID(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					if id <= last || id <= 0 {
						t.Errorf("id %d after %d", id, last)
					}
					last = id
					mu.Lock()
					if seen[id] {
						t.Errorf("id %d twice", id)
					}
					seen[id] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
}

func TestStoreGlobalRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		g := newTx(t, s, 0)
		got, err := s.global(context.Background(), g.xid)
		if err != nil {
			t.Fatal(err)
		}
		if got != g {
			t.Fatalf("got %+v, want %+v", got, g)
		}
		if _, err := s.global(context.Background(), "nope:1:2"); !errors.Is(err, errNoGlobal) {
			t.Fatalf("unknown xid: %v", err)
		}
	})
}

func TestStoreBranchesInRegistrationOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		g := newTx(t, s, 0)
		var want []int64
		for i := range 5 {
			b := mustBranch(t, s, g, protocol.BranchTCC, "")
			want = append(want, b.branchID)
			if i == 2 {
				time.Sleep(time.Millisecond)
			}
		}
		bs, err := s.branches(context.Background(), g.xid)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != len(want) {
			t.Fatalf("%d branches, want %d", len(bs), len(want))
		}
		for i, b := range bs {
			if b.branchID != want[i] || b.resourceID != "jdbc:mysql://db/r" || b.branchType != protocol.BranchTCC ||
				b.clientID != "app:1.2.3.4:5" || b.appData != `{"k":"v"}` || b.status != protocol.BranchRegistered || b.txID != g.txID {
				t.Fatalf("branch %d = %+v", i, b)
			}
		}
	})
}

func TestStoreLocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g1, g2 := newTx(t, s, 0), newTx(t, s, 0)
		b1 := mustBranch(t, s, g1, protocol.BranchAT, "t:1,2;u:9")

		// A conflict takes nothing (all or nothing).
		_, err := newBranch(t, s, g2, protocol.BranchAT, "t:3;u:9")
		var lc *lockConflictError
		if !errors.As(err, &lc) || lc.holderXID != g1.xid || lc.holderRollingBack {
			t.Fatalf("conflict: %v", err)
		}
		mustLockable(t, s, g2.xid, "t:3", true)
		mustLockable(t, s, g2.xid, "u:9", false)
		mustLockable(t, s, g1.xid, "t:1;u:9", true)
		mustLockable(t, s, "", "t:2", false)

		// The same transaction may lock a row again in another branch; the
		// row stays with the first branch.
		b2 := mustBranch(t, s, g1, protocol.BranchAT, "t:2,4")
		if err := s.removeBranch(ctx, g1.xid, b1.branchID, true); err != nil {
			t.Fatal(err)
		}
		mustLockable(t, s, g2.xid, "t:1;t:2;u:9", true)
		mustLockable(t, s, g2.xid, "t:4", false)
		if err := s.removeBranch(ctx, g1.xid, b2.branchID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.removeBranch(ctx, g1.xid, b2.branchID, true); err != nil { // idempotent
			t.Fatal(err)
		}
		mustLockable(t, s, g2.xid, "t:4", true)
		mustBranch(t, s, g2, protocol.BranchAT, "t:1,2,3,4;u:9")

		// Other resources are other rows.
		b := branchTx{branchID: 1, xid: g1.xid, resourceID: "other", branchType: protocol.BranchAT}
		l, _ := parseLockKey("other", "t:1")
		if err := s.registerBranch(ctx, b, l); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStoreManyLocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		g1, g2 := newTx(t, s, 0), newTx(t, s, 0)
		key := "t:"
		for i := range 700 {
			if i > 0 {
				key += ","
			}
			key += fmt.Sprint(i)
		}
		mustBranch(t, s, g1, protocol.BranchAT, key)
		mustLockable(t, s, g2.xid, "t:699", false)
		mustLockable(t, s, g2.xid, "t:700", true)
		if _, err := newBranch(t, s, g2, protocol.BranchAT, "t:700,701,0"); err == nil {
			t.Fatal("no conflict")
		}
		mustLockable(t, s, g1.xid, "t:700", true)
	})
}

func TestStoreRegisterRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		if _, err := newBranch(t, s, globalTx{xid: "x:1:1"}, protocol.BranchTCC, ""); !errors.Is(err, errNoGlobal) {
			t.Fatalf("unknown xid: %v", err)
		}
		g := newTx(t, s, 0)
		ok, err := s.transition(ctx, g.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbacking, owner: "me", dueAt: 1})
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		var na *notActiveError
		if _, err := newBranch(t, s, g, protocol.BranchAT, "t:1"); !errors.As(err, &na) || na.status != protocol.GlobalRollbacking {
			t.Fatalf("after the end: %v", err)
		}
		mustLockable(t, s, "", "t:1", true) // nothing was taken
	})
}

func TestStoreReportBranch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g := newTx(t, s, 0)
		b := mustBranch(t, s, g, protocol.BranchTCC, "")
		if err := s.reportBranch(ctx, g.xid, b.branchID, protocol.PhaseOneFailed, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.reportBranch(ctx, g.xid, b.branchID, protocol.PhaseOneFailed, ""); err != nil { // no change
			t.Fatal(err)
		}
		if err := s.reportBranch(ctx, g.xid, b.branchID, protocol.PhaseOneDone, "new"); err != nil {
			t.Fatal(err)
		}
		bs, _ := s.branches(ctx, g.xid)
		if bs[0].status != protocol.PhaseOneDone || bs[0].appData != "new" {
			t.Fatalf("%+v", bs[0])
		}
		if err := s.reportBranch(ctx, g.xid, 42, protocol.PhaseOneDone, ""); !errors.Is(err, errNoBranch) {
			t.Fatalf("unknown branch: %v", err)
		}
		if err := s.reportBranch(ctx, "x:1:1", 42, protocol.PhaseOneDone, ""); !errors.Is(err, errNoGlobal) {
			t.Fatalf("unknown xid: %v", err)
		}
	})
}

func TestStoreEndGlobal(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g := newTx(t, s, 0)
		b := mustBranch(t, s, g, protocol.BranchAT, "t:1")
		rule := endRule{commit: true, now: time.Now().UnixMilli(), lease: 77, owner: "me"}
		got, v, err := s.endGlobal(ctx, g.xid, rule)
		if err != nil || v != (endVerdict{decided: true, branches: 1}) {
			t.Fatal(err, v)
		}
		if got.status != protocol.GlobalAsyncCommitting || got.owner != "me" || got.dueAt != 77 {
			t.Fatalf("%+v", got)
		}
		mustLockable(t, s, "", "t:1", true)
		if bs, _ := s.branches(ctx, g.xid); len(bs) != 1 || bs[0].branchID != b.branchID {
			t.Fatal("the branch must stay until phase two")
		}
		// A second end sees the decision and changes nothing.
		got, v, err = s.endGlobal(ctx, g.xid, endRule{owner: "other", lease: 5})
		if err != nil || got.status != protocol.GlobalAsyncCommitting || got.owner != "me" || v.decided || v.foreign {
			t.Fatal(err, got, v)
		}
		// Another application's transaction is left as it is.
		g2 := newTx(t, s, 0)
		got, v, err = s.endGlobal(ctx, g2.xid, endRule{app: "not-" + g2.appID, owner: "me", lease: 5})
		if err != nil || got.status != protocol.GlobalBegin || !v.foreign || v.decided {
			t.Fatal(err, got, v)
		}
		if _, _, err := s.endGlobal(ctx, "x:1:1", rule); !errors.Is(err, errNoGlobal) {
			t.Fatal(err)
		}
	})
}

// TestEndRule: the decisions of GlobalCommit and GlobalRollback.
func TestEndRule(t *testing.T) {
	committed := change{status: protocol.GlobalCommitted, dueAt: 9}
	at := branchTx{branchType: protocol.BranchAT, status: protocol.BranchRegistered}
	tcc := branchTx{branchType: protocol.BranchTCC, status: protocol.BranchRegistered}
	rdOnly := branchTx{branchType: protocol.BranchTCC, status: protocol.PhaseOneRDOnly}
	sum := func(bs ...branchTx) branchSummary {
		s := branchSummary{onlyAT: true}
		for i := range bs {
			s.add(&bs[i])
		}
		return s
	}
	lease := change{owner: "me", dueAt: 50}
	with := func(st protocol.GlobalStatus) change { c := lease; c.status = st; return c }
	for _, c := range []struct {
		name   string
		commit bool
		app    string
		status protocol.GlobalStatus
		dueAt  int64
		bs     branchSummary
		want   decision
		v      endVerdict
	}{
		{"commit AT", true, "", protocol.GlobalBegin, 100, sum(at, at), decision{apply: true, releaseLocks: true, change: with(protocol.GlobalAsyncCommitting)}, endVerdict{decided: true, branches: 2}},
		{"commit mixed", true, "", protocol.GlobalBegin, 100, sum(at, tcc), decision{apply: true, releaseLocks: true, change: with(protocol.GlobalCommitting)}, endVerdict{decided: true, branches: 2}},
		{"commit TCC", true, "", protocol.GlobalBegin, 100, sum(tcc), decision{apply: true, change: with(protocol.GlobalCommitting)}, endVerdict{decided: true, branches: 1}},
		{"commit read-only", true, "", protocol.GlobalBegin, 100, sum(rdOnly), decision{apply: true, change: committed}, endVerdict{decided: true, branches: 1}},
		{"commit AT read-only", true, "", protocol.GlobalBegin, 100, sum(rdOnly, branchTx{branchType: protocol.BranchAT, status: protocol.PhaseOneFailed}), decision{apply: true, releaseLocks: true, change: committed}, endVerdict{decided: true, branches: 2}},
		{"commit late", true, "", protocol.GlobalBegin, 10, sum(at), decision{apply: true, change: with(protocol.GlobalTimeoutRollbacking)}, endVerdict{decided: true, branches: 1}},
		{"commit decided", true, "", protocol.GlobalCommitting, 100, sum(), decision{}, endVerdict{}},
		{"commit foreign", true, "b", protocol.GlobalBegin, 100, sum(at), decision{}, endVerdict{foreign: true, branches: 1}},
		{"commit own", true, "a", protocol.GlobalBegin, 100, sum(), decision{apply: true, change: committed}, endVerdict{decided: true}},
		{"rollback", false, "", protocol.GlobalBegin, 100, sum(at), decision{apply: true, change: with(protocol.GlobalRollbacking)}, endVerdict{decided: true, branches: 1}},
		{"rollback late", false, "", protocol.GlobalBegin, 10, sum(at), decision{apply: true, change: with(protocol.GlobalRollbacking)}, endVerdict{decided: true, branches: 1}},
		{"rollback decided", false, "", protocol.GlobalRollbacking, 100, sum(), decision{}, endVerdict{}},
		{"rollback foreign", false, "b", protocol.GlobalBegin, 100, sum(), decision{}, endVerdict{foreign: true}},
	} {
		r := endRule{commit: c.commit, app: c.app, now: 20, lease: 50, owner: "me", ended: committed}
		g := globalTx{appID: "a", status: c.status, dueAt: c.dueAt}
		d, v := r.decide(&g, c.bs)
		if d != c.want || v != c.v {
			t.Errorf("%s: %+v %+v, want %+v %+v", c.name, d, v, c.want, c.v)
		}
	}
}

// TestStoreEndSeesConcurrentRegistration pins the isolation the MySQL store
// relies on: a registration in flight when an end is decided is either
// refused or seen by the decision, never lost.
func TestStoreEndSeesConcurrentRegistration(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		for range 20 {
			g := newTx(t, s, 0)
			var wg sync.WaitGroup
			var regErr error
			var seen int
			wg.Go(func() { _, regErr = newBranch(t, s, g, protocol.BranchAT, "t:1") })
			wg.Go(func() {
				_, v, err := s.endGlobal(context.Background(), g.xid, endRule{owner: "me", lease: 1})
				seen = v.branches
				if err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			bs, _ := s.branches(context.Background(), g.xid)
			if (regErr == nil) != (seen == 1) || len(bs) != seen {
				t.Fatalf("register err %v, decision saw %d branches, store has %d", regErr, seen, len(bs))
			}
			// Clean up the lock for the next round.
			for _, b := range bs {
				s.removeBranch(context.Background(), g.xid, b.branchID, true)
			}
		}
	})
}

func TestStoreTransition(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g := newTx(t, s, 0)
		ok, err := s.transition(ctx, g.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbacking, owner: "a", dueAt: 5})
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		// Wrong status or owner: no change.
		for _, c := range []struct {
			from  protocol.GlobalStatus
			owner string
		}{{protocol.GlobalBegin, "a"}, {protocol.GlobalRollbacking, "b"}, {protocol.GlobalRollbacking, ""}} {
			ok, err := s.transition(ctx, g.xid, c.from, c.owner, change{status: protocol.GlobalRollbacked})
			if ok || err != nil {
				t.Fatalf("transition from %v/%q: %v %v", c.from, c.owner, ok, err)
			}
		}
		// A transition to the same values succeeds.
		for range 2 {
			ok, err = s.transition(ctx, g.xid, protocol.GlobalRollbacking, "a", change{status: protocol.GlobalRollbacking, owner: "a", dueAt: 5})
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		if ok, err := s.transition(ctx, "x:1:1", protocol.GlobalBegin, "", change{}); ok || err != nil {
			t.Fatal(ok, err)
		}
	})
}

func TestStoreSuccessfulEndDropsBranchesAndLocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		for _, keep := range []bool{true, false} {
			g := newTx(t, s, 0)
			mustBranch(t, s, g, protocol.BranchAT, "t:1")
			mustBranch(t, s, g, protocol.BranchTCC, "")
			s.transition(ctx, g.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbacking, owner: "a", dueAt: 5})
			var due int64
			if keep {
				due = time.Now().UnixMilli() + 60_000
			}
			ok, err := s.transition(ctx, g.xid, protocol.GlobalRollbacking, "a", change{status: protocol.GlobalRollbacked, dueAt: due})
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			mustLockable(t, s, "", "t:1", true)
			if bs, err := s.branches(ctx, g.xid); len(bs) != 0 || err != nil {
				t.Fatal(bs, err)
			}
			got, err := s.global(ctx, g.xid)
			if keep && (err != nil || got.status != protocol.GlobalRollbacked) {
				t.Fatal(got, err)
			}
			if !keep && !errors.Is(err, errNoGlobal) {
				t.Fatal(got, err)
			}
			if _, err := newBranch(t, s, g, protocol.BranchTCC, ""); err == nil {
				t.Fatal("registered into an ended transaction")
			}
		}
	})
}

func TestStoreFailedEndKeepsLocks(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g := newTx(t, s, 0)
		mustBranch(t, s, g, protocol.BranchAT, "t:1")
		s.transition(ctx, g.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbacking, owner: "a", dueAt: 5})
		ok, err := s.transition(ctx, g.xid, protocol.GlobalRollbacking, "a", change{status: protocol.GlobalRollbackFailed})
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		mustLockable(t, s, "", "t:1", false)
		if bs, _ := s.branches(ctx, g.xid); len(bs) != 1 {
			t.Fatal(bs)
		}
		if claimed, _ := s.claimDue(ctx, time.Now().UnixMilli()+1e9, "b", 1, 100); len(claimed) != 0 {
			t.Fatalf("claimed a failed transaction: %+v", claimed)
		}
	})
}

func TestStoreClaimDue(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		expired := newTx(t, s, now-10)
		newTx(t, s, now+60_000) // not due
		retry := newTx(t, s, 0)
		s.transition(ctx, retry.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalCommitRetrying, dueAt: now - 5, attempts: 2})
		leased := newTx(t, s, 0)
		s.transition(ctx, leased.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbacking, owner: "dead", dueAt: now - 1})

		claimed, err := s.claimDue(ctx, now, "me", now+1000, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]globalTx{}
		for _, g := range claimed {
			got[g.xid] = g
		}
		if len(got) != 3 {
			t.Fatalf("claimed %+v", claimed)
		}
		if g := got[expired.xid]; g.status != protocol.GlobalTimeoutRollbacking || g.owner != "me" || g.dueAt != now+1000 {
			t.Fatalf("expired: %+v", g)
		}
		if g := got[retry.xid]; g.status != protocol.GlobalCommitRetrying || g.attempts != 2 || g.owner != "me" {
			t.Fatalf("retry: %+v", g)
		}
		if g := got[leased.xid]; g.status != protocol.GlobalRollbacking || g.owner != "me" {
			t.Fatalf("leased: %+v", g)
		}
		for xid, g := range got {
			cur, _ := s.global(ctx, xid)
			if cur != g {
				t.Fatalf("store has %+v, claim returned %+v", cur, g)
			}
		}
		if again, _ := s.claimDue(ctx, now+500, "other", now+2000, 100); len(again) != 0 {
			t.Fatalf("claimed twice: %+v", again)
		}

		// Limit.
		for range 5 {
			newTx(t, s, now-1)
		}
		if c, _ := s.claimDue(ctx, now, "me", now+1000, 2); len(c) != 2 {
			t.Fatalf("limit: %d", len(c))
		}
	})
}

func TestStoreClaimDueRace(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		for range 40 {
			newTx(t, s, now-1)
		}
		var mu sync.Mutex
		count := map[string]int{}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for {
					c, err := s.claimDue(ctx, now, fmt.Sprint("c", i), now+60_000, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, g := range c {
						count[g.xid]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(count) != 40 {
			t.Fatalf("claimed %d of 40", len(count))
		}
		for xid, n := range count {
			if n != 1 {
				t.Fatalf("%s claimed %d times", xid, n)
			}
		}
	})
}

func TestStoreMakeDueAndRelease(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		waiting := newTx(t, s, 0)
		s.transition(ctx, waiting.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalRollbackRetrying, dueAt: now + 60_000, attempts: 1})
		owned := newTx(t, s, 0)
		s.transition(ctx, owned.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalCommitting, owner: "me", dueAt: now + 60_000})
		begin := newTx(t, s, 0)

		if err := s.makeDue(ctx, []string{waiting.xid, owned.xid, begin.xid, "x:1:1"}, now); err != nil {
			t.Fatal(err)
		}
		c, _ := s.claimDue(ctx, now, "other", now+1, 100)
		if len(c) != 1 || c[0].xid != waiting.xid {
			t.Fatalf("claimed %+v", c)
		}
		if err := s.releaseOwner(ctx, "me", now); err != nil {
			t.Fatal(err)
		}
		g, _ := s.global(ctx, owned.xid)
		if g.owner != "" || g.dueAt != now || g.status != protocol.GlobalCommitting {
			t.Fatalf("released: %+v", g)
		}
	})
}

func TestStorePurge(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		var old []string
		for i := range 7 {
			g := newTx(t, s, 0)
			due := now - 1
			if i == 6 {
				due = now + 60_000
			}
			ok, err := s.transition(ctx, g.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalCommitted, dueAt: due})
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			old = append(old, g.xid)
		}
		failed := newTx(t, s, 0)
		s.transition(ctx, failed.xid, protocol.GlobalBegin, "", change{status: protocol.GlobalCommitFailed})

		n, err := s.purge(ctx, now, 4)
		if err != nil || n != 4 {
			t.Fatal(n, err)
		}
		n, err = s.purge(ctx, now, 4)
		if err != nil || n != 2 {
			t.Fatal(n, err)
		}
		for i, xid := range old {
			_, err := s.global(ctx, xid)
			if (i < 6) != errors.Is(err, errNoGlobal) {
				t.Fatalf("%d: %v", i, err)
			}
		}
		if _, err := s.global(ctx, failed.xid); err != nil {
			t.Fatal("a failed end was forgotten")
		}
	})
}

// reopen returns a store on the same data as s, which may be closed: the
// same memory store, or a new MySQL store on the same database.
func reopen(t testing.TB, s store) store {
	if m, ok := s.(*mysqlStore); ok {
		return openMySQLStoreOn(t, m.db)
	}
	return s
}

func TestStoreEndEmpty(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		now := time.Now().UnixMilli()
		end := change{status: protocol.GlobalCommitted, dueAt: now + 60_000}

		empty := newTx(t, s, 0)
		if ok, err := s.endEmpty(ctx, empty.xid, now, end); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if g, _ := s.global(ctx, empty.xid); g.status != protocol.GlobalCommitted {
			t.Fatal(g)
		}
		if ok, _ := s.endEmpty(ctx, empty.xid, now, end); ok {
			t.Fatal("ended twice")
		}

		// A branch, even one removed since, rules it out.
		withBranch := newTx(t, s, 0)
		b := mustBranch(t, s, withBranch, protocol.BranchTCC, "")
		s.removeBranch(ctx, withBranch.xid, b.branchID, false)
		if ok, _ := s.endEmpty(ctx, withBranch.xid, now, end); ok {
			t.Fatal("ended a transaction that had a branch")
		}
		// So does the deadline.
		late := newTx(t, s, now-1)
		if ok, _ := s.endEmpty(ctx, late.xid, now, end); ok {
			t.Fatal("ended a timed-out transaction")
		}
		if ok, err := s.endEmpty(ctx, "x:1:1", now, end); ok || err != nil {
			t.Fatal(ok, err)
		}
		// Without retention the transaction is forgotten.
		gone := newTx(t, s, 0)
		if ok, err := s.endEmpty(ctx, gone.xid, now, change{status: protocol.GlobalRollbacked}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := s.global(ctx, gone.xid); !errors.Is(err, errNoGlobal) {
			t.Fatal(err)
		}
	})
}

// TestMemStoreCommitAllocations pins the memory store's allocations for an
// AT transaction of one branch: begin, register, the commit decision and
// the end make one (the transaction's record). They made 3 when the first
// branch had storage of its own and the decision a copy of the branches
// (with the coordinator's closure and pointers: BenchmarkCoreATCommit/memory
// 19 -> 12 allocs/op).
func TestMemStoreCommitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s := newMemStore(time.Now)
	ctx := context.Background()
	l := locks(t, "t:1,2")
	g := globalTx{xid: "127.0.0.1:8091:1", txID: 1, status: protocol.GlobalBegin, appID: "app", dueAt: time.Now().Add(time.Hour).UnixMilli()}
	b := branchTx{branchID: 2, xid: g.xid, txID: 1, resourceID: "jdbc:mysql://db/r", branchType: protocol.BranchAT, status: protocol.BranchRegistered}
	rule := endRule{commit: true, now: time.Now().UnixMilli(), lease: 1, owner: "me"}
	n := testing.AllocsPerRun(100, func() {
		if err := s.insertGlobal(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := s.registerBranch(ctx, b, l); err != nil {
			t.Fatal(err)
		}
		if got, v, err := s.endGlobal(ctx, g.xid, rule); err != nil || !v.decided || got.status != protocol.GlobalAsyncCommitting {
			t.Fatal(got, v, err)
		}
		if ok, err := s.transition(ctx, g.xid, protocol.GlobalAsyncCommitting, "me", change{status: protocol.GlobalCommitted}); !ok || err != nil {
			t.Fatal(ok, err)
		}
	})
	if n != 1 {
		t.Fatalf("%v allocations per transaction, want 1", n)
	}
}

package tc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// forEachServerStore runs f against a started server on each store; edit
// adjusts the configuration.
func forEachServerStore(t *testing.T, edit func(*Config), f func(t *testing.T, s *Server, logs *logSink)) {
	for _, kind := range []string{"memory", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			logs := &logSink{}
			cfg := testConfig()
			cfg.Logger = slog.New(logs)
			if kind == "mysql" {
				cfg.DB = mysqlTables(t).DB
			}
			if edit != nil {
				edit(&cfg)
			}
			f(t, startServer(t, cfg), logs)
		})
	}
}

func TestOperatorResolveRefusedRollback(t *testing.T) {
	t.Parallel()
	forEachServerStore(t, nil, func(t *testing.T, s *Server, logs *logSink) {
		ctx := context.Background()
		// The RM's failure text (a refused restore names its rows) is the
		// branch's last error.
		rmh := &recordingRM{msg: "dirty write: stock row 1 changed since the branch"}
		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbackFailedUnretryable })
		rm := newClient(t, "orders", rmh, []string{dbRes}, s.Addr())
		tm := newClient(t, "tm-app", nil, nil, s.Addr())
		xid := begin(t, tm, time.Minute)
		bid := mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "stock:1,2")
		if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbackFailed {
			t.Fatal(st)
		}

		d, err := s.Transaction(ctx, xid)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != protocol.GlobalRollbackFailed || d.ApplicationID != "tm-app" || len(d.Branches) != 1 || d.MoreLocks {
			t.Fatalf("%+v", d)
		}
		b := d.Branches[0]
		if b.BranchID != bid || b.Type != protocol.BranchAT || b.ResourceID != dbRes || b.Status != protocol.PhaseTwoRollbackFailedUnretryable ||
			b.Attempts != 1 || b.LastError != "the RM answered PhaseTwo_RollbackFailed_Unretryable: dirty write: stock row 1 changed since the branch" {
			t.Fatalf("%+v", b)
		}
		want := []LockInfo{{bid, dbRes, "stock", "1"}, {bid, dbRes, "stock", "2"}}
		if !slices.Equal(d.Locks, want) {
			t.Fatalf("locks %+v, want %+v", d.Locks, want)
		}
		page, err := s.Transactions(ctx, TxFilter{Statuses: []protocol.GlobalStatus{protocol.GlobalRollbackFailed}})
		if err != nil || len(page.Transactions) != 1 || page.Transactions[0].XID != xid || page.Next != "" {
			t.Fatalf("%+v %v", page, err)
		}

		if _, err := s.Resolve(ctx, "127.0.0.1:1:1", "alice", ""); !errors.Is(err, ErrTxNotFound) {
			t.Fatal(err)
		}
		to, err := s.Resolve(ctx, xid, "alice", "restored stock rows 1 and 2 by hand")
		if err != nil || to != protocol.GlobalRollbacked {
			t.Fatal(to, err)
		}
		d, err = s.Transaction(ctx, xid)
		if err != nil || d.Status != protocol.GlobalRollbacked || len(d.Branches) != 0 || len(d.Locks) != 0 {
			t.Fatalf("%+v %v", d, err)
		}
		if st := statusOf(t, tm, xid); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
		other := begin(t, tm, time.Minute)
		mustRegister(t, rm, other, protocol.BranchAT, dbRes, "stock:1,2") // the locks are free
		if _, err := s.Resolve(ctx, xid, "alice", ""); !errors.Is(err, ErrTxState) {
			t.Fatal(err)
		}
		if _, err := s.Resolve(ctx, other, "alice", ""); !errors.Is(err, ErrTxState) {
			t.Fatal("an active transaction was resolved:", err)
		}
		audit := logs.find(slog.LevelWarn, "resolved by an operator")
		if len(audit) != 1 || attr(audit[0], "xid") != xid || attr(audit[0], "by") != "alice" ||
			attr(audit[0], "from") != "RollbackFailed" || attr(audit[0], "to") != "Rollbacked" {
			t.Fatalf("audit lines: %v", audit)
		}
	})
}

// TestOperatorRetryNow: a rollback whose RM failed waits for a retry one
// minute away (RetryPeriod); RetryNow makes it happen at once. A failed
// end is retried too, once the RM accepts.
func TestOperatorRetryNow(t *testing.T) {
	t.Parallel()
	slow := func(cfg *Config) { cfg.RetryPeriod, cfg.MaxRetryBackoff = time.Minute, time.Minute }
	forEachServerStore(t, slow, func(t *testing.T, s *Server, logs *logSink) {
		ctx := context.Background()
		rmh := &recordingRM{}
		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbackFailedRetryable })
		rm := newClient(t, "orders", rmh, []string{dbRes}, s.Addr())
		tm := newClient(t, "tm-app", nil, nil, s.Addr())

		xid := begin(t, tm, time.Minute)
		mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "stock:1")
		if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbackRetrying {
			t.Fatal(st)
		}
		d, err := s.Transaction(ctx, xid)
		if err != nil || d.Attempts != 1 || d.Owner != "" || len(d.Branches) != 1 || d.Branches[0].Attempts != 1 ||
			d.Branches[0].Status != protocol.PhaseTwoRollbackFailedRetryable {
			t.Fatalf("%+v %v", d, err)
		}
		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbacked })
		if err := s.RetryNow(ctx, xid, "bob"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tm, xid, protocol.GlobalRollbacked)

		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbackFailedUnretryable })
		failed := begin(t, tm, time.Minute)
		mustRegister(t, rm, failed, protocol.BranchAT, dbRes, "stock:1")
		if st := rollbackTx(t, tm, failed); st != protocol.GlobalRollbackFailed {
			t.Fatal(st)
		}
		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbacked })
		if err := s.RetryNow(ctx, failed, "bob"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tm, failed, protocol.GlobalRollbacked)

		active := begin(t, tm, time.Minute)
		if err := s.RetryNow(ctx, active, "bob"); !errors.Is(err, ErrTxState) {
			t.Fatal(err)
		}
		if err := s.RetryNow(ctx, xid, "bob"); !errors.Is(err, ErrTxState) {
			t.Fatal("an ended transaction was retried:", err)
		}
		if n := len(logs.find(slog.LevelInfo, "retried by an operator")); n != 2 {
			t.Fatalf("%d log lines", n)
		}
	})
}

func TestOperatorListFiltersAndPages(t *testing.T) {
	t.Parallel()
	forEachServerStore(t, nil, func(t *testing.T, s *Server, _ *logSink) {
		ctx := context.Background()
		a := newClient(t, "app-a", nil, nil, s.Addr())
		b := newClient(t, "app-b", nil, nil, s.Addr())
		var all []string
		for i := range 5 {
			c := a
			if i%2 == 1 {
				c = b
			}
			all = append(all, begin(t, c, time.Minute))
		}
		if st := rollbackTx(t, a, all[0]); st != protocol.GlobalRollbacked {
			t.Fatal(st)
		}
		list := func(f TxFilter) []string {
			t.Helper()
			var xids []string
			for {
				page, err := s.Transactions(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Transactions) > max(f.Limit, 1) && f.Limit > 0 {
					t.Fatalf("page of %d, limit %d", len(page.Transactions), f.Limit)
				}
				for _, tx := range page.Transactions {
					xids = append(xids, tx.XID)
				}
				if page.Next == "" {
					return xids
				}
				f.After = page.Next
			}
		}
		got := list(TxFilter{Limit: 2})
		if len(got) != 5 {
			t.Fatalf("listed %v", got)
		}
		for _, x := range all {
			if !slices.Contains(got, x) {
				t.Fatalf("%s not listed in %v", x, got)
			}
		}
		if got := list(TxFilter{ApplicationID: "app-b", Limit: 1}); !sameSet(got, []string{all[1], all[3]}) {
			t.Fatalf("app-b: %v", got)
		}
		if got := list(TxFilter{Statuses: []protocol.GlobalStatus{protocol.GlobalBegin}}); !sameSet(got, all[1:]) {
			t.Fatalf("Begin: %v", got)
		}
		if got := list(TxFilter{MinAge: time.Hour}); len(got) != 0 {
			t.Fatalf("older than an hour: %v", got)
		}
		for _, f := range []TxFilter{{Limit: MaxListLimit + 1}, {Limit: -1}, {After: "x"}, {MinAge: -time.Second}} {
			if _, err := s.Transactions(ctx, f); !errors.Is(err, ErrBadFilter) {
				t.Fatalf("%+v: %v", f, err)
			}
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestMySQLStoreSchemaWithoutBranchAudit: tables from before
// branch_table.attempts keep working (nothing recorded), and CreateTables
// adds the columns.
func TestMySQLStoreSchemaWithoutBranchAudit(t *testing.T) {
	t.Parallel()
	d := mysqlTables(t)
	d.Exec(t, "ALTER TABLE branch_table DROP COLUMN attempts, DROP COLUMN last_error")
	old := openMySQLStoreOn(t, d.DB)
	if old.audit {
		t.Fatal("audit columns seen")
	}
	g := newTx(t, old, 0)
	b := mustBranch(t, old, g, protocol.BranchAT, "t:1")
	if err := old.branchFailed(context.Background(), g.xid, b.branchID, protocol.PhaseTwoRollbackFailedRetryable, "boom"); err != nil {
		t.Fatal(err)
	}
	if bs, err := old.branches(context.Background(), g.xid); err != nil || len(bs) != 1 || bs[0].attempts != 0 {
		t.Fatalf("%+v %v", bs, err)
	}
	if err := CreateTables(context.Background(), d.DB); err != nil {
		t.Fatal(err)
	}
	if err := CreateTables(context.Background(), d.DB); err != nil { // idempotent
		t.Fatal(err)
	}
	s := openMySQLStoreOn(t, d.DB)
	if !s.audit {
		t.Fatal("CreateTables did not add the columns")
	}
	if err := s.branchFailed(context.Background(), g.xid, b.branchID, protocol.PhaseTwoRollbackFailedRetryable, "boom"); err != nil {
		t.Fatal(err)
	}
	bs, err := s.branches(context.Background(), g.xid)
	if err != nil || len(bs) != 1 || bs[0].attempts != 1 || bs[0].lastError != "boom" || bs[0].status != protocol.PhaseTwoRollbackFailedRetryable {
		t.Fatalf("%+v %v", bs, err)
	}
}

// The rpc server announces an RM's registration to the session index
// asynchronously. A phase two that runs before the announcement still finds
// the RM among the open sessions. Regression: TestOperatorRetryNow once saw
// "no RM session serves resource" and a rollback left waiting a minute for
// its retry. Here the index forgets the session, as if its announcement
// were still queued.
func TestPhaseTwoFindsRMNotYetIndexed(t *testing.T) {
	t.Parallel()
	slow := func(cfg *Config) { cfg.RetryPeriod, cfg.MaxRetryBackoff = time.Minute, time.Minute }
	forEachServerStore(t, slow, func(t *testing.T, s *Server, _ *logSink) {
		rmh := &recordingRM{}
		rmh.setAnswer(func(protocol.Message, int) protocol.BranchStatus { return protocol.PhaseTwoRollbacked })
		rm := newClient(t, "orders", rmh, []string{dbRes}, s.Addr())
		tm := newClient(t, "tm-app", nil, nil, s.Addr())
		xid := begin(t, tm, time.Minute)
		mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "stock:1")
		for _, ss := range s.rpc.Sessions() {
			if ss.HasResource(dbRes) {
				s.sess.remove(ss)
			}
		}
		if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbacked {
			t.Fatal("rollback:", st)
		}
	})
}

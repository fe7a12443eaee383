package tcc_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testgate"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

// Fence row statuses.
const (
	tried      = 1
	committed  = 2
	rollbacked = 3
	suspended  = 4
)

var errBusiness = errors.New("business says no")

// TestCommitAndRollback runs global transactions with two actions to their
// end, without and with a fence.
func TestCommitAndRollback(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	for _, fenced := range []bool{false, true} {
		name := map[bool]string{false: "no fence", true: "fence"}[fenced]
		t.Run(name, func(t *testing.T) {
			opts := tcc.Config{}
			if fenced {
				opts.Fence = db
			}
			a, b := newLedger("debit-"+name), newLedger("credit-"+name)
			pa, pb := register(t, c, a, opts), register(t, c, b, opts)
			ctx := t.Context()

			// Commit.
			var xid string
			err := c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer"}, func(ctx context.Context) error {
				xid, _ = tm.XID(ctx)
				if err := pa.Try(ctx, tcc.Params{"account": 1, "amount": 250}); err != nil {
					return err
				}
				return pb.Try(ctx, tcc.Params{"account": 2, "amount": 250})
			})
			require.NoError(t, err)
			for _, l := range []*ledger{a, b} {
				require.Len(t, l.calls("confirm"), 1, "commit of TCC branches is synchronous")
				require.Empty(t, l.calls("cancel"))
				tr, cf := l.calls("try")[0], l.calls("confirm")[0]
				require.Equal(t, xid, cf.xid)
				require.Equal(t, tr.branchID, cf.branchID)
				require.False(t, cf.retry)
				require.Equal(t, fenced, tr.tx)
				require.Equal(t, fenced, cf.tx)
				amount, err := cf.params.Int64("amount")
				require.NoError(t, err)
				require.EqualValues(t, 250, amount)
				if fenced {
					require.Equal(t, committed, fenceStatus(t, db, xid, cf.branchID))
					require.Equal(t, 1, effects(t, db, cf.branchID, "try"))
					require.Equal(t, 1, effects(t, db, cf.branchID, "confirm"))
				}
			}

			// Roll back after both tries: the branches in reverse order.
			var mu sync.Mutex
			var order []string
			for _, l := range []*ledger{a, b} {
				l.cancelHook = func(context.Context, *tcc.ActionContext) error {
					mu.Lock()
					order = append(order, l.name)
					mu.Unlock()
					return nil
				}
			}
			err = c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer"}, func(ctx context.Context) error {
				xid, _ = tm.XID(ctx)
				require.NoError(t, pa.Try(ctx, tcc.Params{"account": 1}))
				require.NoError(t, pb.Try(ctx, tcc.Params{"account": 2}))
				return errBusiness
			})
			require.ErrorIs(t, err, errBusiness)
			for _, l := range []*ledger{a, b} {
				require.Len(t, l.calls("cancel"), 1, "rollback runs before the answer")
				require.Len(t, l.calls("confirm"), 1)
				tr, cn := l.calls("try")[1], l.calls("cancel")[0]
				require.Equal(t, tr.branchID, cn.branchID)
				require.Equal(t, xid, cn.xid)
				if fenced {
					require.Equal(t, rollbacked, fenceStatus(t, db, xid, cn.branchID))
					require.Equal(t, 1, effects(t, db, cn.branchID, "cancel"))
				}
			}
			require.Equal(t, []string{b.name, a.name}, order)
		})
	}
}

// TestTryFails: a failing Try rolls the global transaction back. With a
// fence, its database work and fence row roll back with it, and the Cancel
// that follows is an empty rollback that does not call the action.
func TestTryFails(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	ctx := t.Context()

	fenced := newLedger("fenced")
	fenced.tryHook = func(context.Context, *tcc.ActionContext) error { return errBusiness }
	pf := register(t, c, fenced, tcc.Config{Fence: db})
	plain := newLedger("plain")
	plain.tryHook = fenced.tryHook
	pp := register(t, c, plain, tcc.Config{})

	for _, p := range []*tcc.Participant{pf, pp} {
		var xid string
		err := c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
			xid, _ = tm.XID(ctx)
			return p.Try(ctx, tcc.Params{"n": 1})
		})
		require.ErrorIs(t, err, errBusiness, "Try's error is returned as it is")
		if p == pf {
			br := fenced.calls("try")[0].branchID
			require.Zero(t, fenced.cancels.Load(), "empty rollback: Cancel is not called")
			require.Equal(t, suspended, fenceStatus(t, db, xid, br))
			require.Zero(t, effects(t, db, br, "try"), "Try's work rolled back")
		} else {
			require.EqualValues(t, 1, plain.cancels.Load(), "without a fence Cancel is called")
		}
	}
}

// tryOpen runs p.Try in a global transaction it leaves open, and returns
// the branch.
func tryOpen(t *testing.T, ctx context.Context, mgr *tm.Manager, p *tcc.Participant, l *ledger, params tcc.Params) (string, int64) {
	t.Helper()
	txCtx, _, err := mgr.Begin(ctx, tm.TxOptions{Timeout: 10 * time.Minute})
	require.NoError(t, err)
	require.NoError(t, p.Try(txCtx, params))
	tries := l.calls("try")
	last := tries[len(tries)-1]
	return last.xid, last.branchID
}

// TestDuplicateDeliveries calls the phase-two methods of the resource
// directly, several times, sequentially and concurrently.
func TestDuplicateDeliveries(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	ctx := t.Context()
	params := tcc.Params{"k": "v"}

	t.Run("fence, sequential", func(t *testing.T) {
		l := newLedger("seq")
		p := register(t, c, l, tcc.Config{Fence: db})
		data, err := tcc.ApplicationData(p, params)
		require.NoError(t, err)
		for _, commit := range []bool{true, false} {
			xid, br := tryOpen(t, ctx, c.TM(), p, l, params)
			req := rm.BranchRequest{XID: xid, BranchID: br, BranchType: protocol.BranchTCC, ResourceID: l.name, ApplicationData: data}
			for range 3 {
				if commit {
					st, err := p.BranchCommit(ctx, req)
					require.NoError(t, err)
					require.Equal(t, protocol.PhaseTwoCommitted, st)
				} else {
					st, err := p.BranchRollback(ctx, req)
					require.NoError(t, err)
					require.Equal(t, protocol.PhaseTwoRollbacked, st)
				}
			}
			if commit {
				require.EqualValues(t, 1, l.confirms.Load())
				require.Equal(t, 1, effects(t, db, br, "confirm"))
				// A Cancel of a committed branch is refused for good.
				st, err := p.BranchRollback(ctx, req)
				require.ErrorIs(t, err, tcc.ErrFenceState)
				require.Equal(t, protocol.PhaseTwoRollbackFailedUnretryable, st)
			} else {
				require.EqualValues(t, 1, l.cancels.Load())
				require.Equal(t, 1, effects(t, db, br, "cancel"))
				st, err := p.BranchCommit(ctx, req)
				require.ErrorIs(t, err, tcc.ErrFenceState)
				require.Equal(t, protocol.PhaseTwoCommitFailedUnretryable, st)
			}
		}
	})

	for _, commit := range []bool{true, false} {
		name := map[bool]string{true: "confirm", false: "cancel"}[commit]
		t.Run("fence, concurrent "+name, func(t *testing.T) {
			l := newLedger("conc-" + name)
			p := register(t, c, l, tcc.Config{Fence: db})
			data, err := tcc.ApplicationData(p, params)
			require.NoError(t, err)
			xid, br := tryOpen(t, ctx, c.TM(), p, l, params)
			req := rm.BranchRequest{XID: xid, BranchID: br, BranchType: protocol.BranchTCC, ResourceID: l.name, ApplicationData: data}

			// The first delivery holds the fence row inside the action
			// until the second one waits for its lock.
			entered, release := make(chan struct{}), testgate.New(t)
			var once sync.Once
			hook := func(context.Context, *tcc.ActionContext) error {
				once.Do(func() { close(entered) })
				release.Wait()
				return nil
			}
			call := p.BranchRollback
			want := protocol.PhaseTwoRollbacked
			if commit {
				l.confirmHook, call, want = hook, p.BranchCommit, protocol.PhaseTwoCommitted
			} else {
				l.cancelHook = hook
			}
			type result struct {
				st  protocol.BranchStatus
				err error
			}
			results := make(chan result, 2)
			deliver := func() {
				st, err := call(ctx, req)
				results <- result{st, err}
			}
			go deliver()
			<-entered
			go deliver()
			require.Eventually(t, func() bool { return lockWaits(t, db) > 0 }, 20*time.Second, 5*time.Millisecond,
				"the second delivery waits for the row lock")
			release.Open()
			for range 2 {
				r := <-results
				require.NoError(t, r.err)
				require.Equal(t, want, r.st)
			}
			require.Equal(t, 1, effects(t, db, br, name), "one business effect")
			require.Len(t, l.calls(name), 1, "the action ran once")
		})
	}

	t.Run("no fence: the action runs each time, Retry tells", func(t *testing.T) {
		l := newLedger("nofence")
		p := register(t, c, l, tcc.Config{})
		data, err := tcc.ApplicationData(p, params)
		require.NoError(t, err)
		xid, br := tryOpen(t, ctx, c.TM(), p, l, params)
		req := rm.BranchRequest{XID: xid, BranchID: br, BranchType: protocol.BranchTCC, ResourceID: l.name, ApplicationData: data}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				st, err := p.BranchCommit(ctx, req)
				require.NoError(t, err)
				require.Equal(t, protocol.PhaseTwoCommitted, st)
			})
		}
		wg.Wait()
		calls := l.calls("confirm")
		require.Len(t, calls, 2)
		require.NotEqual(t, calls[0].retry, calls[1].retry, "exactly one of them is a retry")
		require.False(t, calls[0].tx)
	})
}

// lockWaits counts the fence statements in progress: while the first
// delivery holds the row inside the action, such a statement is the second
// delivery waiting for the row lock (Cancel's INSERT waits for it to check
// the duplicate key, Confirm's UPDATE to change the row).
func lockWaits(t *testing.T, db *sql.DB) int {
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist "+
		"WHERE db = DATABASE() AND (info LIKE 'UPDATE `tcc_fence_log`%' OR info LIKE 'INSERT INTO `tcc_fence_log`%')").Scan(&n))
	return n
}

// TestCancelBeforeTry: the global transaction times out while Try is on
// its way (after the branch registered); the coordinator's Cancel is an
// empty rollback, and the late Try is refused before it does anything.
func TestCancelBeforeTry(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	l := newLedger("slow")
	p := register(t, c, l, tcc.Config{Fence: db})
	tcc.SetBeforeTry(p, func(ctx context.Context, xid string, br int64) {
		require.Eventually(t, func() bool { return fenceStatus(t, db, xid, br) == suspended }, 20*time.Second, 10*time.Millisecond,
			"the coordinator rolls the timed-out transaction back")
	})
	// Long enough for the branch to register on a loaded machine.
	err := c.TM().WithGlobalTx(t.Context(), tm.TxOptions{Timeout: time.Second}, func(ctx context.Context) error {
		return p.Try(ctx, tcc.Params{"n": 1})
	})
	require.ErrorIs(t, err, tcc.ErrSuspended)
	require.Zero(t, l.tries.Load(), "the action's Try did not run")
	require.Zero(t, l.cancels.Load(), "empty rollback")
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM effects").Scan(&n))
	require.Zero(t, n, "no business writes")
}

// TestTryAfterCancel: a Cancel delivered directly between the branch
// registration and the fence row makes Try fail; the coordinator's own
// rollback afterwards finds the branch done.
func TestTryAfterCancel(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	l := newLedger("late")
	p := register(t, c, l, tcc.Config{Fence: db})
	params := tcc.Params{"n": 1}
	data, err := tcc.ApplicationData(p, params)
	require.NoError(t, err)
	var xid string
	var br int64
	tcc.SetBeforeTry(p, func(ctx context.Context, x string, b int64) {
		xid, br = x, b
		st, err := p.BranchRollback(ctx, rm.BranchRequest{XID: x, BranchID: b, BranchType: protocol.BranchTCC, ResourceID: l.name, ApplicationData: data})
		require.NoError(t, err)
		require.Equal(t, protocol.PhaseTwoRollbacked, st)
	})
	err = c.TM().WithGlobalTx(t.Context(), tm.TxOptions{}, func(ctx context.Context) error {
		return p.Try(ctx, params)
	})
	require.ErrorIs(t, err, tcc.ErrSuspended)
	require.Zero(t, l.tries.Load())
	require.Zero(t, l.cancels.Load())
	require.Equal(t, suspended, fenceStatus(t, db, xid, br))
	require.Zero(t, effects(t, db, br, "try"))
}

// TestRestartBetweenPhases: the process that ran Try goes away before
// phase two; a new process with a new Participant of the same action gets
// phase two, with the parameters, and the fence row the first one wrote.
func TestRestartBetweenPhases(t *testing.T) {
	srv := startTC(t, tc.Config{})
	db := fenceDB(t)
	ctx := t.Context()
	launcher := newClient(t, srv, "launcher")
	params := tcc.Params{"big": int64(math.MaxInt64), "s": "😀 naïve"}

	for _, commit := range []bool{true, false} {
		name := map[bool]string{true: "pay-confirm", false: "pay-cancel"}[commit]
		a := newClient(t, srv, "svc")
		la := newLedger(name)
		pa := register(t, a, la, tcc.Config{Fence: db})
		require.NoError(t, a.Ping(ctx))

		txCtx, tx, err := launcher.TM().Begin(ctx, tm.TxOptions{Timeout: time.Minute})
		require.NoError(t, err)
		require.NoError(t, pa.Try(txCtx, params))
		br := la.calls("try")[0].branchID
		require.NoError(t, pa.Close())
		require.NoError(t, a.Close())

		if commit {
			// The coordinator decides, finds no RM for the branch, and
			// keeps retrying; for the TM the commit is done.
			require.NoError(t, tx.Commit(txCtx))
		} else {
			require.NoError(t, tx.Rollback(txCtx))
		}
		require.Equal(t, tried, fenceStatus(t, db, tx.XID(), br), "phase two has not run")

		b := newClient(t, srv, "svc")
		lb := newLedger(name)
		register(t, b, lb, tcc.Config{Fence: db})
		require.NoError(t, b.Ping(ctx))
		method, want := "cancel", rollbacked
		if commit {
			method, want = "confirm", committed
		}
		require.Eventually(t, func() bool { return fenceStatus(t, db, tx.XID(), br) == want }, 20*time.Second, 10*time.Millisecond)
		calls := lb.calls(method)
		require.Len(t, calls, 1)
		require.Equal(t, br, calls[0].branchID)
		big, err := calls[0].params.Int64("big")
		require.NoError(t, err)
		require.Equal(t, int64(math.MaxInt64), big)
		s, err := calls[0].params.String("s")
		require.NoError(t, err)
		require.Equal(t, "😀 naïve", s)
		require.Empty(t, la.calls(method), "the first process never saw phase two")
	}
}

// order is a nested parameter.
type order struct {
	ID    int64             `json:"id"`
	Items []item            `json:"items"`
	Tags  map[string]string `json:"tags"`
	Note  string            `json:"note" tccParam:"hidden"`
}

type item struct {
	SKU   string  `json:"sku"`
	Price float64 `json:"price"`
	Qty   uint64  `json:"qty"`
}

// TestParamsRoundTrip sends parameters through the coordinator and reads
// them in Try and Confirm.
func TestParamsRoundTrip(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	l := newLedger("params")
	p := register(t, c, l, tcc.Config{})
	want := order{ID: math.MaxInt64, Items: []item{{"🍕-1", 0.1 + 0.2, math.MaxUint64}, {"b", 1e-300, 0}},
		Tags: map[string]string{"emoji": "👩‍👩‍👧", "quote": `"\`}, Note: "n"}
	params := tcc.Params{
		"maxInt":   int64(math.MaxInt64),
		"minInt":   int64(math.MinInt64),
		"float":    math.Pi,
		"tiny":     math.SmallestNonzeroFloat64,
		"huge":     math.MaxFloat64,
		"emoji":    "🙂 ünïcode \u2028 \x00",
		"yes":      true,
		"nothing":  nil,
		"order":    want,
		"orderPtr": &want,
	}
	err := c.TM().WithGlobalTx(t.Context(), tm.TxOptions{}, func(ctx context.Context) error {
		return p.Try(ctx, params)
	})
	require.NoError(t, err)
	for _, method := range []string{"try", "confirm"} {
		calls := l.calls(method)
		require.Len(t, calls, 1)
		v := calls[0].params
		require.Equal(t, len(params), v.Len(), method)
		i, err := v.Int64("maxInt")
		require.NoError(t, err)
		require.Equal(t, int64(math.MaxInt64), i)
		i, err = v.Int64("minInt")
		require.NoError(t, err)
		require.Equal(t, int64(math.MinInt64), i)
		for k, f := range map[string]float64{"float": math.Pi, "tiny": math.SmallestNonzeroFloat64, "huge": math.MaxFloat64} {
			got, err := v.Float64(k)
			require.NoError(t, err)
			require.Equal(t, f, got, k)
		}
		s, err := v.String("emoji")
		require.NoError(t, err)
		require.Equal(t, "🙂 ünïcode \u2028 \x00", s)
		b, err := v.Bool("yes")
		require.NoError(t, err)
		require.True(t, b)
		require.True(t, v.Has("nothing"))
		for _, k := range []string{"order", "orderPtr"} {
			var got order
			require.NoError(t, v.Decode(k, &got))
			require.Equal(t, want, got, k)
		}
		// Structs are encoded by encoding/json alone: no tag but json's
		// is read, and nothing of theirs lands among the parameters.
		require.False(t, v.Has("hidden"))
		require.False(t, v.Has("id"))
		var raw map[string]any
		require.NoError(t, v.Decode("order", &raw))
		require.Contains(t, raw, "note")
		require.NotContains(t, raw, "hidden")
	}
}

// TestFenceCleanup deletes old finished rows, by hand and periodically.
func TestFenceCleanup(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	ctx := t.Context()
	old := time.Now().UTC().Add(-48 * time.Hour)
	insert := func(action string, br int64, status int, at time.Time) {
		_, err := db.Exec("INSERT INTO tcc_fence_log (xid, branch_id, action_name, status, gmt_create, gmt_modified) VALUES (?, ?, ?, ?, ?, ?)",
			"x", br, action, status, at, at)
		require.NoError(t, err)
	}
	count := func(action string) int {
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM tcc_fence_log WHERE action_name = ?", action).Scan(&n))
		return n
	}

	l := newLedger("clean")
	p := register(t, c, l, tcc.Config{Fence: db, FenceCleanupAfter: -1})
	const many = 2500 // more than one batch
	tx, err := db.Begin()
	require.NoError(t, err)
	stmt, err := tx.Prepare("INSERT INTO tcc_fence_log (xid, branch_id, action_name, status, gmt_create, gmt_modified) VALUES ('x', ?, 'clean', ?, ?, ?)")
	require.NoError(t, err)
	for i := range many {
		_, err := stmt.Exec(int64(i), []int{committed, rollbacked, suspended}[i%3], old, old)
		require.NoError(t, err)
	}
	require.NoError(t, stmt.Close())
	require.NoError(t, tx.Commit())
	insert("clean", -1, tried, old)            // phase two pending: kept
	insert("clean", -2, committed, time.Now()) // recent: kept
	insert("other", -3, committed, old)        // another action: kept

	n, err := p.CleanFence(ctx, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, many, n)
	require.Equal(t, 2, count("clean"))
	require.Equal(t, 1, count("other"))

	// The periodic cleanup.
	l2 := newLedger("other")
	p2 := register(t, c, l2, tcc.Config{Fence: db, FenceCleanupAfter: time.Hour, FenceCleanupPeriod: 10 * time.Millisecond})
	require.Eventually(t, func() bool { return count("other") == 0 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, p2.Close())
	require.NoError(t, p2.Close(), "Close is idempotent")

	_, err = register(t, c, newLedger("nofence"), tcc.Config{}).CleanFence(ctx, time.Now())
	require.ErrorIs(t, err, tcc.ErrNoFence)
}

// TestErrors covers the refusals.
func TestErrors(t *testing.T) {
	srv := startTC(t, tc.Config{})
	c := newClient(t, srv, "app")
	db := fenceDB(t)
	ctx := t.Context()

	_, err := tcc.Register(nil, newLedger("x"), tcc.Config{})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)
	_, err = tcc.Register(c, nil, tcc.Config{})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)
	_, err = tcc.Register(c, newLedger(""), tcc.Config{})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)
	_, err = tcc.Register(c, newLedger("a,b"), tcc.Config{})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)
	require.ErrorIs(t, err, rm.ErrInvalidResource)
	_, err = tcc.Register(c, newLedger("x"), tcc.Config{Fence: db, FenceTable: "bad name"})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)
	_, err = tcc.Register(c, newLedger(string(make([]byte, 65))), tcc.Config{Fence: db})
	require.ErrorIs(t, err, tcc.ErrInvalidAction)

	l := newLedger("act")
	p := register(t, c, l, tcc.Config{Fence: db})
	_, err = tcc.Register(c, newLedger("act"), tcc.Config{})
	require.ErrorIs(t, err, rm.ErrDuplicateResource)

	require.ErrorIs(t, p.Try(ctx, tcc.Params{"n": 1}), tcc.ErrNoGlobalTx)
	err = c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
		return p.Try(ctx, tcc.Params{"sys::x": 1})
	})
	require.ErrorIs(t, err, tcc.ErrInvalidParams)
	require.Zero(t, l.tries.Load())

	// Phase two for a branch that never tried: Confirm is refused for
	// good, Cancel is an empty rollback.
	req := rm.BranchRequest{XID: "10.0.0.1:8091:1", BranchID: 77, BranchType: protocol.BranchTCC, ResourceID: "act"}
	st, err := p.BranchCommit(ctx, req)
	require.ErrorIs(t, err, tcc.ErrFenceState)
	require.Equal(t, protocol.PhaseTwoCommitFailedUnretryable, st)
	st, err = p.BranchRollback(ctx, req)
	require.NoError(t, err)
	require.Equal(t, protocol.PhaseTwoRollbacked, st)
	require.Zero(t, l.cancels.Load())

	// Undecodable application data: retryable.
	req.ApplicationData = "not json"
	st, err = p.BranchCommit(ctx, req)
	require.ErrorIs(t, err, tcc.ErrApplicationData)
	require.Equal(t, protocol.PhaseTwoCommitFailedRetryable, st)

	// The action's own errors.
	plain := newLedger("plain")
	pp := register(t, c, plain, tcc.Config{})
	plain.confirmHook = func(context.Context, *tcc.ActionContext) error { return tcc.Unretryable(errBusiness) }
	plain.cancelHook = func(context.Context, *tcc.ActionContext) error { return errBusiness }
	req = rm.BranchRequest{XID: "10.0.0.1:8091:2", BranchID: 78, BranchType: protocol.BranchTCC, ResourceID: "plain"}
	st, err = pp.BranchCommit(ctx, req)
	require.ErrorIs(t, err, errBusiness)
	require.Equal(t, protocol.PhaseTwoCommitFailedUnretryable, st)
	st, err = pp.BranchRollback(ctx, req)
	require.ErrorIs(t, err, errBusiness)
	require.Equal(t, protocol.PhaseTwoRollbackFailedRetryable, st)

	// A fenced Cancel that fails leaves the branch tried, for the retry.
	failing := newLedger("failing")
	pfail := register(t, c, failing, tcc.Config{Fence: db})
	xid, br := tryOpen(t, ctx, c.TM(), pfail, failing, nil)
	failing.cancelHook = func(context.Context, *tcc.ActionContext) error { return errBusiness }
	req = rm.BranchRequest{XID: xid, BranchID: br, BranchType: protocol.BranchTCC, ResourceID: "failing"}
	st, err = pfail.BranchRollback(ctx, req)
	require.ErrorIs(t, err, errBusiness)
	require.Equal(t, protocol.PhaseTwoRollbackFailedRetryable, st)
	require.Equal(t, tried, fenceStatus(t, db, xid, br))
	require.Zero(t, effects(t, db, br, "cancel"), "the failed Cancel's work rolled back")
	failing.cancelHook = nil
	st, err = pfail.BranchRollback(ctx, req)
	require.NoError(t, err)
	require.Equal(t, protocol.PhaseTwoRollbacked, st)
	calls := failing.calls("cancel")
	require.Len(t, calls, 2)
	require.False(t, calls[0].retry)
	require.True(t, calls[1].retry)
	require.Equal(t, 1, effects(t, db, br, "cancel"))

	// After Close: Try refused, the name free again.
	require.NoError(t, p.Close())
	err = c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error { return p.Try(ctx, nil) })
	require.ErrorIs(t, err, tcc.ErrClosed)
	register(t, c, newLedger("act"), tcc.Config{})
}

package tcc_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
)

// startTC runs an embedded coordinator with short retry intervals, closed
// when the test ends.
func startTC(t testing.TB, cfg tc.Config) *tc.Server {
	t.Helper()
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 20 * time.Millisecond
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 100 * time.Millisecond
	}
	srv, err := tc.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background(), "127.0.0.1:0"))
	t.Cleanup(func() { srv.Close() })
	return srv
}

// testLogger logs to stderr when TCC_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TCC_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newClient returns a client of srv, closed when the test ends.
func newClient(t testing.TB, srv *tc.Server, app string) *atcc.Client {
	t.Helper()
	c, err := atcc.New(atcc.Config{
		ApplicationID:  app,
		Coordinators:   []string{srv.Addr().String()},
		RetryBackoff:   10 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
		HandlerTimeout: 5 * time.Second,
		Logger:         testLogger(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// seen is what an action method saw.
type seen struct {
	xid      string
	branchID int64
	params   tcc.ParamsView
	retry    bool
	tx       bool
}

// ledger is a test action. With a fence it writes one row per call into
// the effects table in ac.Tx, the business work whose count the tests
// check. Hooks, when set, run after that write and may fail.
type ledger struct {
	name string

	tries, confirms, cancels atomic.Int32

	mu  sync.Mutex
	got map[string][]seen // by method

	tryHook, confirmHook, cancelHook func(ctx context.Context, ac *tcc.ActionContext) error
}

func newLedger(name string) *ledger { return &ledger{name: name, got: map[string][]seen{}} }

func (l *ledger) Name() string { return l.name }

func (l *ledger) record(ctx context.Context, method string, ac *tcc.ActionContext, hook func(context.Context, *tcc.ActionContext) error) error {
	l.mu.Lock()
	l.got[method] = append(l.got[method], seen{ac.XID, ac.BranchID, ac.Params, ac.Retry, ac.Tx != nil})
	l.mu.Unlock()
	if ac.Tx != nil {
		if _, err := ac.Tx.ExecContext(ctx, "INSERT INTO effects (action, xid, branch_id, kind) VALUES (?, ?, ?, ?)",
			l.name, ac.XID, ac.BranchID, method); err != nil {
			return err
		}
	}
	if hook != nil {
		return hook(ctx, ac)
	}
	return nil
}

func (l *ledger) Try(ctx context.Context, ac *tcc.ActionContext) error {
	l.tries.Add(1)
	return l.record(ctx, "try", ac, l.tryHook)
}

func (l *ledger) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	l.confirms.Add(1)
	return l.record(ctx, "confirm", ac, l.confirmHook)
}

func (l *ledger) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	l.cancels.Add(1)
	return l.record(ctx, "cancel", ac, l.cancelHook)
}

// calls returns what method saw, in order.
func (l *ledger) calls(method string) []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]seen(nil), l.got[method]...)
}

// fenceDB returns a fresh database with the fence and effects tables.
func fenceDB(t testing.TB) *sql.DB {
	t.Helper()
	d := testdb.Create(t)
	require.NoError(t, tcc.CreateTable(context.Background(), d.DB, ""))
	d.Exec(t, "CREATE TABLE effects (id BIGINT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(64) NOT NULL, "+
		"xid VARCHAR(128) NOT NULL, branch_id BIGINT NOT NULL, kind VARCHAR(16) NOT NULL)")
	d.DB.SetMaxIdleConns(16)
	return d.DB
}

// effects counts the effects rows of one kind for a branch.
func effects(t testing.TB, db *sql.DB, branchID int64, kind string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM effects WHERE branch_id = ? AND kind = ?", branchID, kind).Scan(&n))
	return n
}

// fenceStatus returns the fence row status of a branch, 0 when missing.
func fenceStatus(t testing.TB, db *sql.DB, xid string, branchID int64) int {
	t.Helper()
	var s int
	err := db.QueryRow("SELECT status FROM tcc_fence_log WHERE xid = ? AND branch_id = ?", xid, branchID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return 0
	}
	require.NoError(t, err)
	return s
}

// register registers a, closed when the test ends.
func register(t testing.TB, c *atcc.Client, a tcc.Action, opts tcc.Config) *tcc.Participant {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	p, err := tcc.Register(c, a, opts)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

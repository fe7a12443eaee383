package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// errLostCommit is what lostCommitConnector's transactions return from
// Commit after the commit did happen, as when the connection breaks
// before the server's answer arrives.
var errLostCommit = errors.New("connection lost after COMMIT was sent")

// A local commit whose answer is lost may have committed. The branch must
// stay registered, so that the global rollback undoes it. Regression: the
// branch used to be reported PhaseOneFailed, which the coordinator skips at
// rollback, leaving the committed change in place.
func TestLostCommitAnswerIsRolledBack(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	c, err := NewConnector(lostCommitConnector{e.d.Connector(t)}, e.client, Config{ResourceID: "lost-commit/" + e.d.Name})
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()

	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	err = inTx(ctx, db, q("UPDATE account SET balance = ? WHERE id = ?", 5, 1))
	require.ErrorIs(t, err, errLostCommit)
	requireRows(t, [][]any{{"1", "5"}}, snapshot(t, e.d.DB, "account"), "the commit happened")

	require.NoError(t, gtx.Rollback(context.Background()))
	waitFor(t, "the global rollback to undo the branch", func() bool {
		return count(t, e.d.DB, "account", "balance = 100") == 1
	})
	waitFor(t, "the undo log to be deleted", func() bool { return count(t, e.d.DB, "undo_log", "log_status = 0") == 0 })
}

// lostCommitConnector's transactions commit, then report errLostCommit.
type lostCommitConnector struct{ driver.Connector }

type lostCommitConn struct{ minimalConn }

type lostCommitTx struct{ driver.Tx }

func (l lostCommitConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := l.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return lostCommitConn{minimalConn{c}}, nil
}

func (l lostCommitConn) Begin() (driver.Tx, error) {
	tx, err := l.minimalConn.Begin()
	if err != nil {
		return nil, err
	}
	return lostCommitTx{tx}, nil
}

func (l lostCommitTx) Commit() error {
	if err := l.Tx.Commit(); err != nil {
		return err
	}
	return errLostCommit
}

// The COMMIT's after-image read runs beside the branch registration: the
// read waits here until the coordinator holds the branch, which it would
// never do if the registration came after it. When the read then fails,
// nothing commits and the coordinator is told (PhaseOneFailed), so that its
// rollback skips the branch; the pool goes on.
func TestAfterImageReadBesideRegistration(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	db, spy, _ := e.spyPool(t, false)
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	var failed, sawBranch atomic.Int64
	spy.onPrepare = func(query string) error {
		if !isAfterImageRead(query) {
			return nil
		}
		failed.Add(1)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if d, err := e.srv.Transaction(context.Background(), gtx.XID()); err == nil && len(d.Branches) == 1 {
				sawBranch.Add(1)
				break
			}
		}
		return errInjected
	}
	err = inTx(ctx, db, q("UPDATE account SET balance = balance - 1 WHERE id = ?", 1))
	require.ErrorIs(t, err, ErrTxAborted)
	require.ErrorIs(t, err, errInjected)
	require.EqualValues(t, 1, failed.Load(), "the after-image read was the one to fail")
	require.EqualValues(t, 1, sawBranch.Load(), "the branch registered while the after image was read")
	detail, err := e.srv.Transaction(context.Background(), gtx.XID())
	require.NoError(t, err)
	require.Len(t, detail.Branches, 1)
	require.Equal(t, protocol.PhaseOneFailed, detail.Branches[0].Status)
	requireRows(t, [][]any{{"1", "100"}}, snapshot(t, e.d.DB, "account"), "nothing committed")
	require.Zero(t, count(t, e.d.DB, "undo_log", ""))

	require.NoError(t, gtx.Rollback(context.Background()))
	spy.onPrepare = nil
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, db, q("UPDATE account SET balance = balance - 1 WHERE id = ?", 1))
	})
	requireRows(t, [][]any{{"1", "99"}}, snapshot(t, e.d.DB, "account"), "the next branch commits")
}

// isAfterImageRead reports whether query is the COMMIT's read of account's
// rows by key: it names the table with its database (the before image uses
// the statement's own words).
func isAfterImageRead(query string) bool {
	return strings.HasPrefix(query, "SELECT") && strings.Contains(query, "`.`account` WHERE `id` IN")
}

// A COMMIT's first registration attempt goes while the after images are
// read; when it meets a global lock, it is repeated as soon as the read is
// done, not after Config.LockRetryInterval: with hot rows the holder is
// usually between its local COMMIT and its GlobalCommit. Here the holder
// commits during the read, and the pause is an hour.
func TestCommitAsksAgainAfterImageReadWithoutPause(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	conflicts := make(chan struct{}, 8)
	spy := &spyConnector{Connector: e.d.Connector(t)}
	db, client := e.observedPool(t, spy, conflictObserver(conflicts), Config{LockRetries: 1, LockRetryInterval: time.Hour})
	holder := e.holdLock(t)

	var sawConflict atomic.Bool
	spy.onPrepare = func(query string) error {
		if !isAfterImageRead(query) {
			return nil
		}
		select {
		case <-conflicts:
			sawConflict.Store(true)
		case <-time.After(10 * time.Second):
		}
		return holder.Commit(context.Background())
	}
	gctx, gtx, err := client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(gctx, 30*time.Second)
	defer cancel()
	require.NoError(t, inTx(ctx, db, q("UPDATE account SET balance = balance + 10 WHERE id = ?", 1)))
	require.True(t, sawConflict.Load(), "the first attempt met the holder's lock")
	require.NoError(t, gtx.Commit(context.Background()))
	requireRows(t, [][]any{{"1", "109"}}, snapshot(t, e.d.DB, "account"), "both committed")
}

// conflictObserver signals every lock conflict the client meets on ch,
// without blocking.
type conflictObserver chan struct{}

func (o conflictObserver) Start(ctx context.Context, _ observe.Op) context.Context { return ctx }
func (o conflictObserver) End(context.Context, observe.Op)                         {}
func (o conflictObserver) TraceParent(context.Context) string                      { return "" }
func (o conflictObserver) Event(_ context.Context, op observe.Op) {
	if op.Kind == observe.LockConflict {
		select {
		case o <- struct{}{}:
		default:
		}
	}
}

// A waiter's repeats are bounded in time as well as in number: with each
// BranchRegister answered 60 ms late and a budget of 10 × 10 ms, the count
// alone would allow 11 attempts (over 700 ms of keeping the row); the
// waiter stops after at most 3.
func TestLockWaitBoundedInTime(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	var attempts atomic.Int64
	obs := slowRegisterObserver{delay: 60 * time.Millisecond, count: &attempts}
	db, client := e.observedPool(t, e.d.Connector(t), obs, Config{LockRetries: 10, LockRetryInterval: 10 * time.Millisecond})
	holder := e.holdLock(t)

	ctx, gtx, err := client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	err = inTx(ctx, db, q("UPDATE account SET balance = balance + 10 WHERE id = ?", 1))
	require.ErrorIs(t, err, ErrLockConflict)
	n := attempts.Load()
	require.GreaterOrEqual(t, n, int64(2), "asked again")
	require.LessOrEqual(t, n, int64(3), "BranchRegister attempts")
	require.NoError(t, gtx.Rollback(context.Background()))
	require.NoError(t, holder.Commit(context.Background()))
	requireRows(t, [][]any{{"1", "99"}}, snapshot(t, e.d.DB, "account"), "the holder committed, the waiter did not")
}

// slowRegisterObserver delays every BranchRegister the client sends, as a
// distant coordinator would, and counts them.
type slowRegisterObserver struct {
	delay time.Duration
	count *atomic.Int64
}

func (o slowRegisterObserver) Start(ctx context.Context, op observe.Op) context.Context {
	if op.Kind == observe.BranchRegister {
		o.count.Add(1)
		time.Sleep(o.delay)
	}
	return ctx
}
func (o slowRegisterObserver) End(context.Context, observe.Op)    {}
func (o slowRegisterObserver) Event(context.Context, observe.Op)  {}
func (o slowRegisterObserver) TraceParent(context.Context) string { return "" }

// A count of repeats whose total time overflows a time.Duration is bounded
// by the count alone.
func TestLockWaitHugeBudget(t *testing.T) {
	r := &resource{cfg: Config{LockRetries: 1 << 30, LockRetryInterval: time.Hour}}
	w := r.lockWait()
	ok, err := w.again(context.Background(), false)
	require.NoError(t, err)
	require.True(t, ok, "may ask again")
	r = &resource{cfg: Config{LockRetries: 2, LockRetryInterval: time.Hour}}
	w = r.lockWait()
	for range 2 {
		ok, _ = w.again(context.Background(), false)
		require.True(t, ok)
	}
	ok, _ = w.again(context.Background(), false)
	require.False(t, ok, "after LockRetries repeats")
}

// observedPool opens an AT pool over target on e's resource (cfg's other
// fields as given), through a client of its own whose Observer is obs.
func (e *env) observedPool(t *testing.T, target driver.Connector, obs observe.Observer, cfg Config) (*sql.DB, *atcc.Client) {
	t.Helper()
	client, err := atcc.New(atcc.Config{
		ApplicationID:  "datasource-test-observed",
		Coordinators:   []string{e.srv.Addr().String()},
		RequestTimeout: 10 * time.Second,
		Observer:       obs,
	})
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	cfg.ResourceID = e.conn.res.id
	c, err := NewConnector(target, client, cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db, client
}

// holdLock commits a branch on account 1 locally in a global transaction of
// e's client and returns that transaction: its global lock on the row is
// kept until it ends.
func (e *env) holdLock(t *testing.T) *tm.GlobalTx {
	t.Helper()
	ctx, holder, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name() + "/holder"})
	require.NoError(t, err)
	require.NoError(t, inTx(ctx, e.db, q("UPDATE account SET balance = balance - 1 WHERE id = ?", 1)))
	return holder
}

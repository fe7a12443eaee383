package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

// multiConnector returns a connector of d with multiStatements=true.
func multiConnector(t testing.TB, d *testdb.Database) driver.Connector {
	t.Helper()
	cfg := d.Config()
	cfg.MultiStatements = true
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	return c
}

// Config.MultiStatements needs connections that accept several
// statements: Connect refuses the others, with a named error.
func TestMultiStatementsConnectChecks(t *testing.T) {
	e := newEnv(t, Config{})
	c, err := NewConnector(e.d.Connector(t), e.client, Config{ResourceID: "no-multi/" + e.d.Name, MultiStatements: true})
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	err = db.Ping()
	require.ErrorIs(t, err, ErrNoMultiStatements)
	require.Contains(t, err.Error(), "multiStatements=true")

	c, err = NewConnector(multiConnector(t, e.d), e.client, Config{ResourceID: "multi/" + e.d.Name, MultiStatements: true})
	require.NoError(t, err)
	db = sql.OpenDB(c)
	defer db.Close()
	require.NoError(t, db.Ping())
	_, err = c.Driver().Open(e.d.DSN())
	require.ErrorIs(t, err, ErrNoMultiStatements, "Driver().Open checks too")
}

// spyConnector wraps go-sql-driver/mysql's connector and records what
// commits: COMMITs sent through a driver.Tx, and queries ending with one.
// With loseCommit, the answer to such a query's COMMIT is lost after it
// arrived, as when the connection breaks at that moment.
type spyConnector struct {
	driver.Connector
	loseCommit bool
	// onPrepare, if set, runs before each statement is prepared; an error
	// it returns fails the preparation.
	onPrepare func(query string) error

	txCommits    atomic.Int64
	queryCommits atomic.Int64
}

type spyConn struct {
	c   driver.Conn
	spy *spyConnector
}

type spyTx struct {
	driver.Tx
	spy *spyConnector
}

// lostRows loses the answer of the COMMIT ending its query.
type lostRows struct{ driver.Rows }

func (s *spyConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := s.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return spyConn{c, s}, nil
}

func (s spyConn) Prepare(q string) (driver.Stmt, error) { return s.c.Prepare(q) }
func (s spyConn) Close() error                          { return s.c.Close() }
func (s spyConn) Begin() (driver.Tx, error)             { panic("BeginTx is used") }

func (s spyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := s.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return spyTx{tx, s.spy}, nil
}

// errInjected is an error a test's spyConnector.onPrepare returns.
var errInjected = errors.New("injected failure")

func (s spyConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if s.spy.onPrepare != nil {
		if err := s.spy.onPrepare(q); err != nil {
			return nil, err
		}
	}
	return s.c.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (s spyConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return s.c.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (s spyConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.c.(driver.QueryerContext).QueryContext(ctx, q, args)
	if err != nil || !strings.HasSuffix(q, "; COMMIT") {
		return rows, err
	}
	s.spy.queryCommits.Add(1)
	if s.spy.loseCommit {
		return lostRows{rows}, nil
	}
	return rows, nil
}

func (s spyConn) CheckNamedValue(nv *driver.NamedValue) error {
	return s.c.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (s spyConn) ResetSession(ctx context.Context) error {
	return s.c.(driver.SessionResetter).ResetSession(ctx)
}

func (s spyConn) IsValid() bool { return s.c.(driver.Validator).IsValid() }

func (t spyTx) Commit() error {
	t.spy.txCommits.Add(1)
	return t.Tx.Commit()
}

func (r lostRows) HasNextResultSet() bool {
	return r.Rows.(driver.RowsNextResultSet).HasNextResultSet()
}

func (r lostRows) NextResultSet() error {
	if err := r.Rows.(driver.RowsNextResultSet).NextResultSet(); err != io.EOF {
		return err
	}
	return errLostCommit
}

// spyPool opens an AT pool over a spyConnector on e's database, with
// multiStatements and Config.MultiStatements when multi is set.
func (e *env) spyPool(t *testing.T, multi bool) (*sql.DB, *spyConnector, *Connector) {
	t.Helper()
	target := e.d.Connector(t)
	if multi {
		target = multiConnector(t, e.d)
	}
	spy := &spyConnector{Connector: target}
	c, err := NewConnector(spy, e.client, Config{ResourceID: fmt.Sprintf("spy/%v/%s", multi, e.d.Name), MultiStatements: multi})
	require.NoError(t, err)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db, spy, c
}

// With Config.MultiStatements the branch's undo log INSERT and its COMMIT
// go in one query, never through the driver's Tx.Commit; without it,
// nothing changes.
func TestMultiStatementsCommitInOneQuery(t *testing.T) {
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprint("multi=", multi), func(t *testing.T) {
			e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100)")
			db, spy, _ := e.spyPool(t, multi)
			e.global(t, true, func(ctx context.Context) error {
				err := inTx(ctx, db, q("UPDATE account SET balance = balance - 10 WHERE id = ?", 1),
					q("UPDATE account SET balance = balance + 10 WHERE id = ?", 2))
				if err == nil {
					require.Equal(t, 1, count(t, e.d.DB, "undo_log", "log_status = 0"), "undo log committed with the branch")
				}
				return err
			})
			requireRows(t, [][]any{{"1", "90"}, {"2", "110"}}, snapshot(t, e.d.DB, "account"), "committed")
			if multi {
				require.EqualValues(t, 0, spy.txCommits.Load(), "COMMITs through driver.Tx")
				require.EqualValues(t, 1, spy.queryCommits.Load(), "INSERT ...; COMMIT queries")
			} else {
				require.EqualValues(t, 1, spy.txCommits.Load(), "COMMITs through driver.Tx")
				require.EqualValues(t, 0, spy.queryCommits.Load(), "INSERT ...; COMMIT queries")
			}
			// A local transaction without AT work commits through the driver.
			require.NoError(t, inTx(context.Background(), db, q("UPDATE account SET balance = 0 WHERE id = ?", 1)))
			require.EqualValues(t, map[bool]int64{false: 2, true: 1}[multi], spy.txCommits.Load())
			waitFor(t, "the undo log to be deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
		})
	}
}

// commitFailure is what a failed local commit of a branch left: its error,
// the branch's status at the coordinator, and the account's balance.
type commitFailure struct {
	err     error
	status  protocol.BranchStatus
	balance string
}

// duringCommit acts between a branch's registration and its undo log
// INSERT; the function it returns, if any, runs after the commit.
type duringCommit func(t *testing.T, e *env, xid string, branchID int64, connID int64, cancel func()) func()

// runFailingCommit runs one branch updating account 1 on a pool with or
// without multi statements; during its commit, between the branch
// registration and the undo log INSERT, it calls during(db, xid,
// branchID, connection id) in a goroutine (cancel cancels the
// transaction's context), then waits for it after the commit.
func runFailingCommit(t *testing.T, multi bool, during duringCommit) commitFailure {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	db, _, c := e.spyPool(t, multi)
	gctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(gctx)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	var connID int64
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&connID))
	_, err = tx.ExecContext(ctx, "UPDATE account SET balance = 5 WHERE id = ?", 1)
	require.NoError(t, err)
	var after func()
	c.res.afterRegister = func(xid string, branchID int64) { after = during(t, e, xid, branchID, connID, cancel) }
	cerr := tx.Commit()
	c.res.afterRegister = nil
	if after != nil {
		after()
	}
	require.Error(t, cerr)
	detail, err := e.srv.Transaction(context.Background(), gtx.XID())
	require.NoError(t, err)
	require.Len(t, detail.Branches, 1)
	out := commitFailure{err: cerr, status: detail.Branches[0].Status}
	require.NoError(t, gtx.Rollback(context.Background()))
	waitFor(t, "the global rollback", func() bool {
		d, err := e.srv.Transaction(context.Background(), gtx.XID())
		return err != nil || len(d.Branches) == 0
	})
	require.NoError(t, e.d.DB.QueryRow("SELECT balance FROM account WHERE id = 1").Scan(&out.balance))
	// The pool is in order: the next branch commits.
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, db, q("UPDATE account SET balance = balance + 1 WHERE id = ?", 1))
	})
	return out
}

// waitLockWait waits, up to 10 s, until connection connID's transaction
// waits for a row lock. It runs in its own goroutine: it does not fail the
// test, the caller's checks do.
func waitLockWait(db *sql.DB, connID int64) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		err := db.QueryRow("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'", connID).Scan(&n)
		if err == nil && n > 0 {
			return
		}
	}
}

// blockUndoInsert holds, in another transaction, the undo_log key the
// branch's INSERT will need; the returned function lets it go.
func blockUndoInsert(t *testing.T, e *env, xid string, branchID int64) func() {
	conn, err := e.d.DB.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN")
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "INSERT INTO undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES (?, ?, '', '', 1, now(6), now(6))", branchID, xid)
	require.NoError(t, err)
	return func() {
		_, err := conn.ExecContext(context.Background(), "ROLLBACK")
		require.NoError(t, err)
		conn.Close()
	}
}

// A failed undo log INSERT (or a commit cut short) is handled the same
// with and without Config.MultiStatements: same error, same report to the
// coordinator, nothing committed.
func TestMultiStatementsCommitFailuresAsBefore(t *testing.T) {
	cases := []struct {
		name       string
		during     duringCommit
		wantErr    error
		wantStatus protocol.BranchStatus
	}{
		{
			// The rollback already ran: not reported, the marker stays.
			name: "duplicate key",
			during: func(t *testing.T, e *env, xid string, branchID int64, _ int64, _ func()) func() {
				_, err := e.d.DB.Exec("INSERT INTO undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES (?, ?, '', '', 1, now(6), now(6))", branchID, xid)
				require.NoError(t, err)
				return nil
			},
			wantErr:    undo.ErrGlobalFinished,
			wantStatus: protocol.BranchRegistered,
		},
		{
			// Rolled back in order: reported PhaseOneFailed.
			name: "missing undo table",
			during: func(t *testing.T, e *env, _ string, _ int64, _ int64, _ func()) func() {
				e.d.Exec(t, "RENAME TABLE undo_log TO undo_log_away")
				return func() { e.d.Exec(t, "RENAME TABLE undo_log_away TO undo_log") }
			},
			wantStatus: protocol.PhaseOneFailed,
		},
		{
			// The connection dies: its rollback fails, not reported.
			name: "connection killed",
			during: func(t *testing.T, e *env, xid string, branchID int64, connID int64, _ func()) func() {
				release := blockUndoInsert(t, e, xid, branchID)
				done := make(chan error)
				go func() {
					waitLockWait(e.d.DB, connID)
					_, err := e.d.DB.Exec(fmt.Sprintf("KILL CONNECTION %d", connID))
					done <- err
				}()
				return func() { require.NoError(t, <-done); release() }
			},
			wantStatus: protocol.BranchRegistered,
		},
		{
			name: "context cancelled",
			during: func(t *testing.T, e *env, xid string, branchID int64, connID int64, cancel func()) func() {
				release := blockUndoInsert(t, e, xid, branchID)
				done := make(chan struct{})
				go func() {
					defer close(done)
					waitLockWait(e.d.DB, connID)
					cancel()
				}()
				return func() { <-done; release() }
			},
			wantErr:    context.Canceled,
			wantStatus: protocol.BranchRegistered,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got [2]commitFailure
			for i, multi := range []bool{false, true} {
				got[i] = runFailingCommit(t, multi, c.during)
				t.Logf("multi=%v: %v", multi, got[i].err)
				if c.wantErr != nil {
					require.ErrorIs(t, got[i].err, c.wantErr)
				}
				require.Equal(t, c.wantStatus, got[i].status, "multi=%v: the branch's status", multi)
				require.Equal(t, "100", got[i].balance, "multi=%v: nothing committed, or undone", multi)
			}
			require.Equal(t, errShape(got[0].err), errShape(got[1].err))
		})
	}
}

// errShape is err's text with the numbers and the quoted names blanked.
func errShape(err error) string {
	return numberRE.ReplaceAllString(quotedRE.ReplaceAllString(err.Error(), "?"), "#")
}

var numberRE = regexp.MustCompile(`[0-9]+`)

var quotedRE = regexp.MustCompile(`'[^']*'`)

// A COMMIT whose answer is lost after the INSERT succeeded is handled as
// a failed driver.Tx.Commit: not reported, so that the global rollback
// undoes the branch that did commit (see TestLostCommitAnswerIsRolledBack).
func TestMultiStatementsLostCommitAnswerIsRolledBack(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	db, spy, _ := e.spyPool(t, true)
	spy.loseCommit = true

	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	err = inTx(ctx, db, q("UPDATE account SET balance = ? WHERE id = ?", 5, 1))
	require.ErrorIs(t, err, errLostCommit)
	require.NotErrorIs(t, err, undo.ErrGlobalFinished)
	requireRows(t, [][]any{{"1", "5"}}, snapshot(t, e.d.DB, "account"), "the commit happened")
	detail, err := e.srv.Transaction(context.Background(), gtx.XID())
	require.NoError(t, err)
	require.Len(t, detail.Branches, 1)
	require.Equal(t, protocol.BranchRegistered, detail.Branches[0].Status, "not reported")

	require.NoError(t, gtx.Rollback(context.Background()))
	waitFor(t, "the global rollback to undo the branch", func() bool {
		return count(t, e.d.DB, "account", "balance = 100") == 1
	})
	waitFor(t, "the undo log to be deleted", func() bool { return count(t, e.d.DB, "undo_log", "log_status = 0") == 0 })
}

// Many branches, one after another and side by side, on a small pool
// whose connections go from one-query commits to plain transactions and
// autocommit statements: every connection stays usable, every branch
// commits or rolls back whole.
func TestMultiStatementsManyTransactions(t *testing.T) {
	const workers, rounds = 6, 15
	e := newEnv(t, Config{MultiStatements: true}, accountDDL)
	for i := range workers {
		e.d.Exec(t, fmt.Sprintf("INSERT INTO account VALUES (%d, 1000)", i))
	}
	e.db.SetMaxOpenConns(3)
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	var rolledBack atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
				if err != nil {
					errs <- err
					return
				}
				err = inTx(ctx, e.db, q("UPDATE account SET balance = balance - 1 WHERE id = ?", w))
				if err == nil && r%3 == 0 {
					// a plain local transaction and an autocommit statement
					// on the pool in between
					err = inTx(context.Background(), e.db, q("SELECT balance FROM account WHERE id = ?", w))
					if err == nil {
						_, err = e.db.Exec("DO 1")
					}
				}
				if err != nil {
					gtx.Rollback(context.Background())
					errs <- err
					return
				}
				if r%5 == 4 {
					rolledBack.Add(1)
					err = gtx.Rollback(context.Background())
				} else {
					err = gtx.Commit(context.Background())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	perWorker := rounds - int(rolledBack.Load())/workers
	for w := range workers {
		waitFor(t, "worker rollbacks to finish", func() bool {
			return count(t, e.d.DB, "account", fmt.Sprintf("id = %d AND balance = %d", w, 1000-perWorker)) == 1
		})
	}
	waitFor(t, "the undo logs to be deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
	var open int
	require.NoError(t, e.db.QueryRow("SELECT @@in_transaction").Scan(&open))
	require.Zero(t, open)
}

// countingNetConn counts the writes to the server: one per command sent,
// a round trip each.
type countingNetConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingNetConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// Config.MultiStatements saves one round trip per branch: a branch of one
// UPDATE writes to the server 6 times (BEGIN, before image, UPDATE, after
// image, undo log INSERT, COMMIT), and 5 with it.
func TestMultiStatementsSavesARoundTrip(t *testing.T) {
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprint("multi=", multi), func(t *testing.T) {
			e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
			// The connections of the AT pool and of the data source's own
			// pool (the undo log deleter's), each counting its writes.
			var mu sync.Mutex
			var conns []*countingNetConn
			writes := func() []int64 {
				mu.Lock()
				defer mu.Unlock()
				n := make([]int64, len(conns))
				for i, c := range conns {
					n[i] = c.writes.Load()
				}
				return n
			}
			cfg := e.d.Config()
			cfg.MultiStatements = multi
			cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				cc := &countingNetConn{Conn: c}
				mu.Lock()
				conns = append(conns, cc)
				mu.Unlock()
				return cc, nil
			}
			target, err := mysql.NewConnector(cfg)
			require.NoError(t, err)
			c, err := NewConnector(target, e.client, Config{ResourceID: fmt.Sprintf("count/%v/%s", multi, e.d.Name), MultiStatements: multi})
			require.NoError(t, err)
			db := sql.OpenDB(c)
			defer db.Close()
			db.SetMaxOpenConns(1)
			var perTx []int64
			for range 3 { // the first fills the caches
				waitFor(t, "the undo logs to be deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
				e.global(t, true, func(ctx context.Context) error {
					before := writes()
					err := inTx(ctx, db, q("UPDATE account SET balance = balance + 1 WHERE id = ?", 1))
					after := writes()
					most := int64(0) // the branch's connection's, not a late one of the deleter
					for i := range before {
						most = max(most, after[i]-before[i])
					}
					perTx = append(perTx, most)
					return err
				})
			}
			want := map[bool]int64{false: 6, true: 5}[multi]
			require.Equal(t, []int64{want, want}, perTx[1:], "writes to the server per branch")
		})
	}
}

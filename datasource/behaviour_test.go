package datasource

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

const accountDDL = "CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)"

// A transfer between two rows commits and rolls back.
func TestTransfer(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)",
		"INSERT INTO account VALUES (1, 100), (2, 100)")
	initial := snapshot(t, e.d.DB, "account")
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE account SET balance = balance - ? WHERE id = ?", 10, 1),
			q("UPDATE account SET balance = balance + ? WHERE id = ?", 10, 2))
	})
	requireRows(t, initial, snapshot(t, e.d.DB, "account"), "after rollback")
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE account SET balance = balance - ? WHERE id = ?", 10, 1),
			q("UPDATE account SET balance = balance + ? WHERE id = ?", 10, 2))
	})
	requireRows(t, [][]any{{"1", "90"}, {"2", "110"}}, snapshot(t, e.d.DB, "account"), "after commit")
	waitFor(t, "undo logs deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
	require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
}

// A write outside the global transaction between phase one and the
// rollback makes the rollback refuse: the data stays as it is and the
// branch's row lock stays held.
func TestDirtyWriteRefusesRollback(t *testing.T) {
	e := newEnv(t, Config{LockRetries: 2, LockRetryInterval: time.Millisecond}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "dirty"})
	require.NoError(t, err)
	require.NoError(t, inTx(ctx, e.db, q("UPDATE account SET balance = 50 WHERE id = 1")))
	e.d.Exec(t, "UPDATE account SET balance = 42 WHERE id = 1") // not through AT

	err = gtx.Rollback(context.Background())
	var se *tm.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, protocol.GlobalRollbackFailed, se.Got)
	requireRows(t, [][]any{{"1", "42"}}, snapshot(t, e.d.DB, "account"), "data left as is")
	require.Equal(t, 1, count(t, e.d.DB, "undo_log", ""), "undo log kept for a person")

	// The lock is still held: another global transaction cannot take the row.
	ctx2, gtx2, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "blocked"})
	require.NoError(t, err)
	defer gtx2.Rollback(context.Background())
	err = inTx(ctx2, e.db, q("UPDATE account SET balance = balance + 1 WHERE id = 1"))
	var lce *LockConflictError
	require.ErrorAs(t, err, &lce)
	require.ErrorIs(t, err, ErrLockConflict)
	require.ErrorIs(t, err, protocol.ErrLockKeyConflict)
	require.Equal(t, "account:1", lce.LockKeys)
	requireRows(t, [][]any{{"1", "42"}}, snapshot(t, e.d.DB, "account"), "blocked update rolled back")
}

// Global transactions incrementing one row concurrently serialise on its
// global lock: every committed increment counts, none is lost.
func TestConcurrentIncrements(t *testing.T) {
	e := newEnv(t, Config{LockRetries: 1000, LockRetryInterval: 2 * time.Millisecond}, accountDDL, "INSERT INTO account VALUES (1, 0)")
	const workers, each = 4, 5
	var mu sync.Mutex
	committed, conflicts := 0, 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				err := e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "inc"}, func(ctx context.Context) error {
					return inTx(ctx, e.db, q("UPDATE account SET balance = balance + 1 WHERE id = ?", 1))
				})
				mu.Lock()
				switch {
				case err == nil:
					committed++
				case errors.Is(err, ErrLockConflict):
					conflicts++
				default:
					t.Errorf("increment: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, workers*each, committed+conflicts)
	require.Positive(t, committed)
	requireRows(t, [][]any{{"1", strconv.Itoa(committed)}}, snapshot(t, e.d.DB, "account"), "sum of committed increments")
}

// A rollback that reaches the branch after its registration but before its
// undo log leaves a marker; the late phase one then fails and rolls back.
func TestLatePhaseOneAfterRollback(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "late"})
	require.NoError(t, err)
	e.conn.res.afterRegister = func(xid string, branchID int64) {
		// The coordinator rolls back now (as on a timeout): the branch has
		// no undo log yet, so the rollback leaves the marker.
		require.NoError(t, gtx.Rollback(context.Background()))
	}
	err = inTx(ctx, e.db, q("UPDATE account SET balance = 0 WHERE id = 1"))
	e.conn.res.afterRegister = nil
	require.ErrorIs(t, err, undo.ErrGlobalFinished)
	requireRows(t, [][]any{{"1", "100"}}, snapshot(t, e.d.DB, "account"), "late phase one rolled back")
}

// After a global commit the undo logs go away in the background.
func TestUndoLogsDeletedAfterCommit(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100)")
	for i := range 3 {
		e.global(t, true, func(ctx context.Context) error {
			return inTx(ctx, e.db, q("UPDATE account SET balance = balance + 1 WHERE id = ?", 1+i%2))
		})
	}
	waitFor(t, "undo logs deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
}

// Statements AT mode cannot undo are refused with a named error before
// they run.
func TestUnsupportedStatements(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)",
		"CREATE TABLE nokey (a INT, b INT)", "INSERT INTO nokey VALUES (1, 1)",
		"CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
		"CREATE TABLE uid (id VARCHAR(36) PRIMARY KEY, v INT)")
	cases := []struct {
		sql  string
		args []any
		is   error
	}{
		{"UPDATE account SET id = 2 WHERE id = 1", nil, ErrPrimaryKeyUpdate},
		{"INSERT INTO account VALUES (1, 5) ON DUPLICATE KEY UPDATE id = 9", nil, ErrPrimaryKeyUpdate},
		{"ALTER TABLE account ADD COLUMN x INT", nil, ErrDDLInGlobalTx},
		{"TRUNCATE TABLE account", nil, ErrDDLInGlobalTx},
		{"UPDATE nokey SET b = 2", nil, ErrNoPrimaryKey},
		{"DELETE FROM nokey", nil, ErrNoPrimaryKey},
		{"INSERT INTO nokey VALUES (2, 2)", nil, ErrNoPrimaryKey},
		{"INSERT INTO account SELECT id + 10, balance FROM account", nil, nil},
		{"INSERT INTO uid VALUES (UUID(), 1)", nil, nil},
		{"INSERT INTO uid VALUES (1.5e0, 1)", nil, nil}, // a float for a character key
		{"UPDATE account SET balance = 0; DROP TABLE account", nil, ErrDDLInGlobalTx},
		{"COMMIT", nil, nil},
		{"UPDATE account SET balance = 1 RETURNING id", nil, nil}, // does not parse
	}
	before := snapshot(t, e.d.DB, "account")
	for _, tc := range cases {
		t.Run(tc.sql, func(t *testing.T) {
			ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "unsupported"})
			require.NoError(t, err)
			defer gtx.Rollback(context.Background())
			for _, autocommit := range []bool{false, true} {
				if autocommit {
					_, err = e.db.ExecContext(ctx, tc.sql, tc.args...)
				} else {
					err = inTx(ctx, e.db, q(tc.sql, tc.args...))
				}
				require.ErrorIs(t, err, ErrUnsupported)
				var ue *UnsupportedError
				require.ErrorAs(t, err, &ue)
				require.NotEmpty(t, ue.Reason)
				if tc.is != nil {
					require.ErrorIs(t, err, tc.is)
				}
			}
			requireRows(t, before, snapshot(t, e.d.DB, "account"), "nothing changed")
			require.Equal(t, 1, count(t, e.d.DB, "nokey", ""))
			require.Equal(t, 0, count(t, e.d.DB, "auto", ""))
			require.Equal(t, 0, count(t, e.d.DB, "uid", ""))
			require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
		})
	}
}

// A multi-row insert with generated keys is undone, also with an
// auto_increment_increment other than 1.
func TestAutoIncrementInsertRollback(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE item (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10))",
		"INSERT INTO item (name) VALUES ('keep')")
	cfg := e.d.Config()
	cfg.Params = map[string]string{"auto_increment_increment": "3"}
	target, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	conn3, err := NewConnector(target, e.client, Config{ResourceID: "inc3/" + e.d.Name})
	require.NoError(t, err)
	db3 := sql.OpenDB(conn3)
	defer db3.Close()
	initial := snapshot(t, e.d.DB, "item")
	for _, db := range []*sql.DB{e.db, db3} {
		e.global(t, false, func(ctx context.Context) error {
			if err := inTx(ctx, db, q("INSERT INTO item (name) VALUES (?), (?), (?)", "a", "b", "c"),
				q("INSERT INTO item VALUES (NULL, 'd'), (0, 'e')")); err != nil {
				return err
			}
			_, err := db.ExecContext(ctx, "INSERT INTO item (name) VALUES ('auto')") // autocommit branch
			return err
		})
		requireRows(t, initial, snapshot(t, e.d.DB, "item"), "inserts undone")
	}
	// Sanity: the step really was 3.
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, db3, q("INSERT INTO item (name) VALUES ('x'), ('y')"))
	})
	var a, b int64
	require.NoError(t, e.d.DB.QueryRow("SELECT MIN(id), MAX(id) FROM item WHERE name IN ('x','y')").Scan(&a, &b))
	require.Equal(t, int64(3), b-a)
}

// A statement run outside a local transaction with an XID in its context
// gets a branch of its own.
func TestAutocommitBranch(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100)")
	initial := snapshot(t, e.d.DB, "account")
	e.global(t, false, func(ctx context.Context) error {
		if _, err := e.db.ExecContext(ctx, "UPDATE account SET balance = balance - 1 WHERE id = 1"); err != nil {
			return err
		}
		rows, err := e.db.QueryContext(ctx, "DELETE FROM account WHERE id = ?", 2) // a write through Query
		if err != nil {
			return err
		}
		return rows.Close()
	})
	requireRows(t, initial, snapshot(t, e.d.DB, "account"), "autocommit branches undone")
	require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
}

// Prepared statements are intercepted when they execute: prepared in the
// transaction, prepared on the pool and moved into it, and run autocommit.
func TestPreparedStatements(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100), (3, 100)")
	initial := snapshot(t, e.d.DB, "account")
	poolStmt, err := e.db.Prepare("UPDATE account SET balance = balance + ? WHERE id = ?")
	require.NoError(t, err)
	defer poolStmt.Close()
	for _, commit := range []bool{false, true} {
		e.global(t, commit, func(ctx context.Context) error {
			tx, err := e.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			st, err := tx.PrepareContext(ctx, "DELETE FROM account WHERE id = ?")
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, 1); err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, poolStmt).ExecContext(ctx, 5, 2); err != nil {
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			_, err = poolStmt.ExecContext(ctx, 7, 3) // autocommit branch through a pool statement
			return err
		})
		if !commit {
			requireRows(t, initial, snapshot(t, e.d.DB, "account"), "prepared statements undone")
		}
	}
	requireRows(t, [][]any{{"2", "105"}, {"3", "107"}}, snapshot(t, e.d.DB, "account"), "prepared statements committed")
	// Outside a global transaction the same statement just runs.
	waitFor(t, "undo logs deleted", func() bool { return count(t, e.d.DB, "undo_log", "") == 0 })
	_, err = poolStmt.Exec(1, 2)
	require.NoError(t, err)
	require.Equal(t, 1, count(t, e.d.DB, "account", "id = 2 AND balance = 106"))
	require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
}

// GlobalLock mode waits for, and then gives up on, rows a global
// transaction holds; once the global transaction ends it goes through.
func TestGlobalLockMode(t *testing.T) {
	e := newEnv(t, Config{LockRetries: 3, LockRetryInterval: time.Millisecond}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "holder"})
	require.NoError(t, err)
	require.NoError(t, inTx(ctx, e.db, q("UPDATE account SET balance = 0 WHERE id = 1")))

	gl := WithGlobalLock(context.Background())
	// A locking read of a held row conflicts.
	_, err = e.db.QueryContext(gl, "SELECT balance FROM account WHERE id = ? FOR UPDATE", 1)
	var lce *LockConflictError
	require.ErrorAs(t, err, &lce)
	require.Equal(t, "account:1", lce.LockKeys)
	// So does a write, at commit, and it is rolled back.
	err = inTx(gl, e.db, q("UPDATE account SET balance = balance + 1 WHERE id IN (1, 2)"))
	require.ErrorIs(t, err, ErrLockConflict)
	// A row nobody holds is fine, and GlobalLock mode registers nothing.
	require.NoError(t, inTx(gl, e.db, q("UPDATE account SET balance = balance + 1 WHERE id = 2")))
	rows, err := e.db.QueryContext(gl, "SELECT balance FROM account WHERE id = 2 FOR UPDATE")
	require.NoError(t, err)
	rows.Close()
	requireRows(t, [][]any{{"1", "0"}, {"2", "101"}}, snapshot(t, e.d.DB, "account"), "only the free row changed")

	// A locking read inside another global transaction conflicts too.
	ctx2, gtx2, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "reader"})
	require.NoError(t, err)
	tx2, err := e.db.BeginTx(ctx2, nil)
	require.NoError(t, err)
	var bal int
	err = tx2.QueryRowContext(ctx2, "SELECT balance FROM account WHERE id = ? FOR UPDATE", 1).Scan(&bal)
	require.ErrorIs(t, err, ErrLockConflict)
	require.NoError(t, tx2.Rollback())
	require.NoError(t, gtx2.Rollback(context.Background()))

	require.NoError(t, gtx.Commit(context.Background()))
	require.NoError(t, inTx(gl, e.db, q("UPDATE account SET balance = balance + 1 WHERE id IN (1, 2)")))
	require.NoError(t, e.db.QueryRowContext(gl, "SELECT balance FROM account WHERE id = 1 FOR UPDATE").Scan(&bal))
	require.Equal(t, 1, bal)
}

// The lock key names a table in lower case, the same however the
// statement spells it; composite keys join their columns with "_".
func TestLockKeys(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE `Mixed` (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b))",
		"INSERT INTO `Mixed` VALUES (1, 'x', 0), (2, 'y', 0), (3, 'semi;colon', 0)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "keys"})
	require.NoError(t, err)
	defer gtx.Rollback(context.Background())
	c, err := e.db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	tx, err := c.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	for _, s := range []string{
		"UPDATE Mixed SET v = 1 WHERE a = 1",
		"UPDATE `" + e.d.Name + "`.`Mixed` SET v = 2 WHERE a IN (1, 2)",
		"DELETE FROM Mixed WHERE a = 3",
	} {
		_, err := tx.ExecContext(ctx, s)
		require.NoError(t, err, s)
	}
	var keys string
	require.NoError(t, c.Raw(func(dc any) error {
		keys = dc.(*conn).tx.br.locks.String()
		return nil
	}))
	require.Equal(t, "mixed:1_x,2_y,3_0x"+hex.EncodeToString([]byte("semi;colon")), keys)
	require.NoError(t, tx.Commit())
	require.NoError(t, gtx.Rollback(context.Background()))
	require.Equal(t, 3, count(t, e.d.DB, "Mixed", "v = 0"))
}

// A local transaction begun outside a global one refuses statements
// carrying an XID, and a branch refuses another XID.
func TestTxMismatch(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	tx, err := e.db.BeginTx(context.Background(), nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(tm.WithXID(context.Background(), "127.0.0.1:1:1"), "UPDATE account SET balance = 1")
	require.ErrorIs(t, err, ErrTxMismatch)
	require.NoError(t, tx.Rollback())

	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "mismatch"})
	require.NoError(t, err)
	defer gtx.Rollback(context.Background())
	tx, err = e.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(tm.WithXID(ctx, "127.0.0.1:1:2"), "UPDATE account SET balance = 1")
	require.ErrorIs(t, err, ErrTxMismatch)
	// Without an XID in the statement's context the transaction's own is used.
	_, err = tx.ExecContext(context.Background(), "UPDATE account SET balance = 2")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	require.NoError(t, gtx.Rollback(context.Background()))
	require.Equal(t, 1, count(t, e.d.DB, "account", "balance = 100"))
}

// A transaction that writes nothing registers nothing; its rollback too.
func TestReadOnlyBranchRegistersNothing(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	var xid string
	e.global(t, true, func(ctx context.Context) error {
		xid, _ = tm.XID(ctx)
		tx, err := e.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT balance FROM account WHERE id = ? FOR UPDATE", 1).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE account SET balance = 5 WHERE id = 99"); err != nil { // no row
			return err
		}
		return tx.Commit()
	})
	require.NotEmpty(t, xid)
	require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
	// A branch of that global transaction (now ended) would fail to
	// register: none was.
	_, err := e.client.RM().BranchRegister(context.Background(), rm.Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: e.conn.ResourceID(), LockKeys: "account:1"})
	require.Error(t, err)
}

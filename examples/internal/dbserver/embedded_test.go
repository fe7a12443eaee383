package dbserver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/undo"
)

// openEmbedded starts an in-memory server with database name and returns a
// pool on it; both close when the test ends.
func openEmbedded(t *testing.T, name string) *sql.DB {
	t.Helper()
	s, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if !s.Embedded() {
		t.Fatal("Open(\"\") is not embedded")
	}
	db, err := s.CreateDatabase(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestUndoRoundTrip checks what AT mode needs from the embedded server: the
// primary key in information_schema.STATISTICS, LONGBLOB undo rows,
// duplicate-key errors, and an undo log written in a local transaction and
// rolled back by the undo package.
func TestUndoRoundTrip(t *testing.T) {
	ctx := t.Context()
	db := openEmbedded(t, "bank")
	exec(t, db, "CREATE TABLE account (id VARCHAR(32) NOT NULL PRIMARY KEY, balance BIGINT NOT NULL, note TEXT, amount DECIMAL(10,2))",
		"INSERT INTO account VALUES ('alice', 100, 'hi', 1.50)")
	if err := undo.CreateTable(ctx, db, "undo_log"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'", "bank", "account"); n != 1 {
		t.Fatalf("information_schema.STATISTICS lists %d PRIMARY columns of account, want 1", n)
	}
	var dataType string
	if err := db.QueryRowContext(ctx, "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'bank' AND TABLE_NAME = 'undo_log' AND COLUMN_NAME = 'rollback_info'").Scan(&dataType); err != nil || dataType != "longblob" {
		t.Fatalf("rollback_info: type %q, %v; want longblob", dataType, err)
	}

	m, err := undo.NewManager(db, undo.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	l := &undo.BranchLog{XID: "127.0.0.1:8091:1", BranchID: 7}
	sel := "SELECT `id`,`balance`,`note`,`amount` FROM `bank`.`account` WHERE `id` IN (?) FOR UPDATE"
	key := []driver.NamedValue{{Ordinal: 1, Value: "alice"}}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		tx, err := c.(driver.ConnBeginTx).BeginTx(ctx, driver.TxOptions{})
		if err != nil {
			return err
		}
		before, err := undo.QueryImage(ctx, c, sel, key)
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
		if _, err := c.(driver.ExecerContext).ExecContext(ctx, "UPDATE account SET balance = 70, note = 'x', amount = 2.25 WHERE id = 'alice'", nil); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		after, err := undo.QueryImage(ctx, c, sel, key)
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
		l.Records = []undo.Record{{Op: undo.OpUpdate, Table: "account", Before: before, After: after}}
		if err := m.Insert(ctx, c.(driver.ExecerContext), l); err != nil {
			return errors.Join(err, tx.Rollback())
		}
		return tx.Commit()
	})
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM undo_log"); n != 1 {
		t.Fatalf("%d undo rows after the branch, want 1", n)
	}
	_, err = db.ExecContext(ctx, "INSERT INTO undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES (?, ?, '', '', 0, NOW(6), NOW(6))", l.BranchID, l.XID)
	if me := (*mysql.MySQLError)(nil); !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("duplicate undo row: %v, want error 1062", err)
	}

	if err := m.Rollback(ctx, l.XID, l.BranchID); err != nil {
		t.Fatal(err)
	}
	var balance int64
	var note, amount string
	if err := db.QueryRowContext(ctx, "SELECT balance, note, amount FROM account").Scan(&balance, &note, &amount); err != nil {
		t.Fatal(err)
	}
	if balance != 100 || note != "hi" || amount != "1.50" {
		t.Fatalf("after rollback: %d %q %q, want 100 \"hi\" \"1.50\"", balance, note, amount)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM undo_log"); n != 0 {
		t.Fatalf("%d undo rows after the rollback, want 0", n)
	}
}

// TestTransactionRollback checks that a local rollback discards writes.
func TestTransactionRollback(t *testing.T) {
	db := openEmbedded(t, "d")
	exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1)")
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), "UPDATE t SET v = 2"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT v FROM t WHERE id = 1"); n != 1 {
		t.Fatalf("v = %d after rollback, want 1", n)
	}
}

// TestConcurrentAutocommit deletes rows while other connections keep reading
// the table: no read may bring a deleted row back (the memory engine's
// sessions write back every table they read when their command commits,
// which serialHandler makes harmless for single statements).
func TestConcurrentAutocommit(t *testing.T) {
	const rows = 100
	db := openEmbedded(t, "d")
	db.SetMaxOpenConns(8)
	exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
	for i := range rows {
		exec(t, db, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil && ctx.Err() == nil {
					t.Errorf("count: %v", err)
					return
				}
			}
		})
	}
	for i := range rows {
		if _, err := db.ExecContext(t.Context(), "DELETE FROM t WHERE id = ?", i); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if n := count(t, db, "SELECT COUNT(*) FROM t"); n != 0 {
		t.Fatalf("%d rows left after deleting all, want 0", n)
	}
}

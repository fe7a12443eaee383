package undo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

const accountTable = `CREATE TABLE account (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  owner VARCHAR(32) NOT NULL,
  balance DECIMAL(20,2) NOT NULL,
  note TEXT NULL,
  UNIQUE KEY uk_owner (owner)
)`

func accountEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := newEnv(t, cfg, accountTable,
		"INSERT INTO account (id, owner, balance, note) VALUES (1, 'alice', 100.00, NULL), (2, 'bob', 50.50, 'x'), (3, 'carol', 0.01, '😀'), (10, 'dave', 7.00, NULL)")
	e.snapshot(t, "account")
	return e
}

func balance(t testing.TB, db *sql.DB, id int) string {
	t.Helper()
	var b string
	if err := db.QueryRow("SELECT balance FROM account WHERE id = ?", id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRollbackMixedBranch(t *testing.T) {
	for _, interpolate := range []bool{false, true} {
		t.Run(fmt.Sprintf("interpolateParams=%v", interpolate), func(t *testing.T) {
			e := accountEnv(t, Config{})
			app := openDB(t, e.d, func(c *mysql.Config) { c.InterpolateParams = interpolate })
			b := e.beginOn(t, app, "xid-1", 11)
			b.update("account", "balance = balance - 10, note = 'debit'", "id IN (?, ?)", 1, 2)
			b.delete("account", "id = ?", 10)
			b.insert("account", "INSERT INTO account (owner, balance) VALUES ('erin', 1), ('frank', 2)", "owner IN ('erin', 'frank')")
			b.update("account", "balance = balance + 1", "owner = ?", "erin") // a row inserted by this branch
			b.mustCommit()
			if e.undoStatus(t, "xid-1", 11) != statusNormal {
				t.Fatal("no undo log after phase one")
			}
			if err := e.m.Rollback(context.Background(), "xid-1", 11); err != nil {
				t.Fatal(err)
			}
			e.sameAsSnapshot(t, "account") // dave (id 10) is back with his id
			if s := e.undoStatus(t, "xid-1", 11); s != -1 {
				t.Fatalf("undo row status %d after rollback", s)
			}
		})
	}
}

func TestRollbackTwoUpdatesOfOneRow(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-2", 1)
	b.update("account", "balance = balance + 1", "id = ?", 1)
	b.update("account", "balance = balance * 2", "id = ?", 1)
	b.update("account", "note = 'n'", "owner = ?", "alice")
	b.mustCommit()
	if got := balance(t, e.d.DB, 1); got != "202.00" {
		t.Fatalf("balance %s after phase one", got)
	}
	if err := e.m.Rollback(context.Background(), "xid-2", 1); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "account")
}

func TestRollbackCompositeKeysManyRows(t *testing.T) {
	e := newEnv(t, Config{}, `CREATE TABLE ledger (
	  tenant VARCHAR(16) NOT NULL,
	  seq BIGINT UNSIGNED NOT NULL,
	  amount DECIMAL(40,20) NOT NULL,
	  v INT NOT NULL,
	  PRIMARY KEY (tenant, seq, amount))`)
	// 1,200 rows (more than one chunk of keys), with keys that differ only in
	// the 20th decimal place or sit at BIGINT UNSIGNED's top.
	var vals []string
	for i := range 1200 {
		vals = append(vals, fmt.Sprintf("('t%d', %d, 1.000000000000000000%02d, %d)", i%3, uint64(18446744073709551615)-uint64(i/2), i%2, i))
	}
	e.d.Exec(t, "INSERT INTO ledger VALUES "+strings.Join(vals, ","))
	e.snapshot(t, "ledger")
	b := e.begin(t, "xid-3", 3)
	b.update("ledger", "v = v + 1000000", "v >= ?", 0)
	b.delete("ledger", "v < ?", 1001100)
	b.mustCommit()
	if n := count(t, e.d.DB, "ledger"); n != 100 {
		t.Fatalf("%d rows after phase one", n)
	}
	if err := e.m.Rollback(context.Background(), "xid-3", 3); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "ledger")
}

func TestRollbackGeneratedAndOnUpdateColumns(t *testing.T) {
	e := newEnv(t, Config{}, `CREATE TABLE item (
	  id INT PRIMARY KEY,
	  qty INT NOT NULL,
	  doubled INT AS (qty * 2) VIRTUAL,
	  stored INT AS (qty + 1) STORED,
	  changed TIMESTAMP(6) NOT NULL DEFAULT '2000-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP(6))`,
		"INSERT INTO item (id, qty) VALUES (1, 5), (2, 6)")
	e.snapshot(t, "item")
	b := e.begin(t, "xid-4", 4)
	b.update("item", "qty = qty + 1", "id = ?", 1)
	b.delete("item", "id = ?", 2)
	b.mustCommit()
	if err := e.m.Rollback(context.Background(), "xid-4", 4); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "item") // the ON UPDATE column was written back too
}

func TestRollbackRefusesDirtyWrite(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-5", 5)
	b.update("account", "balance = balance - 10", "id IN (?, ?)", 1, 2)
	b.mustCommit()
	// A writer outside the global transaction.
	e.d.Exec(t, "UPDATE account SET balance = 1.23, note = 'outside' WHERE id = 2")

	err := e.m.Rollback(context.Background(), "xid-5", 5)
	var dirty *DirtyWriteError
	if !errors.As(err, &dirty) || !errors.Is(err, ErrDirtyWrite) || IsRetryable(err) {
		t.Fatalf("got %v", err)
	}
	if dirty.XID != "xid-5" || dirty.BranchID != 5 || dirty.Table != fmt.Sprintf("`%s`.`account`", e.d.Name) {
		t.Fatalf("error fields: %+v", dirty)
	}
	if len(dirty.Rows) != 1 || dirty.Rows[0].Key.format() != "(2)" || !slices.Equal(dirty.Rows[0].Changed, []string{"balance", "note"}) {
		t.Fatalf("dirty rows: %+v", dirty.Rows)
	}
	// Nothing was restored, not even the clean row 1; the log is kept.
	if balance(t, e.d.DB, 1) != "90.00" || balance(t, e.d.DB, 2) != "1.23" {
		t.Fatal("rows changed by a refused rollback")
	}
	if e.undoStatus(t, "xid-5", 5) != statusNormal {
		t.Fatal("undo log not kept")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, `current=(2,\"bob\",\"1.23\",\"outside\")`) {
		t.Fatalf("dirty write not logged with the rows:\n%s", logs)
	}
	// Retrying changes nothing.
	if err := e.m.Rollback(context.Background(), "xid-5", 5); !errors.Is(err, ErrDirtyWrite) {
		t.Fatalf("second attempt: %v", err)
	}
}

func TestRollbackDirtyInsertAndDelete(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-6", 6)
	b.insert("account", "INSERT INTO account (id, owner, balance) VALUES (20, 'gina', 5)", "id = 20")
	b.mustCommit()
	e.d.Exec(t, "UPDATE account SET balance = 6 WHERE id = 20")
	if err := e.m.Rollback(context.Background(), "xid-6", 6); !errors.Is(err, ErrDirtyWrite) {
		t.Fatalf("inserted row changed outside: %v", err)
	}

	b = e.begin(t, "xid-7", 7)
	b.delete("account", "id = ?", 3)
	b.mustCommit()
	e.d.Exec(t, "INSERT INTO account (id, owner, balance) VALUES (3, 'mallory', 1)")
	err := e.m.Rollback(context.Background(), "xid-7", 7)
	var dirty *DirtyWriteError
	if !errors.As(err, &dirty) || dirty.Rows[0].Expected != nil || dirty.Rows[0].Current == nil {
		t.Fatalf("deleted row re-inserted outside: %v", err)
	}
	if !strings.Contains(err.Error(), "was inserted") {
		t.Fatalf("message: %v", err)
	}
}

func TestRollbackAcceptsAlreadyRestoredRows(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-8", 8)
	b.update("account", "balance = balance - 10", "id = ?", 1)
	b.delete("account", "id = ?", 2)
	b.mustCommit()
	// Someone already put the before image back.
	e.d.Exec(t, "UPDATE account SET balance = 100.00 WHERE id = 1",
		"INSERT INTO account (id, owner, balance, note) VALUES (2, 'bob', 50.50, 'x')")
	if err := e.m.Rollback(context.Background(), "xid-8", 8); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "account")
	if e.undoStatus(t, "xid-8", 8) != -1 {
		t.Fatal("undo log kept")
	}
}

func TestRollbackSkipDataValidation(t *testing.T) {
	e := accountEnv(t, Config{SkipDataValidation: true})
	b := e.begin(t, "xid-9", 9)
	b.update("account", "balance = balance - 10", "id = ?", 1)
	b.mustCommit()
	e.d.Exec(t, "UPDATE account SET balance = 1 WHERE id = 1")
	if err := e.m.Rollback(context.Background(), "xid-9", 9); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, e.d.DB, 1); got != "100.00" {
		t.Fatalf("balance %s: the before image should overwrite without validation", got)
	}
}

func TestRollbackWithoutUndoLogLeavesMarker(t *testing.T) {
	e := accountEnv(t, Config{})
	// Phase two arrives first (the branch's phase one is late).
	if err := e.m.Rollback(context.Background(), "xid-10", 10); err != nil {
		t.Fatal(err)
	}
	if s := e.undoStatus(t, "xid-10", 10); s != statusGlobalFinished {
		t.Fatalf("marker status %d", s)
	}
	// The late phase one cannot commit.
	b := e.begin(t, "xid-10", 10)
	b.update("account", "balance = 0", "id = ?", 1)
	err := b.commit()
	if !errors.Is(err, ErrGlobalFinished) || IsRetryable(err) {
		t.Fatalf("late phase one: %v", err)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("cause not kept: %v", err)
	}
	e.sameAsSnapshot(t, "account")
	// Repeated rollbacks are no-ops.
	for range 2 {
		if err := e.m.Rollback(context.Background(), "xid-10", 10); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRollbackIsIdempotent(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-11", 11)
	b.update("account", "balance = balance + 5", "id = ?", 3)
	b.mustCommit()
	for i := range 3 {
		if err := e.m.Rollback(context.Background(), "xid-11", 11); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		e.sameAsSnapshot(t, "account")
	}
	if s := e.undoStatus(t, "xid-11", 11); s != statusGlobalFinished {
		t.Fatalf("status %d after repeated rollbacks", s)
	}
}

func TestConcurrentRollbacksOfOneBranch(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-12", 12)
	b.update("account", "balance = balance + 5", "id = ?", 1)
	b.mustCommit()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			for {
				errs[i] = e.m.Rollback(context.Background(), "xid-12", 12)
				if errs[i] == nil || !IsRetryable(errs[i]) {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.sameAsSnapshot(t, "account")
}

// Under REPEATABLE READ the rollbacks' gap locks make their marker inserts
// deadlock: a rollback may fail retryably (the coordinator retries), never
// for good, and retried it succeeds. See also the READ COMMITTED variant.
func TestConcurrentRollbacksWithoutLog(t *testing.T) {
	e := accountEnv(t, Config{})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			for range 20 {
				errs[i] = e.m.Rollback(context.Background(), "xid-13", 13)
				if !IsRetryable(errs[i]) {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e.undoStatus(t, "xid-13", 13) != statusGlobalFinished {
		t.Fatal("no marker")
	}
}

func TestRollbackSchemaChanged(t *testing.T) {
	e := accountEnv(t, Config{})
	b := e.begin(t, "xid-14", 14)
	b.update("account", "note = 'n'", "id = ?", 1)
	b.mustCommit()
	e.d.Exec(t, "ALTER TABLE account DROP COLUMN note")
	err := e.m.Rollback(context.Background(), "xid-14", 14)
	if !errors.Is(err, ErrSchemaChanged) || IsRetryable(err) || !strings.Contains(err.Error(), "`note`") {
		t.Fatalf("dropped column: %v", err)
	}
	e.d.Exec(t, "DROP TABLE account")
	if err := e.m.Rollback(context.Background(), "xid-14", 14); !errors.Is(err, ErrSchemaChanged) {
		t.Fatalf("dropped table: %v", err)
	}
	if e.undoStatus(t, "xid-14", 14) != statusNormal {
		t.Fatal("undo log not kept")
	}
}

func TestRollbackSkipsRecordsWithoutRows(t *testing.T) {
	e := accountEnv(t, Config{})
	e.d.Exec(t, "CREATE TABLE gone (id INT PRIMARY KEY, v INT)")
	b := e.begin(t, "xid-18", 18)
	b.update("gone", "v = 1", "id = ?", 1) // matches nothing
	b.update("account", "balance = 0", "id = ?", 1)
	b.mustCommit()
	e.d.Exec(t, "DROP TABLE gone")
	if err := e.m.Rollback(context.Background(), "xid-18", 18); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "account")
}

func TestRollbackRejectsBadLogs(t *testing.T) {
	e := accountEnv(t, Config{})
	for i, xid := range []string{"xid-a", "xid-b"} {
		b := e.begin(t, xid, int64(i))
		b.update("account", "balance = balance + 1", "id = ?", i+1)
		b.mustCommit()
	}
	q := func(s string) { e.d.Exec(t, s) }
	// A log copied from another branch.
	q("UPDATE undo_log u JOIN (SELECT rollback_info FROM undo_log WHERE xid = 'xid-b') o SET u.rollback_info = o.rollback_info WHERE u.xid = 'xid-a'")
	if err := e.m.Rollback(context.Background(), "xid-a", 0); !errors.Is(err, ErrCorrupt) || IsRetryable(err) {
		t.Fatalf("foreign log: %v", err)
	}
	q("UPDATE undo_log SET rollback_info = 'garbage' WHERE xid = 'xid-a'")
	if err := e.m.Rollback(context.Background(), "xid-a", 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: %v", err)
	}
	q("UPDATE undo_log SET context = 'serializer=jackson&compressorType=NONE' WHERE xid = 'xid-a'")
	if err := e.m.Rollback(context.Background(), "xid-a", 0); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("jackson: %v", err)
	}
	q("UPDATE undo_log SET log_status = 7 WHERE xid = 'xid-b'")
	if err := e.m.Rollback(context.Background(), "xid-b", 1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown status: %v", err)
	}
	for _, xid := range []string{"", strings.Repeat("x", 129)} {
		if err := e.m.Rollback(context.Background(), xid, 1); !errors.Is(err, ErrInvalid) {
			t.Fatalf("xid %q: %v", xid, err)
		}
	}
}

func TestRollbackLockTimeoutIsRetryable(t *testing.T) {
	e := accountEnv(t, Config{})
	mdb := openDB(t, e.d, func(c *mysql.Config) { c.Params["innodb_lock_wait_timeout"] = "1" })
	m, err := NewManager(mdb, Config{Tables: e.tables})
	if err != nil {
		t.Fatal(err)
	}
	b := e.begin(t, "xid-15", 15)
	b.update("account", "balance = balance + 1", "id = ?", 1)
	b.mustCommit()
	// Another transaction holds the business row.
	tx, err := e.d.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SELECT * FROM account WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	err = m.Rollback(context.Background(), "xid-15", 15)
	var me *mysql.MySQLError
	if !IsRetryable(err) || !errors.As(err, &me) || me.Number != 1205 {
		t.Fatalf("got %v", err)
	}
	tx.Rollback()
	if err := m.Rollback(context.Background(), "xid-15", 15); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "account")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Rollback(ctx, "xid-15", 15); !IsRetryable(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestInsertValidatesInput(t *testing.T) {
	e := accountEnv(t, Config{MaxPayload: 1024})
	b := e.begin(t, strings.Repeat("x", 129), 1)
	if err := b.commit(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long xid: %v", err)
	}
	b = e.begin(t, "xid-16", 16)
	b.update("account", "note = REPEAT('n', 2000)", "id = ?", 1)
	if err := b.commit(); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("large log: %v", err)
	}
	e.sameAsSnapshot(t, "account")
}

func TestCustomUndoTable(t *testing.T) {
	e := newEnv(t, Config{Table: "my`undo"}, accountTable, "INSERT INTO account (owner, balance) VALUES ('a', 1)")
	e.snapshot(t, "account")
	b := e.begin(t, "xid-17", 17)
	b.update("account", "balance = 2", "id = ?", 1)
	b.mustCommit()
	if e.undoStatus(t, "xid-17", 17) != statusNormal {
		t.Fatal("no row in the custom table")
	}
	if err := e.m.Rollback(context.Background(), "xid-17", 17); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "account")
}

package undo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/internal/schema"
)

const uniqueTable = `CREATE TABLE uq (
  id INT PRIMARY KEY,
  uq INT NULL,
  v VARCHAR(16) NOT NULL DEFAULT '',
  UNIQUE KEY uk_uq (uq)
)`

// uniqueEnv holds ids 1..5 with uq 12..16.
func uniqueEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := newEnv(t, cfg, uniqueTable,
		"INSERT INTO uq (id, uq, v) VALUES (1, 12, 'a'), (2, 13, 'b'), (3, 14, 'c'), (4, 15, 'd'), (5, 16, 'e')")
	e.snapshot(t, "uq")
	return e
}

// replace runs stmt (a REPLACE or an INSERT ... ON DUPLICATE KEY UPDATE)
// over rows that exist: the before image is read by where, the after image
// by the same keys, and the change is recorded as one update, as the driver
// wrapper records such a statement.
func (b *branch) replace(table, stmt, where string) {
	b.t.Helper()
	before := b.query("SELECT * FROM " + schema.QuoteIdent(table) + " WHERE " + where + " FOR UPDATE")
	b.exec(stmt)
	after := b.byKey(table, before)
	b.log.Records = append(b.log.Records, Record{Op: OpUpdate, Table: table, Before: before, After: after})
}

func mustRollBack(t *testing.T, e *env, xid string, branchID int64, table string) {
	t.Helper()
	if err := e.m.Rollback(context.Background(), xid, branchID); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, table)
	if s := e.undoStatus(t, xid, branchID); s != -1 {
		t.Fatalf("undo row status %d after rollback", s)
	}
}

// A statement that shifts a unique column moves each value to a row that
// held another: restored in image order, the first row collides with the
// next (error 1062, which used to be retried for ever).
func TestRollbackUniqueShift(t *testing.T) {
	for _, c := range []struct{ name, set, where string }{
		{"up", "uq = uq + 1", "uq BETWEEN 12 AND 16 ORDER BY uq DESC"},
		{"down", "uq = uq - 1", "uq BETWEEN 12 AND 16 ORDER BY uq ASC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := uniqueEnv(t, Config{})
			b := e.begin(t, "xid-shift", 1)
			b.update("uq", c.set, c.where)
			b.mustCommit()
			mustRollBack(t, e, "xid-shift", 1, "uq")
			if strings.Contains(e.logs.String(), "postponed") {
				t.Fatalf("rows restored out of order:\n%s", e.logs.String())
			}
		})
	}
}

// Two statements of one branch that each shift the column: the net change
// of every row is restored at once.
func TestRollbackUniqueShiftAcrossStatements(t *testing.T) {
	e := uniqueEnv(t, Config{})
	b := e.begin(t, "xid-shift2", 2)
	b.update("uq", "uq = uq + 10", "uq BETWEEN 12 AND 16 ORDER BY uq DESC")
	b.update("uq", "uq = uq - 11", "uq BETWEEN 22 AND 26 ORDER BY uq ASC")
	b.delete("uq", "id = ?", 3)
	b.insert("uq", "INSERT INTO uq (id, uq, v) VALUES (9, 16, 'new')", "id = 9")
	b.mustCommit()
	mustRollBack(t, e, "xid-shift2", 2, "uq")
}

// A REPLACE over existing rows that trades their unique values is recorded
// as one update whose rows wait for each other in a cycle: one of them is
// moved out of the way (deleted and inserted again whole).
func TestRollbackUniqueCycles(t *testing.T) {
	for _, c := range []struct {
		name, stmt, where string
		cycle             bool
	}{
		{"swap", "REPLACE INTO uq (id, uq, v) VALUES (1, 13, 'x'), (2, 12, 'y')", "id IN (1, 2)", true},
		{"rotation", "REPLACE INTO uq (id, uq, v) VALUES (1, 13, 'x'), (2, 14, 'y'), (3, 12, 'z')", "id IN (1, 2, 3)", true},
		{"two swaps", "REPLACE INTO uq (id, uq, v) VALUES (1, 13, 'x'), (2, 12, 'y'), (4, 16, 'x'), (5, 15, 'y')", "id IN (1, 2, 4, 5)", true},
		{"chain through a null", "REPLACE INTO uq (id, uq, v) VALUES (1, NULL, 'x'), (2, 12, 'y'), (3, 13, 'z')", "id IN (1, 2, 3)", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := uniqueEnv(t, Config{})
			b := e.begin(t, "xid-cycle", 3)
			b.replace("uq", c.stmt, c.where)
			b.mustCommit()
			mustRollBack(t, e, "xid-cycle", 3, "uq")
			if logs := e.logs.String(); strings.Contains(logs, "moved out of the way") != c.cycle || strings.Contains(logs, "postponed") {
				t.Fatalf("cycle %v, but:\n%s", c.cycle, logs)
			}
		})
	}
}

// A large REPLACE that collides with every row on both the primary key and
// the unique key: a rotation of 2,500 rows (more than one statement's worth
// of keys) restores.
func TestRollbackLargeReplaceRotation(t *testing.T) {
	const n = 2500
	e := newEnv(t, Config{}, uniqueTable)
	var vals, rot []string
	for i := 1; i <= n; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'r%d')", i, 1000+i, i))
		rot = append(rot, fmt.Sprintf("(%d, %d, 'n%d')", i, 1000+i%n+1, i))
	}
	e.d.Exec(t, "INSERT INTO uq (id, uq, v) VALUES "+strings.Join(vals, ","))
	e.snapshot(t, "uq")
	b := e.begin(t, "xid-big", 4)
	b.replace("uq", "REPLACE INTO uq (id, uq, v) VALUES "+strings.Join(rot, ","), "id >= 1")
	b.mustCommit()
	mustRollBack(t, e, "xid-big", 4, "uq")
}

// Values equal under the column's collation collide although their bytes
// differ: the server's refusal postpones the row until the other moved.
func TestRollbackUniqueCollationCollision(t *testing.T) {
	e := newEnv(t, Config{}, `CREATE TABLE names (
	  id INT PRIMARY KEY,
	  name VARCHAR(16) COLLATE utf8mb4_general_ci NOT NULL,
	  UNIQUE KEY uk_name (name))`,
		"INSERT INTO names VALUES (1, 'abc'), (2, 'q')")
	e.snapshot(t, "names")
	b := e.begin(t, "xid-ci", 5)
	b.update("names", "name = 'zzz'", "id = ?", 1)
	b.update("names", "name = 'ABC'", "id = ?", 2)
	b.mustCommit()
	mustRollBack(t, e, "xid-ci", 5, "names")
}

// A restore that collides with a row the branch never wrote cannot succeed
// on retry: it is reported unretryable, with the rows logged, and nothing
// changes.
func TestRollbackCollisionWithOutsideRowIsFinal(t *testing.T) {
	e := uniqueEnv(t, Config{})
	b := e.begin(t, "xid-out", 6)
	b.update("uq", "uq = 30", "id = ?", 1)
	b.mustCommit()
	e.d.Exec(t, "INSERT INTO uq (id, uq, v) VALUES (7, 12, 'outside')")

	for range 2 {
		err := e.m.Rollback(context.Background(), "xid-out", 6)
		var re *RestoreError
		if !errors.As(err, &re) || !errors.Is(err, ErrRestoreFailed) || IsRetryable(err) {
			t.Fatalf("got %v", err)
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1062 {
			t.Fatalf("cause not kept: %v", err)
		}
		if re.Table != fmt.Sprintf("`%s`.`uq`", e.d.Name) || len(re.Rows) != 1 || re.Rows[0].format() != `(1,12,"a")` {
			t.Fatalf("error fields: %+v", re)
		}
	}
	var uqv int
	if err := e.d.DB.QueryRow("SELECT uq FROM uq WHERE id = 1").Scan(&uqv); err != nil || uqv != 30 {
		t.Fatalf("row 1 has uq %d (%v): a failed rollback changed data", uqv, err)
	}
	if e.undoStatus(t, "xid-out", 6) != statusNormal {
		t.Fatal("undo log not kept")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, `rows="[(1,12,\"a\")]"`) {
		t.Fatalf("rows not logged:\n%s", logs)
	}
}

// Errors the server gives for the data itself (here a value too long for a
// column narrowed since) are final too.
func TestRollbackDataErrorIsFinal(t *testing.T) {
	e := uniqueEnv(t, Config{})
	e.d.Exec(t, "UPDATE uq SET v = 'abcdefgh' WHERE id = 1")
	b := e.begin(t, "xid-trunc", 7)
	b.update("uq", "v = 'x'", "id = ?", 1)
	b.mustCommit()
	e.d.Exec(t, "ALTER TABLE uq MODIFY v VARCHAR(2) NOT NULL DEFAULT ''")
	err := e.m.Rollback(context.Background(), "xid-trunc", 7)
	if !errors.Is(err, ErrRestoreFailed) || IsRetryable(err) {
		t.Fatalf("got %v", err)
	}
}

// A table that gained a column after the image of a deleted row was taken:
// inserting the row again would write the column's default in place of the
// value it had, so the rollback refuses, naming table and column. With the
// column in the image, the row comes back whole although the metadata cache
// was stale.
func TestRollbackDeleteAfterAddColumn(t *testing.T) {
	e := uniqueEnv(t, Config{})
	if _, err := e.tables.Table(context.Background(), "", "uq"); err != nil {
		t.Fatal(err) // the Manager's cache predates b
	}
	e.d.Exec(t, "ALTER TABLE uq ADD COLUMN b INT NOT NULL DEFAULT 7", "UPDATE uq SET b = 99 WHERE id = 1")
	e.snapshot(t, "uq")
	// The wrapper's stale metadata: an image without b.
	b := e.begin(t, "xid-ddl", 8)
	before := b.query("SELECT id, uq, v FROM uq WHERE id = 1 FOR UPDATE")
	b.exec("DELETE FROM uq WHERE id = 1")
	b.log.Records = append(b.log.Records, Record{Op: OpDelete, Table: "uq", Before: before})
	b.mustCommit()
	err := e.m.Rollback(context.Background(), "xid-ddl", 8)
	if !errors.Is(err, ErrSchemaChanged) || IsRetryable(err) || !strings.Contains(err.Error(), "`b`") ||
		!strings.Contains(err.Error(), "`uq`") {
		t.Fatalf("got %v", err)
	}
	if n := count(t, e.d.DB, "uq"); n != 4 {
		t.Fatalf("%d rows: the row came back without b", n)
	}

	// An image with every column, applied through a cache that predates
	// the column.
	e2 := uniqueEnv(t, Config{})
	if _, err := e2.tables.Table(context.Background(), "", "uq"); err != nil {
		t.Fatal(err)
	}
	e2.d.Exec(t, "ALTER TABLE uq ADD COLUMN b INT NOT NULL DEFAULT 7", "UPDATE uq SET b = 99 WHERE id = 1")
	e2.snapshot(t, "uq")
	b = e2.begin(t, "xid-ddl2", 9)
	b.delete("uq", "id = ?", 1)
	b.mustCommit()
	mustRollBack(t, e2, "xid-ddl2", 9, "uq")
}

// Concurrent rollbacks of a branch that has no undo log, under READ
// COMMITTED (no gap locks, so the losers' marker inserts meet the winner's
// row): every one must start over, find the marker and succeed.
func TestConcurrentRollbacksWithoutLogReadCommitted(t *testing.T) {
	e := accountEnv(t, Config{})
	mdb := openDB(t, e.d, func(c *mysql.Config) { c.Params["tx_isolation"] = "'READ-COMMITTED'" })
	m, err := NewManager(mdb, Config{Tables: e.tables})
	if err != nil {
		t.Fatal(err)
	}
	for x := range 10 {
		xid := fmt.Sprintf("xid-rc-%d", x)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = m.Rollback(context.Background(), xid, 13)
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if e.undoStatus(t, xid, 13) != statusGlobalFinished {
			t.Fatal("no marker")
		}
	}
}

// Rows of a cycle in a table that other rows reference: moving one out of
// the way neither cascades to nor is refused by the referencing rows.
func TestRollbackCycleInReferencedTable(t *testing.T) {
	e := uniqueEnv(t, Config{})
	e.d.Exec(t, `CREATE TABLE child (
	  id INT PRIMARY KEY,
	  parent INT NOT NULL,
	  FOREIGN KEY (parent) REFERENCES uq (id) ON DELETE CASCADE)`,
		"INSERT INTO child VALUES (1, 1), (2, 2)")
	e.snapshot(t, "child")
	b := e.begin(t, "xid-fk", 10)
	// A swap through a third value, recorded as one net update.
	before := b.query("SELECT * FROM uq WHERE id IN (1, 2) FOR UPDATE")
	b.exec("UPDATE uq SET uq = NULL WHERE id = 1")
	b.exec("UPDATE uq SET uq = 12 WHERE id = 2")
	b.exec("UPDATE uq SET uq = 13 WHERE id = 1")
	after := b.byKey("uq", before)
	b.log.Records = append(b.log.Records, Record{Op: OpUpdate, Table: "uq", Before: before, After: after})
	b.mustCommit()
	if err := e.m.Rollback(context.Background(), "xid-fk", 10); err != nil {
		t.Fatal(err)
	}
	e.sameAsSnapshot(t, "uq")
	e.sameAsSnapshot(t, "child")
	var checks int
	if err := e.m.db.QueryRow("SELECT @@SESSION.foreign_key_checks").Scan(&checks); err != nil || checks != 1 {
		t.Fatalf("foreign_key_checks %d (%v) on a pooled connection", checks, err)
	}
}

// BenchmarkRollback measures Rollback of a branch that updated 10 rows of a
// table with a unique key (phase one is not timed).
func BenchmarkRollback(b *testing.B) {
	e := newEnv(b, Config{}, uniqueTable)
	var vals []string
	for i := 1; i <= 100; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'r')", i, 1000+i))
	}
	e.d.Exec(b, "INSERT INTO uq (id, uq, v) VALUES "+strings.Join(vals, ","))
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		br := e.begin(b, fmt.Sprintf("xid-bench-%d", i), 1)
		br.update("uq", "v = 'changed'", "id BETWEEN ? AND ?", 1+i%90, 10+i%90)
		br.mustCommit()
		br.conn.Close()
		b.StartTimer()
		if err := e.m.Rollback(ctx, fmt.Sprintf("xid-bench-%d", i), 1); err != nil {
			b.Fatal(err)
		}
	}
}

// Images of different statements may hold different columns: a row updated
// with an image of some columns and then deleted with an image of all comes
// back whole, its updated columns from the first image and the rest from
// the second.
func TestRollbackFoldsPartialImages(t *testing.T) {
	e := uniqueEnv(t, Config{})
	b := e.begin(t, "xid-partial", 11)
	before := b.query("SELECT id, uq FROM uq WHERE id IN (1, 2) FOR UPDATE")
	b.exec("UPDATE uq SET uq = uq + 20 WHERE id IN (1, 2)")
	after := b.query("SELECT id, uq FROM uq WHERE id IN (1, 2)")
	b.log.Records = append(b.log.Records, Record{Op: OpUpdate, Table: "uq", Before: before, After: after})
	b.update("uq", "v = 'w'", "id = ?", 2)
	b.delete("uq", "id = ?", 1)
	b.mustCommit()
	mustRollBack(t, e, "xid-partial", 11, "uq")
}

package atprop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/internal/testdb"
)

// TestStepDoesNotCompareNondetResults: a LIMIT without ORDER BY may pick
// other rows through AT than as plain SQL, so the rows affected may differ
// (seeds 2003 and 2013); step counts such a statement, and the ones after
// it, without failing on its results.
func TestStepDoesNotCompareNondetResults(t *testing.T) {
	at, mirror := testdb.Create(t), testdb.Create(t)
	at.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)")
	// the same rows in the mirror, where the first two already hold 1:
	// picking them, the plain UPDATE changes one row where AT changes two
	mirror.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 1), (3, 0)")
	e := &Env{tb: t, at: [2]*testdb.Database{at, at}, mirror: [2]*testdb.Database{mirror, mirror}, Stats: Stats{Refused: map[string]int{}}}
	ctx := context.Background()
	nondet := &Stmt{Kind: "update", Head: Frag{SQL: "UPDATE t SET v = 1 WHERE 1 = 1 LIMIT 2"}, Nondet: true}
	if f := e.step(ctx, nil, at.DB, mirror.DB, nondet); f != nil {
		t.Fatalf("nondeterministic statement: %s: %s", f.Class, f.Detail)
	}
	after := &Stmt{Kind: "update", Head: Frag{SQL: "UPDATE t SET v = 2 WHERE v = 1"}}
	if f := e.step(ctx, nil, at.DB, mirror.DB, after); f != nil {
		t.Fatalf("statement after it: %s: %s", f.Class, f.Detail)
	}
	if e.Stats.Stmts != 2 || e.Stats.Uncompared != 2 || !e.diverged {
		t.Fatalf("stats %+v, diverged %v; want 2 statements, 2 uncompared, diverged", e.Stats, e.diverged)
	}
	// a deterministic statement in a new transaction is compared again
	e.diverged = false
	det := &Stmt{Kind: "update", Head: Frag{SQL: "UPDATE t SET v = 3 WHERE id = 1 AND v = 2"}}
	at.Exec(t, "UPDATE t SET v = 0")
	if f := e.step(ctx, nil, at.DB, mirror.DB, det); f == nil || f.Class != "result-mismatch" {
		t.Fatalf("deterministic statement with other results: failure %+v, want result-mismatch", f)
	}
	// seed 5026: the other pick meets a duplicate key on one side only
	at.Exec(t, "UPDATE t SET v = id", "ALTER TABLE t ADD UNIQUE KEY (v)")
	mirror.Exec(t, "UPDATE t SET v = IF(id = 1, 1, id + 10)", "ALTER TABLE t ADD UNIQUE KEY (v)")
	collides := &Stmt{Kind: "update", Head: Frag{SQL: "UPDATE t SET v = 2 WHERE id > 0 LIMIT 1"}, Nondet: true}
	e.diverged = false
	if f := e.step(ctx, nil, at.DB, mirror.DB, collides); f != nil {
		t.Fatalf("nondeterministic statement failing on one side: %s: %s", f.Class, f.Detail)
	}
	if !e.diverged {
		t.Fatal("not diverged after a nondeterministic statement failing on one side")
	}
}

// TestStepAfterLostUse: a USE that did not take effect through AT (seed
// 2005: a prepared USE refused) leaves the connection in the branch's
// database, where the statements the generator made for the other one,
// expected to be refused there (a table without a primary key), may run;
// they are compared with the mirror instead of failing as
// refusal-not-enforced.
func TestStepAfterLostUse(t *testing.T) {
	at, mirror := testdb.Create(t), testdb.Create(t)
	for _, d := range []*testdb.Database{at, mirror} {
		d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 0)")
	}
	e := &Env{tb: t, at: [2]*testdb.Database{at, at}, mirror: [2]*testdb.Database{mirror, mirror}, Stats: Stats{Refused: map[string]int{}}}
	ctx := context.Background()
	use := &Stmt{Kind: "use", Head: Frag{SQL: "USE `atprop_no_such_database`"}}
	if f := e.step(ctx, nil, at.DB, mirror.DB, use); f != nil {
		t.Fatalf("USE: %s: %s", f.Class, f.Detail)
	}
	// generated for the other database's t, which has no primary key
	listed := &Stmt{Kind: "delete", Head: Frag{SQL: "DELETE FROM t WHERE v = 1"}, Refuse: true}
	if f := e.step(ctx, nil, at.DB, mirror.DB, listed); f != nil {
		t.Fatalf("statement after the lost USE: %s: %s", f.Class, f.Detail)
	}
	if !hasUse("SELECT 1; use x") || hasUse("UPDATE used SET v = 1") {
		t.Fatal("hasUse")
	}
}

// TestStepFailedMultiDiverges: a multi-statement text failing on both
// sides may have run its first statements as plain SQL only (seed 3004:
// "DELETE FROM t0 WHERE 1 = 1; UPDATE t1 ..." with t1 lacking the
// columns, which AT finds before running anything): the commit is then
// not compared with the mirror.
func TestStepFailedMultiDiverges(t *testing.T) {
	multi := func(d *testdb.Database) *sql.DB {
		cfg := d.Config()
		cfg.MultiStatements = true
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(c)
		t.Cleanup(func() { db.Close() })
		return db
	}
	at, mirror := testdb.Create(t), testdb.Create(t)
	for _, d := range []*testdb.Database{at, mirror} {
		d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 0)")
	}
	e := &Env{tb: t, at: [2]*testdb.Database{at, at}, mirror: [2]*testdb.Database{mirror, mirror}, Stats: Stats{Refused: map[string]int{}}}
	s := &Stmt{Kind: "multi", Head: Frag{SQL: "DELETE FROM t WHERE 1 = 1; UPDATE t SET nosuch = 1"}, Via: ViaMulti}
	if f := e.step(context.Background(), nil, multi(at), multi(mirror), s); f != nil {
		t.Fatalf("%s: %s", f.Class, f.Detail)
	}
	if e.Stats.StmtErrors != 1 || !e.diverged {
		t.Fatalf("stats %+v, diverged %v; want 1 statement error, diverged", e.Stats, e.diverged)
	}
}

// TestRunTxKeepsAutoIncrementCountersEqual: seed 3009. A multi-statement
// text whose first statement fails only as plain SQL (README's strict-mode
// difference) ran its INSERT through AT alone, in a global transaction
// that rolled back: the tables were equal again, but AT's auto-increment
// counter had moved on, so every later statement generating keys gave
// other keys than plain SQL (there, an UPDATE of a unique column met a
// duplicate only through AT). RunTx now sets the mirror's counters to AT's
// after a divergence; without one, a counter difference is a failure of
// its own (autoinc-mismatch).
func TestRunTxKeepsAutoIncrementCountersEqual(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	tbl := &Table{DB: 0, Name: "t", PK: []int{0}, UqInt: -1, Cols: []Column{
		{Name: "id", Type: intType(32, false), AutoInc: true},
		{Name: "s", Type: colType{kind: kString, sql: "VARCHAR(8) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", length: 8, charset: "utf8mb4"}},
	}}
	s := &Schema{Tables: []*Table{tbl}}
	require.NoError(t, e.load(ctx, false, s, nil))
	require.NoError(t, e.load(ctx, true, s, nil))
	for _, d := range []*testdb.Database{e.at[0], e.mirror[0]} {
		d.Exec(t, "INSERT INTO t (s) VALUES ('a')")
	}
	diverging := &GlobalTx{Branches: []*Branch{{DB: 0, Auto: true, Stmts: []*Stmt{{Kind: "multi", Via: ViaMulti,
		Head: Frag{SQL: "UPDATE t SET s = 'b' WHERE s = 1; INSERT INTO t (s) VALUES ('c')"}}}}}}
	_, f, err := e.RunTx(ctx, s, diverging)
	require.NoError(t, err)
	require.Nil(t, f, "diverging transaction")
	require.Equal(t, 1, e.Stats.Documented, "the UPDATE fails only as plain SQL (strict mode)")
	inserting := &GlobalTx{Commit: true, Branches: []*Branch{{DB: 0, Stmts: []*Stmt{{Kind: "insert",
		Head: Frag{SQL: "INSERT INTO t (s) VALUES ('d')"}}}}}}
	_, f, err = e.RunTx(ctx, s, inserting)
	require.NoError(t, err)
	require.Nil(t, f, "the keys generated after the divergence")

	// no divergence, counters apart: reported, then equal again
	e.mirror[0].Exec(t, "ALTER TABLE t AUTO_INCREMENT = 100")
	_, f, err = e.RunTx(ctx, s, &GlobalTx{Branches: []*Branch{{DB: 0, Stmts: []*Stmt{{Kind: "update",
		Head: Frag{SQL: "UPDATE t SET s = 'e' WHERE id = 1"}}}}}})
	require.NoError(t, err)
	require.NotNil(t, f)
	require.Equal(t, "autoinc-mismatch", f.Class, f.Detail)
	_, f, err = e.RunTx(ctx, s, inserting)
	require.NoError(t, err)
	require.Nil(t, f, "after the counters were set equal")
}

// TestPermissiveSeedSessions: a permissive seed's statements run with an
// empty sql_mode on both sides, the others with the server's; the time is
// the same on both.
func TestPermissiveSeedSessions(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	modes := func() (at, mirror string) {
		require.NoError(t, e.pools[0].QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&at))
		require.NoError(t, e.mirrorDB.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mirror))
		return at, mirror
	}
	var atNow, mirrorNow string
	require.NoError(t, e.pools[1].QueryRowContext(ctx, "SELECT NOW(6)").Scan(&atNow))
	require.NoError(t, e.mirrorDB.QueryRowContext(ctx, "SELECT NOW(6)").Scan(&mirrorNow))
	require.Equal(t, atNow, mirrorNow, "ON UPDATE CURRENT_TIMESTAMP gives both sides the same time")
	at, mirror := modes()
	require.Contains(t, at, "STRICT_TRANS_TABLES")
	require.Equal(t, at, mirror)
	require.True(t, permissiveSeed(3))
	e.permissive = true
	e.Restart()
	at, mirror = modes()
	require.Equal(t, "", at)
	require.Equal(t, "", mirror)
}

// TestNoPadBinEqualityDependsOnPlan: seed 5039. A NO PAD key compared with
// a COLLATE utf8mb4_bin literal is compared under utf8mb4_bin, PAD SPACE,
// where a key of two spaces equals the empty string; MariaDB 10.11 finds it
// by a scan but not through the key's index, which it searches in the key's
// own NO PAD collation (for = and IN). AT's image SELECT (ORDER BY k LIMIT
// 3: the index) then finds no row where the plain UPDATE (a scan) changes
// one: not a fault of AT, whose rollback is exact either way, but a server
// whose answer depends on its plan. The generator marks such predicates
// Nondet (cmpVal, joinNondet), so only the rollback is compared.
func TestNoPadBinEqualityDependsOnPlan(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	nopad := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci", length: 10, charset: "utf8mb4", ci: true, nopad: true}
	tbl := &Table{DB: 0, Name: "t", PK: []int{0}, UqInt: -1, Cols: []Column{{Name: "k", Type: nopad}, {Name: "v", Type: intType(32, false), Nullable: true}}}
	s := &Schema{Tables: []*Table{tbl}}
	require.NoError(t, e.Setup(ctx, s, []*Stmt{{Kind: "insert", Head: Frag{SQL: "INSERT INTO t VALUES (_utf8mb4 X'2020', 0)"}}}, []*Table{tbl}))

	// the server: one predicate, two answers
	var byIndex, byScan int
	require.NoError(t, e.at[0].DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE k = '' COLLATE utf8mb4_bin").Scan(&byIndex))
	require.NoError(t, e.at[0].DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM t IGNORE INDEX (PRIMARY) WHERE k = '' COLLATE utf8mb4_bin").Scan(&byScan))
	if byIndex == byScan {
		t.Fatalf("the server finds %d rows both through the index and by a scan: if it no longer depends on the plan, cmpVal need not mark NO PAD columns compared under utf8mb4_bin", byScan)
	}

	// the seed's statement: a result mismatch when compared
	update := func(nondet bool) *GlobalTx {
		return &GlobalTx{Branches: []*Branch{{DB: 0, Stmts: []*Stmt{{Kind: "update", Nondet: nondet, Head: Frag{
			SQL:  "UPDATE t SET v = 1 WHERE k = 'é E' OR k IN (?, ?, ' é ' COLLATE utf8mb4_bin, ' éé') ORDER BY k LIMIT 3",
			Args: []any{"EE", ""}}}}}}}
	}
	_, f, err := e.RunTx(ctx, s, update(false))
	require.NoError(t, err)
	require.NotNil(t, f, "AT images no row, plain SQL changes one")
	require.Equal(t, "result-mismatch", f.Class, f.Detail)
	require.NoError(t, e.Resync(ctx, s))
	// marked Nondet, only the rollback is compared
	uncompared := e.Stats.Uncompared
	_, f, err = e.RunTx(ctx, s, update(true))
	require.NoError(t, err)
	require.Nil(t, f)
	require.Equal(t, uncompared+1, e.Stats.Uncompared)

	// the generator marks exactly the NO PAD comparisons under utf8mb4_bin
	padCI := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", length: 10, charset: "utf8mb4", ci: true}
	bin := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", length: 10, charset: "utf8mb4"}
	g := newGen(rand.New(rand.NewPCG(5039, 0)), s)
	marked := 0
	for i := 0; i < 500; i++ {
		f := g.cmpVal(tbl, 0, Value{S: ""})
		if f.Nondet != strings.HasSuffix(f.SQL, " COLLATE utf8mb4_bin") {
			t.Fatalf("%s: Nondet %v", f.SQL, f.Nondet)
		}
		if f.Nondet {
			marked++
		}
		if w := join([]Frag{{SQL: "k = 'a'"}, f}, " OR "); w.Nondet != f.Nondet {
			t.Fatalf("join lost Nondet of %s", f.SQL)
		}
	}
	require.NotZero(t, marked, "no COLLATE utf8mb4_bin literal in 500")
	tbl.Cols[0].Type = padCI
	for i := 0; i < 500; i++ {
		if f := g.cmpVal(tbl, 0, Value{S: ""}); f.Nondet {
			t.Fatalf("%s over a PAD SPACE column: Nondet", f.SQL)
		}
	}
	require.True(t, joinNondet(nopad, bin))
	require.True(t, joinNondet(bin, nopad))
	require.False(t, joinNondet(nopad, padCI))
	require.False(t, joinNondet(bin, padCI))
	require.False(t, joinNondet(nopad, nopad))
}

// TestRunTxDocumentedAbort: seeds 6022 and 6025. An INSERT giving an
// auto-increment key between rows that generate it, not below the first
// generated key, fails through AT after it ran, as README documents (the
// counter may have moved between the generated keys), and its local
// transaction can only roll back; plain SQL succeeds. The branch is rolled
// back on both sides, the statements after it in the branch are not run,
// and the global transaction goes on; in autocommit only the statement is
// lost. The rollback is compared as always.
func TestRunTxDocumentedAbort(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	tbl := &Table{DB: 0, Name: "t", PK: []int{0}, UqInt: -1, Cols: []Column{
		{Name: "id", Type: intType(32, false), AutoInc: true},
		{Name: "v", Type: intType(32, false), Nullable: true},
	}}
	s := &Schema{Tables: []*Table{tbl}}
	require.NoError(t, e.Setup(ctx, s, []*Stmt{{Kind: "insert", Head: Frag{SQL: "INSERT INTO t (v) VALUES (1)"}}}, []*Table{tbl}))
	// each moves the counter past its key: the next needs a higher one
	moving := func(key int) *Stmt {
		return &Stmt{Kind: "insert", Head: Frag{SQL: fmt.Sprintf("INSERT INTO t (id, v) VALUES (NULL, 2), (%d, 3), (?, 4)", key), Args: []any{0}}}
	}
	later := &Stmt{Kind: "update", Head: Frag{SQL: "UPDATE t SET v = 5 WHERE id = 1"}}
	for i, commit := range []bool{false, true} {
		documented := e.Stats.Documented
		gt := &GlobalTx{Commit: commit, Branches: []*Branch{
			{DB: 0, Stmts: []*Stmt{later, moving(1000 + 2000*i), later}},
			{DB: 0, Auto: true, Stmts: []*Stmt{moving(2000 + 2000*i), later}},
			{DB: 0, Stmts: []*Stmt{later}},
		}}
		_, f, err := e.RunTx(ctx, s, gt)
		require.NoError(t, err)
		require.Nil(t, f, "commit %v", commit)
		require.Equal(t, documented+2, e.Stats.Documented, "commit %v", commit)
	}
	var n int
	require.NoError(t, e.at[0].DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id >= 1000").Scan(&n))
	require.Zero(t, n, "a row of the failed INSERT is left through AT")
	require.True(t, abortDocumented(errors.New(`atcc/datasource: "INSERT ...": key 38 given in row 2, among generated keys from 6, may have moved the auto-increment counter: the generated keys are not known exactly`)))
	require.False(t, abortDocumented(datasource.ErrTxAborted))
}

// TestDeleteReturningOrder: seed 7339. A DELETE ... RETURNING without
// ORDER BY returns its rows in the order it deletes them, which SQL leaves
// open: plain SQL scans the unique column of its range, AT deletes the
// imaged keys in primary key order. The rows are compared as sets then;
// with ORDER BY, in order.
func TestDeleteReturningOrder(t *testing.T) {
	e := NewEnv(t)
	ctx := context.Background()
	tbl := &Table{DB: 0, Name: "t", PK: []int{0}, UqInt: 1, Uniques: [][]int{{1}}, Cols: []Column{
		{Name: "id", Type: intType(32, false)},
		{Name: "uq", Type: intType(32, false)},
	}}
	s := &Schema{Tables: []*Table{tbl}}
	require.NoError(t, e.Setup(ctx, s, []*Stmt{{Kind: "insert", Head: Frag{SQL: "INSERT INTO t VALUES (4, 11), (2, 14), (9, 20)"}}}, []*Table{tbl}))
	del := &Stmt{Kind: "delete-returning", Via: ViaQuery, Head: Frag{SQL: "DELETE FROM t WHERE uq <= 14 RETURNING *"}}
	_, f, err := e.RunTx(ctx, s, &GlobalTx{Branches: []*Branch{{DB: 0, Stmts: []*Stmt{del}}}})
	require.NoError(t, err)
	require.Nil(t, f)
	require.True(t, sameReturned("DELETE FROM t WHERE uq <= 14 RETURNING *", []string{"(2, 14)", "(4, 11)"}, []string{"(4, 11)", "(2, 14)"}))
	require.False(t, sameReturned("DELETE FROM t WHERE uq <= 14 ORDER BY uq RETURNING *", []string{"(2, 14)", "(4, 11)"}, []string{"(4, 11)", "(2, 14)"}))
	require.False(t, sameReturned("INSERT INTO t VALUES (2, 14), (4, 11) RETURNING *", []string{"(2, 14)", "(4, 11)"}, []string{"(4, 11)", "(2, 14)"}))
	require.False(t, sameReturned("DELETE FROM t RETURNING *", []string{"(2, 14)"}, []string{"(4, 11)"}))
}

// TestBetweenEqualBoundsDependsOnPlan: seed 8025. MariaDB 10.11 compares
// the bounds of "k BETWEEN 'E' AND 'é'" in the connection's collation,
// utf8mb4_general_ci, where they are equal, and then looks the one value
// up in the utf8mb4_bin key's index: no row 'é' found, where a scan finds
// it. AT's image SELECT and the plain DELETE may take either plan: the
// generator marks such a BETWEEN Nondet (betweenNondet).
func TestBetweenEqualBoundsDependsOnPlan(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY)", "INSERT INTO t VALUES ('é')")
	var byIndex, byScan int
	require.NoError(t, d.DB.QueryRow("SELECT COUNT(*) FROM t WHERE k BETWEEN 'E' AND 'é'").Scan(&byIndex))
	require.NoError(t, d.DB.QueryRow("SELECT COUNT(*) FROM t IGNORE INDEX (PRIMARY) WHERE k BETWEEN 'E' AND 'é'").Scan(&byScan))
	if byIndex == byScan {
		t.Fatalf("the server finds %d rows both through the index and by a scan: if it no longer depends on the plan, betweenNondet can go", byScan)
	}
	bin := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", charset: "utf8mb4"}
	nopad := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci", charset: "utf8mb4", ci: true, nopad: true}
	general := colType{kind: kString, sql: "VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", charset: "utf8mb4", ci: true}
	require.True(t, betweenNondet(bin, Value{S: "E"}, Value{S: "é"}))
	require.True(t, betweenNondet(nopad, Value{S: "a"}, Value{S: "A "}))
	require.False(t, betweenNondet(general, Value{S: "E"}, Value{S: "é"}))
	require.False(t, betweenNondet(bin, Value{S: "E"}, Value{S: "f"}))
	require.False(t, betweenNondet(bin, Value{S: "é"}, Value{S: "é"}))
	require.False(t, betweenNondet(intType(32, false), Value{S: "1"}, Value{S: "01"}))
}

// TestRowInCharsetDependsOnStatement: seed 8770. In a row IN of several
// tuples, MariaDB 10.11's SELECT compares a utf8mb4 string with a latin1
// column byte for byte ('é' finds the stored 'Ã©'), its UPDATE converts it
// (and finds nothing): AT images with the SELECT, so the generator marks
// such an IN Nondet (rowInNondet).
func TestRowInCharsetDependsOnStatement(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (ka INT, kb VARCHAR(8) CHARACTER SET latin1 COLLATE latin1_bin, v INT, PRIMARY KEY (ka, kb))",
		"INSERT INTO t VALUES (10, _utf8mb4 X'C383C2A9', 0)")
	const where = " WHERE (ka, kb) IN ((?, ?), (10, ?))"
	var selected int
	require.NoError(t, d.DB.QueryRow("SELECT COUNT(*) FROM t"+where, 36, "", "é").Scan(&selected))
	res, err := d.DB.Exec("UPDATE t SET v = 1"+where, 36, "", "é")
	require.NoError(t, err)
	updated, err := res.RowsAffected()
	require.NoError(t, err)
	if int64(selected) == updated {
		t.Fatalf("SELECT and UPDATE both find %d rows: if the server no longer differs, rowInNondet can go", updated)
	}
	latin1 := colType{kind: kString, sql: "VARCHAR(8) CHARACTER SET latin1 COLLATE latin1_bin", charset: "latin1"}
	require.True(t, rowInNondet(latin1, Value{S: "é"}))
	require.False(t, rowInNondet(latin1, Value{S: "aB "}))
	require.False(t, rowInNondet(colType{kind: kString, charset: "utf8mb4"}, Value{S: "é"}))
}

package undo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/internal/testlog"
)

// env is one test database with an undo table and a Manager over it.
type env struct {
	d      *testdb.Database
	app    *sql.DB // the application's pool: what the driver wrapper would wrap
	m      *Manager
	tables *schema.Cache
	logs   *testlog.Buffer
}

// openDB opens a pool on d with the test session settings and edit applied.
func openDB(t testing.TB, d *testdb.Database, edit func(*mysql.Config)) *sql.DB {
	t.Helper()
	cfg := d.Config()
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	if edit != nil {
		edit(cfg)
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv creates a database with the undo table, the statements given, and a
// Manager configured by cfg (its Tables and Logger are set here).
func newEnv(t testing.TB, cfg Config, stmts ...string) *env {
	t.Helper()
	d := testdb.Create(t)
	d.Exec(t, stmts...)
	if err := CreateTable(context.Background(), d.DB, cfg.Table); err != nil {
		t.Fatal(err)
	}
	e := &env{d: d, app: openDB(t, d, nil), logs: &testlog.Buffer{}}
	mdb := openDB(t, d, nil)
	e.tables = schema.NewCache(e.app)
	cfg.Tables = e.tables
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := NewManager(mdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	e.m = m
	return e
}

// branch plays the driver wrapper's part in phase one: a local transaction
// on one connection whose DML statements are recorded with their images.
type branch struct {
	t    testing.TB
	e    *env
	ctx  context.Context
	conn *sql.Conn
	log  BranchLog
}

func (e *env) begin(t testing.TB, xid string, branchID int64) *branch {
	t.Helper()
	return e.beginOn(t, e.app, xid, branchID)
}

func (e *env) beginOn(t testing.TB, db *sql.DB, xid string, branchID int64) *branch {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	return &branch{t: t, e: e, ctx: ctx, conn: conn, log: BranchLog{XID: xid, BranchID: branchID}}
}

// raw runs f on the driver connection, as the wrapper would.
func (b *branch) raw(f func(driver.Conn) error) {
	b.t.Helper()
	if err := b.conn.Raw(func(dc any) error { return f(dc.(driver.Conn)) }); err != nil {
		b.t.Fatal(err)
	}
}

// namedArgs converts args as database/sql does before they reach a driver
// wrapper: through the connection's NamedValueChecker.
func namedArgs(c driver.Conn, args []any) ([]driver.NamedValue, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		if err := c.(driver.NamedValueChecker).CheckNamedValue(&nv[i]); err != nil {
			return nil, err
		}
	}
	return nv, nil
}

func (b *branch) query(q string, args ...any) Image {
	b.t.Helper()
	var img Image
	b.raw(func(c driver.Conn) (err error) {
		nv, err := namedArgs(c, args)
		if err != nil {
			return err
		}
		img, err = QueryImage(b.ctx, c, q, nv)
		return err
	})
	return img
}

func (b *branch) exec(q string, args ...any) {
	b.t.Helper()
	if _, err := b.conn.ExecContext(b.ctx, q, args...); err != nil {
		b.t.Fatalf("%s: %v", q, err)
	}
}

// byKey reads the rows of img again, by primary key: the after image.
func (b *branch) byKey(table string, img Image) Image {
	b.t.Helper()
	tb, err := b.e.tables.Table(b.ctx, "", table)
	if err != nil {
		b.t.Fatal(err)
	}
	if len(img.Rows) == 0 {
		return Image{}
	}
	var pk []int
	for _, name := range tb.PrimaryKey {
		for i, c := range img.Columns {
			if c == name {
				pk = append(pk, i)
			}
		}
	}
	var out Image
	for start := 0; start < len(img.Rows); start += schema.MaxKeysPerStatement {
		rows := img.Rows[start:min(start+schema.MaxKeysPerStatement, len(img.Rows))]
		q, err := tb.SelectByPrimaryKey(img.Columns, len(rows), false)
		if err != nil {
			b.t.Fatal(err)
		}
		var args []any
		for _, r := range rows {
			for _, i := range pk {
				args = append(args, r[i].Arg())
			}
		}
		part := b.query(q, args...)
		out.Columns = part.Columns
		out.Rows = append(out.Rows, part.Rows...)
	}
	return out
}

// update runs "UPDATE table SET set WHERE where" with its images.
func (b *branch) update(table, set, where string, args ...any) {
	b.t.Helper()
	before := b.query("SELECT * FROM "+schema.QuoteIdent(table)+" WHERE "+where+" FOR UPDATE", args...)
	b.exec("UPDATE "+schema.QuoteIdent(table)+" SET "+set+" WHERE "+where, args...)
	after := b.byKey(table, before)
	b.log.Records = append(b.log.Records, Record{Op: OpUpdate, Table: table, Before: before, After: after})
}

// delete runs "DELETE FROM table WHERE where" with its before image.
func (b *branch) delete(table, where string, args ...any) {
	b.t.Helper()
	before := b.query("SELECT * FROM "+schema.QuoteIdent(table)+" WHERE "+where+" FOR UPDATE", args...)
	b.exec("DELETE FROM "+schema.QuoteIdent(table)+" WHERE "+where, args...)
	b.log.Records = append(b.log.Records, Record{Op: OpDelete, Table: table, Before: before})
}

// insert runs stmt, then reads the inserted rows with "SELECT * FROM table
// WHERE where" (the wrapper would use the generated keys).
func (b *branch) insert(table, stmt, where string, args ...any) {
	b.t.Helper()
	b.exec(stmt)
	after := b.query("SELECT * FROM "+schema.QuoteIdent(table)+" WHERE "+where, args...)
	b.log.Records = append(b.log.Records, Record{Op: OpInsert, Table: table, After: after})
}

// commit writes the undo log and commits; on error it rolls back.
func (b *branch) commit() error {
	b.t.Helper()
	var ierr error
	b.raw(func(c driver.Conn) error {
		ierr = b.e.m.Insert(b.ctx, c.(driver.ExecerContext), &b.log)
		return nil
	})
	if ierr != nil {
		b.exec("ROLLBACK")
		return ierr
	}
	b.exec("COMMIT")
	return nil
}

func (b *branch) mustCommit() {
	b.t.Helper()
	if err := b.commit(); err != nil {
		b.t.Fatal(err)
	}
}

// undoRow returns the branch's undo_log row status, or -1 if there is none.
func (e *env) undoStatus(t testing.TB, xid string, branchID int64) int {
	t.Helper()
	var status int
	err := e.d.DB.QueryRow("SELECT log_status FROM "+schema.QuoteIdent(e.m.cfg.Table)+" WHERE xid = ? AND branch_id = ?", xid, branchID).Scan(&status)
	if err == sql.ErrNoRows {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// snapshot copies table into table_orig.
func (e *env) snapshot(t testing.TB, table string) {
	t.Helper()
	q := schema.QuoteIdent
	e.d.Exec(t, "DROP TABLE IF EXISTS "+q(table+"_orig"), "CREATE TABLE "+q(table+"_orig")+" AS SELECT * FROM "+q(table))
}

// sameAsSnapshot checks with the server's own null-safe equality that table
// holds exactly the rows of table_orig, every column compared.
func (e *env) sameAsSnapshot(t testing.TB, table string) {
	t.Helper()
	tb, err := e.tables.Refresh(context.Background(), "", table)
	if err != nil {
		t.Fatal(err)
	}
	q := schema.QuoteIdent
	var on []string
	for _, c := range tb.Columns {
		on = append(on, "a."+q(c.Name)+" <=> b."+q(c.Name)+" AND BINARY a."+q(c.Name)+" <=> BINARY b."+q(c.Name))
	}
	var n, na, nb int
	cond := strings.Join(on, " AND ")
	if err := e.d.DB.QueryRow("SELECT COUNT(*) FROM " + q(table) + " a JOIN " + q(table+"_orig") + " b ON " + cond).Scan(&n); err != nil {
		t.Fatal(err)
	}
	e.d.DB.QueryRow("SELECT COUNT(*) FROM " + q(table)).Scan(&na)
	e.d.DB.QueryRow("SELECT COUNT(*) FROM " + q(table+"_orig")).Scan(&nb)
	if n != na || n != nb {
		t.Fatalf("%s: %d rows, snapshot %d, %d equal", table, na, nb, n)
	}
}

package undo

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// openMulti opens a pool on e's database whose connections accept several
// statements in one query, in sql_mode mode ("" for the server's).
func openMulti(t *testing.T, e *env, mode string) *sql.DB {
	t.Helper()
	return openDB(t, e.d, func(c *mysql.Config) {
		c.MultiStatements = true
		if mode != "" {
			c.Params["sql_mode"] = "'" + mode + "'"
		}
	})
}

// countingConn is a driver connection that counts the queries and the
// statements run through it.
type countingConn struct {
	driver.Conn
	queries, execs int
	last           string // the last query's text
	refuse         string // queries holding it are refused as a syntax error
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.execs++
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.queries++
	c.last = q
	if c.refuse != "" && strings.Contains(q, c.refuse) {
		return nil, &mysql.MySQLError{Number: 1064, Message: "You have an error in your SQL syntax"}
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

// undoRow is an undo_log row but its branch_id.
type undoRow struct {
	xid, uctx        string
	payload          []byte
	status           int
	created, changed time.Time
}

func readUndoRow(t *testing.T, db *sql.DB, branchID int64) undoRow {
	t.Helper()
	var r undoRow
	var created, changed string
	err := db.QueryRow("SELECT xid, context, rollback_info, log_status, log_created, log_modified FROM undo_log WHERE branch_id = ?", branchID).
		Scan(&r.xid, &r.uctx, &r.payload, &r.status, &created, &changed)
	if err != nil {
		t.Fatalf("branch %d: %v", branchID, err)
	}
	const layout = "2006-01-02 15:04:05.000000"
	if r.created, err = time.Parse(layout, created); err != nil {
		t.Fatal(err)
	}
	if r.changed, err = time.Parse(layout, changed); err != nil {
		t.Fatal(err)
	}
	return r
}

// The one-query INSERT stores exactly the row the prepared INSERT stores:
// every byte value in rollback_info, in both sql_modes that read string
// literals differently, up to the literal size limit and past it (where
// it writes the prepared INSERT itself), and odd xids and contexts.
func TestInsertCommitStoresWhatInsertStores(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	every := make([]byte, 0, 1024)
	for i := range 1024 {
		every = append(every, byte(i), byte(255-i%256)) // each value, and each pair of neighbours twice
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	type tcase struct {
		name, xid, uctx string
		payload         []byte
		oneQuery        bool
	}
	cases := []tcase{
		{"every byte", "127.0.0.1:8091:1", contextNone, every, true},
		{"quotes and backslashes", "127.0.0.1:8091:2", contextNone, []byte(`'\''\\'"` + "\x00\n\r\x1a%_"), true},
		{"at the literal limit", "127.0.0.1:8091:3", contextGzip, random(maxLiteralPayload), true},
		{"past the literal limit", "127.0.0.1:8091:4", contextGzip, random(maxLiteralPayload + 1), false},
		{"large", "127.0.0.1:8091:5", contextGzip, random(8 << 20), false},
		{"xid with quotes", "it's'' a:1", contextNone, []byte("x"), true},
		{"xid with a backslash", `a\'b:1`, contextNone, []byte("x"), false},
		{"xid beyond ASCII", "ü€𝄞:1", contextNone, []byte("x"), false},
		{"xid with a control byte", "a\x00b\n:1", contextNone, []byte("x"), false},
		{"context with a quote", "127.0.0.1:8091:6", "serializer=x'&compressorType=NONE", []byte("x"), true},
	}
	branch := int64(0)
	for _, mode := range []string{"", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PAD_CHAR_TO_FULL_LENGTH"} {
		db := openMulti(t, e, mode)
		for _, tail := range []string{returningTail, selectTail} {
			for _, c := range cases {
				t.Run(mode+"/"+tail+"/"+c.name, func(t *testing.T) {
					e.m.noReturning.Store(tail == selectTail)
					conn, err := db.Conn(ctx)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					branch += 2
					prepared, oneQuery := branch, branch+1
					err = conn.Raw(func(dc any) error {
						cc := &countingConn{Conn: dc.(driver.Conn)}
						if _, err := cc.ExecContext(ctx, "BEGIN", nil); err != nil {
							return err
						}
						args := []driver.NamedValue{{Ordinal: 1, Value: prepared}, {Ordinal: 2, Value: c.xid}, {Ordinal: 3, Value: c.uctx}, {Ordinal: 4, Value: c.payload}}
						if err := execDriver(ctx, cc, e.m.sql.insert, args); err != nil {
							return err
						}
						if _, err := cc.ExecContext(ctx, "COMMIT", nil); err != nil {
							return err
						}
						if _, err := cc.ExecContext(ctx, "BEGIN", nil); err != nil {
							return err
						}
						*cc = countingConn{Conn: cc.Conn}
						ierr, cerr := e.m.writeCommit(ctx, cc, &BranchLog{XID: c.xid, BranchID: oneQuery}, c.uctx, c.payload)
						if ierr != nil || cerr != nil {
							return errors.Join(ierr, cerr)
						}
						if got := cc.queries == 1 && cc.execs == 0; got != c.oneQuery {
							t.Errorf("one query: %v (%d queries, %d statements), want %v", got, cc.queries, cc.execs, c.oneQuery)
						}
						if c.oneQuery && !strings.HasSuffix(cc.last, tail) {
							t.Errorf("query ends %q, want %q", cc.last[max(0, len(cc.last)-40):], tail)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					want, got := readUndoRow(t, e.d.DB, prepared), readUndoRow(t, e.d.DB, oneQuery)
					if !bytes.Equal(want.payload, got.payload) {
						t.Errorf("rollback_info differs: %d bytes stored, %d by the prepared INSERT", len(got.payload), len(want.payload))
					}
					if !bytes.Equal(c.payload, got.payload) {
						t.Errorf("rollback_info is not the payload: %d bytes stored of %d", len(got.payload), len(c.payload))
					}
					if want.xid != got.xid || want.uctx != got.uctx || want.status != got.status {
						t.Errorf("stored (%q, %q, %d), the prepared INSERT (%q, %q, %d)", got.xid, got.uctx, got.status, want.xid, want.uctx, want.status)
					}
					if got.created != got.changed || got.created.Before(want.created) || got.created.Sub(want.created) > time.Minute {
						t.Errorf("log_created %v, log_modified %v; the prepared INSERT's %v", got.created, got.changed, want.created)
					}
				})
			}
		}
	}
}

// A server that refuses INSERT ... RETURNING as a syntax error (MySQL,
// MariaDB before 10.5) gets the SELECT 1 form: at once, and from then on.
func TestInsertCommitWithoutReturning(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	db := openMulti(t, e, "")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range int64(2) {
		err := conn.Raw(func(dc any) error {
			cc := &countingConn{Conn: dc.(driver.Conn), refuse: " RETURNING "}
			if _, err := cc.ExecContext(ctx, "BEGIN", nil); err != nil {
				return err
			}
			ierr, cerr := e.m.InsertCommit(ctx, cc, &BranchLog{XID: "x:1", BranchID: i})
			if ierr != nil || cerr != nil {
				return errors.Join(ierr, cerr)
			}
			if want := 2 - int(i); cc.queries != want || !strings.HasSuffix(cc.last, selectTail) {
				t.Errorf("branch %d: %d queries, the last ending %q; want %d, ending %q", i, cc.queries, cc.last[len(cc.last)-20:], want, selectTail)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, e.d.DB); n != 2 {
		t.Fatalf("%d undo rows, want 2", n)
	}
}

// A failed INSERT ends the query: the COMMIT after it does not run, and
// the transaction is still open, with the changes made before it.
func TestInsertCommitStopsAtFailedInsert(t *testing.T) {
	for _, noReturning := range []bool{false, true} {
		t.Run(map[bool]string{false: "returning", true: "select"}[noReturning], func(t *testing.T) {
			e := newEnv(t, Config{}, "CREATE TABLE t (id INT PRIMARY KEY)")
			e.m.noReturning.Store(noReturning)
			testInsertCommitStopsAtFailedInsert(t, e)
		})
	}
}

func testInsertCommitStopsAtFailedInsert(t *testing.T, e *env) {
	ctx := context.Background()
	db := openMulti(t, e, "")
	e.d.Exec(t, "INSERT INTO undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES (7, 'x:1', '', '', 1, now(6), now(6))")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range []string{"BEGIN", "INSERT INTO t VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var ierr, cerr error
	if err := conn.Raw(func(dc any) error {
		ierr, cerr = e.m.InsertCommit(ctx, dc.(driver.ExecerContext), &BranchLog{XID: "x:1", BranchID: 7})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ierr, ErrGlobalFinished) || cerr != nil {
		t.Fatalf("InsertCommit on a marker = (%v, %v), want (ErrGlobalFinished, nil)", ierr, cerr)
	}
	var open int
	if err := conn.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&open); err != nil || open != 1 {
		t.Fatalf("in a transaction after the failed INSERT: %d, %v; want 1", open, err)
	}
	var n int
	if err := e.d.DB.QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows of t committed: %d, %v", n, err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The connection is in order: the next transaction commits.
	for _, s := range []string{"BEGIN", "INSERT INTO t VALUES (2)"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Raw(func(dc any) error {
		ierr, cerr = e.m.InsertCommit(ctx, dc.(driver.ExecerContext), &BranchLog{XID: "x:1", BranchID: 8})
		return errors.Join(ierr, cerr)
	}); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT @@in_transaction").Scan(&open); err != nil || open != 0 {
		t.Fatalf("in a transaction after InsertCommit: %d, %v; want 0", open, err)
	}
	var ids string
	if err := e.d.DB.QueryRow("SELECT GROUP_CONCAT(id) FROM t").Scan(&ids); err != nil || ids != "2" {
		t.Fatalf("rows of t committed: %q, %v; want 2", ids, err)
	}
}

// Without multiStatements the query is refused before anything runs, as a
// failed INSERT; so is a connection that cannot query.
func TestInsertCommitNeedsMultiStatements(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	conn, err := e.app.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	var ierr, cerr error
	if err := conn.Raw(func(dc any) error {
		ierr, cerr = e.m.InsertCommit(ctx, dc.(driver.ExecerContext), &BranchLog{XID: "x:1", BranchID: 1})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ierr == nil || !strings.Contains(ierr.Error(), "1064") || cerr != nil {
		t.Fatalf("InsertCommit without multiStatements = (%v, %v), want a syntax error", ierr, cerr)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, e.d.DB); n != 0 {
		t.Fatalf("%d undo rows", n)
	}
	ierr, _ = e.m.InsertCommit(ctx, execOnly{}, &BranchLog{XID: "x:1", BranchID: 1})
	if !errors.Is(ierr, ErrInvalid) {
		t.Fatalf("InsertCommit on a connection without QueryContext: %v, want ErrInvalid", ierr)
	}
}

type execOnly struct{}

func (execOnly) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return nil, errors.New("not called")
}

func countRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM undo_log").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// An answer that does not end with the COMMIT's result is reported as a
// broken connection, so that database/sql drops it with its transaction;
// an error among the rows is the INSERT's, one after them the COMMIT's.
func TestReadCommitRefusesOtherAnswers(t *testing.T) {
	for _, rows := range []*answerRows{{more: false}, {more: true, next: nil}} {
		if ierr, cerr := readCommit(rows); ierr != nil || !errors.Is(cerr, driver.ErrBadConn) || !errors.Is(cerr, errCommitUnread) {
			t.Errorf("readCommit(%+v) = (%v, %v)", rows, ierr, cerr)
		}
		if !rows.closed {
			t.Errorf("readCommit(%+v) left the rows open", rows)
		}
	}
	boom := errors.New("boom")
	if ierr, cerr := readCommit(&answerRows{more: true, next: boom}); ierr != nil || cerr != boom {
		t.Errorf("readCommit of a failed COMMIT = (%v, %v), want (nil, boom)", ierr, cerr)
	}
	if ierr, cerr := readCommit(&answerRows{more: true, row: boom}); ierr != boom || cerr != nil {
		t.Errorf("readCommit of a failed INSERT ... RETURNING = (%v, %v), want (boom, nil)", ierr, cerr)
	}
}

type answerRows struct {
	more      bool
	row, next error
	closed    bool
}

func (*answerRows) Columns() []string { return []string{"1"} }
func (r *answerRows) Close() error    { r.closed = true; return nil }
func (r *answerRows) Next([]driver.Value) error {
	if r.row != nil {
		return r.row
	}
	return io.EOF
}
func (r *answerRows) HasNextResultSet() bool { return r.more }
func (r *answerRows) NextResultSet() error   { return r.next }

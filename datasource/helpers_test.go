package datasource

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

// startTC runs an embedded coordinator (memory store) with short retry
// intervals, closed when the test ends.
func startTC(t testing.TB) *tc.Server {
	t.Helper()
	srv, err := tc.New(tc.Config{RetryPeriod: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, srv.Start(context.Background(), "127.0.0.1:0"))
	t.Cleanup(func() { srv.Close() })
	return srv
}

// newClient returns a client of the coordinator srv, closed when the test
// ends.
func newClient(t testing.TB, srv *tc.Server) *atcc.Client {
	t.Helper()
	c, err := atcc.New(atcc.Config{
		ApplicationID:  "datasource-test",
		Coordinators:   []string{srv.Addr().String()},
		RetryBackoff:   10 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
		HandlerTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// multiStatements, set by ATCC_TEST_MULTISTATEMENTS=1, makes newEnv open
// every AT pool with multiStatements=true and Config.MultiStatements: the
// package's tests then run with each branch's undo log INSERT and COMMIT in
// one query.
var multiStatements = os.Getenv("ATCC_TEST_MULTISTATEMENTS") == "1"

// env is one test's world: a fresh database with an undo log table, a
// coordinator, a client, and an AT pool over the database.
type env struct {
	d      *testdb.Database
	srv    *tc.Server
	client *atcc.Client
	conn   *Connector
	db     *sql.DB // the AT pool
}

func newEnv(t testing.TB, cfg Config, ddl ...string) *env {
	t.Helper()
	d := testdb.Create(t)
	require.NoError(t, undo.CreateTable(context.Background(), d.DB, ""))
	d.Exec(t, ddl...)
	srv := startTC(t)
	client := newClient(t, srv)
	if cfg.ResourceID == "" {
		cfg.ResourceID = "test/" + d.Name
	}
	if cfg.Undo.DeleteMaxDelay == 0 {
		cfg.Undo.DeleteMaxDelay = 5 * time.Millisecond
	}
	if multiStatements {
		cfg.MultiStatements = true
	}
	target := d.Connector(t)
	if cfg.MultiStatements {
		target = multiConnector(t, d)
	}
	conn, err := NewConnector(target, client, cfg)
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	require.NoError(t, client.Ping(context.Background()))
	return &env{d: d, srv: srv, client: client, conn: conn, db: db}
}

// global runs fn in a new global transaction and commits it (commit
// true) or rolls it back. fn's error fails the test.
func (e *env) global(t testing.TB, commit bool, fn func(ctx context.Context) error) {
	t.Helper()
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	if err := fn(ctx); err != nil {
		gtx.Rollback(context.Background())
		t.Fatalf("in global transaction: %v", err)
	}
	if commit {
		require.NoError(t, gtx.Commit(context.Background()))
	} else {
		require.NoError(t, gtx.Rollback(context.Background()))
	}
}

// inTx runs stmts (query, args...) in one local transaction of ctx.
func inTx(ctx context.Context, db *sql.DB, stmts ...stmtArgs) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.q, err)
		}
	}
	return tx.Commit()
}

type stmtArgs struct {
	q    string
	args []any
}

func q(query string, args ...any) stmtArgs { return stmtArgs{query, args} }

// snapshot returns every row of table (ordered by its first column) as
// text, NULL as nil, read with the raw pool.
func snapshot(t testing.TB, db interface {
	Query(string, ...any) (*sql.Rows, error)
}, table string) [][]any {
	t.Helper()
	rows, err := db.Query("SELECT * FROM "+table+" WHERE ? ORDER BY 1", 1) // an arg: the binary protocol
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		raw := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		row := make([]any, len(cols))
		for i, b := range raw {
			if b != nil {
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireRows compares two snapshots column by column.
func requireRows(t testing.TB, want, got [][]any, msg string) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d rows wanted, %d got\n", msg, len(want), len(got))
	for i := 0; i < max(len(want), len(got)); i++ {
		switch {
		case i >= len(want):
			fmt.Fprintf(&b, "  extra row %q\n", got[i])
		case i >= len(got):
			fmt.Fprintf(&b, "  missing row %q\n", want[i])
		default:
			for j := range want[i] {
				if !reflect.DeepEqual(want[i][j], got[i][j]) {
					fmt.Fprintf(&b, "  row %d column %d: want %q got %q\n", i, j, want[i][j], got[i][j])
				}
			}
		}
	}
	t.Fatal(b.String())
}

// count returns SELECT COUNT(*) FROM table [WHERE where].
func count(t testing.TB, db *sql.DB, table, where string) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	require.NoError(t, db.QueryRow(q).Scan(&n))
	return n
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

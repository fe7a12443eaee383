package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"testing"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/tm"
)

// BenchmarkPassThrough measures what the wrapper costs outside a global
// transaction, through database/sql: against an in-memory driver (the
// wrapper's own cost, isolated) and against MariaDB. Compare each "wrapped"
// with its "raw".
func BenchmarkPassThrough(b *testing.B) {
	client, err := atcc.New(atcc.Config{ApplicationID: "bench", Coordinators: []string{"127.0.0.1:1"}})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	run := func(b *testing.B, db *sql.DB) {
		b.Run("exec", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.ExecContext(ctx, "DO 1"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("query-arg", func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				if err := db.QueryRowContext(ctx, "SELECT ?", 1).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("tx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, "DO 1"); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	wrap := func(b *testing.B, target driver.Connector, id string) *sql.DB {
		c, err := NewConnector(target, client, Config{ResourceID: id})
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(c)
		b.Cleanup(func() { db.Close() })
		return db
	}

	fake := fakeConnector{}
	b.Run("memory/raw", func(b *testing.B) {
		db := sql.OpenDB(fake)
		defer db.Close()
		run(b, db)
	})
	b.Run("memory/wrapped", func(b *testing.B) { run(b, wrap(b, fake, "bench-memory")) })

	e := newBenchDB(b)
	b.Run("mariadb/raw", func(b *testing.B) { run(b, e) })
	b.Run("mariadb/wrapped", func(b *testing.B) {
		run(b, wrap(b, benchTarget, "bench-mariadb"))
	})
}

// BenchmarkGlobalTransfer measures one AT global transaction of two
// UPDATEs against the same work in a plain local transaction, with an
// embedded coordinator; global-multi with Config.MultiStatements.
func BenchmarkGlobalTransfer(b *testing.B) {
	e := newEnv(b, Config{}, accountDDL, "INSERT INTO account VALUES (1, 1000000), (2, 1000000)")
	multi := newEnv(b, Config{MultiStatements: true}, accountDDL, "INSERT INTO account VALUES (1, 1000000), (2, 1000000)")
	ctx := context.Background()
	transfer := func(ctx context.Context, db *sql.DB) error {
		return inTx(ctx, db, q("UPDATE account SET balance = balance - ? WHERE id = ?", 1, 1),
			q("UPDATE account SET balance = balance + ? WHERE id = ?", 1, 2))
	}
	b.Run("local", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := transfer(ctx, e.d.DB); err != nil {
				b.Fatal(err)
			}
		}
	})
	global := func(e *env) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				err := e.client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer"}, func(ctx context.Context) error {
					return transfer(ctx, e.db)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("global", global(e))
	b.Run("global-multi", global(multi))
}

// fakeConnector is an in-memory driver that answers every statement at
// once, to measure the wrapper alone.
type fakeConnector struct{}

func (fakeConnector) Connect(context.Context) (driver.Conn, error) { return &fakeConn{}, nil }
func (fakeConnector) Driver() driver.Driver                        { return fakeDriver{} }

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return &fakeConn{}, nil }

type fakeConn struct{}

func (*fakeConn) Prepare(string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (*fakeConn) Close() error                        { return nil }
func (*fakeConn) Begin() (driver.Tx, error)           { return fakeTx{}, nil }
func (*fakeConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return fakeTx{}, nil
}
func (*fakeConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(1), nil
}
func (*fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return &fakeRows{}, nil
}

type fakeStmt struct{}

func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(1), nil }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return &fakeRows{}, nil }

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

type fakeRows struct{ done bool }

func (*fakeRows) Columns() []string { return []string{"n"} }
func (*fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = int64(1)
	return nil
}

// benchTarget is the MariaDB connector of newBenchDB.
var benchTarget driver.Connector

// newBenchDB returns a raw pool on a fresh test database and sets
// benchTarget to its connector.
func newBenchDB(b *testing.B) *sql.DB {
	d := testdb.Create(b)
	benchTarget = d.Connector(b)
	return d.DB
}

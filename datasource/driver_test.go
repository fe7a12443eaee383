package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testdb"
)

// optionalConn lists the optional interfaces of a driver connection.
var optionalConn = []reflect.Type{
	reflect.TypeFor[driver.ConnBeginTx](),
	reflect.TypeFor[driver.ConnPrepareContext](),
	reflect.TypeFor[driver.ExecerContext](),
	reflect.TypeFor[driver.QueryerContext](),
	reflect.TypeFor[driver.NamedValueChecker](),
	reflect.TypeFor[driver.SessionResetter](),
	reflect.TypeFor[driver.Pinger](),
	reflect.TypeFor[driver.Validator](),
}

var optionalStmt = []reflect.Type{
	reflect.TypeFor[driver.StmtExecContext](),
	reflect.TypeFor[driver.StmtQueryContext](),
	reflect.TypeFor[driver.NamedValueChecker](),
	reflect.TypeFor[driver.ColumnConverter](), //nolint:staticcheck // mysql's statements implement it
}

func implemented(v any, ifaces []reflect.Type) []string {
	var out []string
	for _, it := range ifaces {
		if reflect.TypeOf(v).Implements(it) {
			out = append(out, it.String())
		}
	}
	return out
}

// The wrapped connection and statement expose every optional interface
// go-sql-driver/mysql's do.
func TestOptionalInterfaces(t *testing.T) {
	e := newEnv(t, Config{})
	rawConn, err := e.d.DB.Conn(context.Background())
	require.NoError(t, err)
	defer rawConn.Close()
	atConn, err := e.db.Conn(context.Background())
	require.NoError(t, err)
	defer atConn.Close()
	var rawC, atC any
	var rawS, atS driver.Stmt
	require.NoError(t, rawConn.Raw(func(dc any) error {
		rawC = dc
		rawS, err = dc.(driver.Conn).Prepare("SELECT 1")
		return err
	}))
	require.NoError(t, atConn.Raw(func(dc any) error {
		atC = dc
		atS, err = dc.(driver.Conn).Prepare("SELECT 1")
		return err
	}))
	defer rawS.Close()
	defer atS.Close()
	require.Equal(t, implemented(rawC, optionalConn), implemented(atC, optionalConn))
	require.Len(t, implemented(atC, optionalConn), len(optionalConn))
	require.Equal(t, implemented(rawS, optionalStmt), implemented(atS, optionalStmt))

	// They work through database/sql.
	require.NoError(t, atConn.PingContext(context.Background()))
	var n int
	require.NoError(t, atConn.QueryRowContext(context.Background(), "SELECT ?", 7).Scan(&n))
	require.Equal(t, 7, n)
	require.NoError(t, atConn.Raw(func(dc any) error {
		c := dc.(*conn)
		require.True(t, c.IsValid())
		require.NoError(t, c.ResetSession(context.Background()))
		nv := driver.NamedValue{Ordinal: 1, Value: int8(3)}
		require.NoError(t, c.CheckNamedValue(&nv))
		require.Equal(t, int64(3), nv.Value)
		return nil
	}))
}

// A target with none of the optional interfaces still works through the
// wrapper, with database/sql's fallbacks.
func TestMinimalTarget(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	min := minimalConnector{e.d.Connector(t)}
	c, err := NewConnector(min, e.client, Config{ResourceID: "minimal/" + e.d.Name})
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow("SELECT balance FROM account WHERE id = ?", 1).Scan(&n))
	require.Equal(t, 100, n)
	require.NoError(t, db.Ping())
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, db, q("UPDATE account SET balance = ? WHERE id = ?", 5, 1), q("DELETE FROM account"))
	})
	requireRows(t, [][]any{{"1", "100"}}, snapshot(t, e.d.DB, "account"), "rolled back through a minimal driver")
}

// minimalConnector's connections implement driver.Conn only.
type minimalConnector struct{ driver.Connector }

type minimalConn struct{ c driver.Conn }

func (m minimalConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := m.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return minimalConn{c}, nil
}

func (m minimalConn) Prepare(q string) (driver.Stmt, error) { return m.c.Prepare(q) }
func (m minimalConn) Close() error                          { return m.c.Close() }
func (m minimalConn) Begin() (driver.Tx, error)             { return m.c.Begin() } //nolint:staticcheck // the point

// Register installs a named driver for sql.Open; the name cannot be taken
// twice; pools of one DSN share the data source.
func TestRegister(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	name := "atcc-test-" + e.d.Name
	require.NoError(t, Register(e.client, name, Config{}))
	require.ErrorIs(t, Register(e.client, name, Config{}), ErrInvalidConfig)
	require.ErrorIs(t, Register(e.client, "mysql", Config{}), ErrInvalidConfig)

	db1, err := sql.Open(name, e.d.DSN())
	require.NoError(t, err)
	db2, err := sql.Open(name, e.d.DSN())
	require.NoError(t, err)
	c1 := db1.Driver().(*namedDriver)
	mcfg, _ := mysql.ParseDSN(e.d.DSN())
	require.Contains(t, c1.shared, "mysql://"+mcfg.Addr+"/"+e.d.Name)

	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, db1, q("UPDATE account SET balance = 1 WHERE id = 1"))
	})
	require.NoError(t, db1.Close())
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, db2, q("UPDATE account SET balance = 2 WHERE id = 1"))
	})
	require.NoError(t, db2.Close())
	require.Empty(t, c1.shared)
	requireRows(t, [][]any{{"1", "100"}}, snapshot(t, e.d.DB, "account"), "rolled back through sql.Open pools")

	_, err = sql.Open(name, "not a dsn")
	require.Error(t, err)
}

// NewConnector validates its arguments and needs no server.
func TestNewConnectorConfig(t *testing.T) {
	d := testdb.Create(t)
	srv := startTC(t)
	client := newClient(t, srv)
	_, err := NewConnector(d.Connector(t), client, Config{})
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewConnector(d.Connector(t), client, Config{ResourceID: "a,b"})
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = NewConnector(nil, client, Config{ResourceID: "x"})
	require.ErrorIs(t, err, ErrInvalidConfig)
	c, err := NewConnector(d.Connector(t), client, Config{ResourceID: "dup"})
	require.NoError(t, err)
	_, err = NewConnector(d.Connector(t), client, Config{ResourceID: "dup"})
	require.Error(t, err) // the resource manager refuses a second registration
	require.Equal(t, "dup", c.ResourceID())
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	_, err = c.Connect(context.Background())
	require.ErrorIs(t, err, ErrClosed)
	// The id is free again.
	c2, err := NewConnector(d.Connector(t), client, Config{ResourceID: "dup"})
	require.NoError(t, err)
	require.NoError(t, c2.Close())
}

// RefreshSchema picks up a new column, which an update then images.
func TestRefreshSchema(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE account SET balance = 1 WHERE id = 1"))
	})
	e.d.Exec(t, "ALTER TABLE account ADD COLUMN note VARCHAR(10) NULL")
	require.NoError(t, e.conn.RefreshSchema(context.Background()))
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE account SET note = 'n', balance = 2 WHERE id = 1"))
	})
	requireRows(t, [][]any{{"1", "1", nil}}, snapshot(t, e.d.DB, "account"), "new column rolled back")
	e.d.Exec(t, "DROP TABLE account")
	require.NoError(t, e.conn.RefreshSchema(context.Background()))
	require.NoError(t, e.conn.RefreshSchema(context.Background(), "undo_log", e.d.Name+".undo_log"))
}

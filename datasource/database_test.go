package datasource

import (
	"context"
	"database/sql"
	"reflect"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/tm"
)

// otherDB creates a second database beside e's, holding the same table t,
// dropped when the test ends.
func otherDB(t *testing.T, e *env) string {
	t.Helper()
	name := e.d.Name + "_o"
	e.d.Exec(t, "CREATE DATABASE `"+name+"`")
	t.Cleanup(func() { e.d.Exec(t, "DROP DATABASE IF EXISTS `"+name+"`") })
	e.d.Exec(t, "CREATE TABLE `"+name+"`.t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO `"+name+"`.t VALUES (1, 100), (2, 200)")
	return name
}

// USE changes the database unqualified names resolve to, in a global
// transaction or before it on the same connection, alone or among the
// statements of a multi-statement query. Images, the statement, the undo
// records and the lock keys must all name the table the server used. They
// used to be planned against the connector's default database while the
// images were read from the current one: the rollback wrote the other
// database's rows over the default database's.
func TestCurrentDatabaseIsTracked(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO t VALUES (1, 1), (2, 2)")
	other := otherDB(t, e)
	cfg := e.d.Config()
	cfg.MultiStatements = true
	cfg.InterpolateParams = true
	target, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	conn, err := NewConnector(target, e.client, Config{ResourceID: "multi/" + e.d.Name})
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1) // one session: what a USE does stays
	t.Cleanup(func() { db.Close() })

	mainRows := snapshot(t, e.d.DB, "t")
	otherRows := snapshot(t, e.d.DB, "`"+other+"`.t")
	check := func(t *testing.T) {
		t.Helper()
		if got := snapshot(t, e.d.DB, "t"); !reflect.DeepEqual(got, mainRows) {
			t.Fatalf("default database after rollback: %q, want %q", got, mainRows)
		}
		requireRows(t, otherRows, snapshot(t, e.d.DB, "`"+other+"`.t"), "other database after rollback")
	}
	use := func(t *testing.T, ctx context.Context, name string) {
		t.Helper()
		_, err := db.ExecContext(ctx, "USE `"+name+"`")
		require.NoError(t, err)
	}
	rollback := func(t *testing.T, fn func(ctx context.Context) error) {
		t.Helper()
		ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
		require.NoError(t, err)
		if err := fn(ctx); err != nil {
			gtx.Rollback(context.Background())
			t.Fatal(err)
		}
		require.NoError(t, gtx.Rollback(context.Background()))
	}
	changed := func(t *testing.T, ctx context.Context) {
		t.Helper()
		var v int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM `"+other+"`.t WHERE id = 1").Scan(&v))
		require.Equal(t, 101, v, "the statement changed the other database's row")
	}

	t.Run("USE in the global transaction", func(t *testing.T) {
		rollback(t, func(ctx context.Context) error {
			use(t, ctx, other)
			_, err := db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
			changed(t, ctx)
			return err
		})
		check(t)
		use(t, context.Background(), e.d.Name)
	})
	t.Run("USE before the global transaction", func(t *testing.T) {
		use(t, context.Background(), other)
		rollback(t, func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, "DELETE FROM t WHERE id = 2")
			if err == nil {
				_, err = db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
			}
			changed(t, ctx)
			return err
		})
		check(t)
		use(t, context.Background(), e.d.Name)
	})
	t.Run("USE in a multi-statement query", func(t *testing.T) {
		rollback(t, func(ctx context.Context) error {
			_, err := db.ExecContext(ctx, "UPDATE t SET v = v + 5 WHERE id = 2; USE `"+other+"`; UPDATE t SET v = v + 1 WHERE id = 1; INSERT INTO t VALUES (3, 3)")
			changed(t, ctx)
			return err
		})
		check(t)
		use(t, context.Background(), e.d.Name)
	})
	t.Run("USE in a local transaction, then back", func(t *testing.T) {
		rollback(t, func(ctx context.Context) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			for _, s := range []string{"USE `" + other + "`", "UPDATE t SET v = v + 1 WHERE id = 1", "USE `" + e.d.Name + "`", "UPDATE t SET v = v + 1 WHERE id = 1"} {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			return tx.Commit()
		})
		check(t)
	})
}

// A statement prepared before a USE is bound by the server to the tables
// of the database current then; in a global transaction it is refused
// rather than imaged against the other database's table.
func TestPreparedBeforeUseIsRefused(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO t VALUES (1, 1)")
	other := otherDB(t, e)
	e.db.SetMaxOpenConns(1)
	ctx := context.Background()
	c, err := e.db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.PrepareContext(ctx, "UPDATE t SET v = v + 1 WHERE id = ?")
	require.NoError(t, err)
	defer st.Close()
	_, err = c.ExecContext(ctx, "USE `"+other+"`")
	require.NoError(t, err)
	gctx, gtx, err := e.client.TM().Begin(ctx, tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	defer gtx.Rollback(ctx)
	_, err = st.ExecContext(gctx, 1)
	require.ErrorIs(t, err, ErrDatabaseChanged)
	require.ErrorIs(t, err, ErrUnsupported)
	requireRows(t, [][]any{{"1", "1"}}, snapshot(t, e.d.DB, "t"), "unchanged")
	requireRows(t, [][]any{{"1", "100"}, {"2", "200"}}, snapshot(t, e.d.DB, "`"+other+"`.t"), "unchanged")
}

func TestMayUse(t *testing.T) {
	for q, want := range map[string]bool{
		"USE db":                        true,
		"use`db`":                       true,
		"  /* c */ -- x\n # y\n Use db": true,
		"/*!40000 USE db */":            true,
		"SELECT 1; use db":              true,
		"SELECT * FROM users":           false,
		"UPDATE t SET used = 1":         false,
		"USER()":                        false,
		"SELECT 'a;b'":                  false,
		"SELECT 'a; use x'":             true, // errs on the side of yes
		"":                              false,
	} {
		require.Equal(t, want, mayUse(q), q)
	}
}

// A table reached under other names through one connector (`t`, `db`.`t`,
// `T` on a server that folds names, `t` after USE db) has one lock key, so
// global transactions writing it exclude each other. (Two connectors are
// two resources: the coordinator keys row locks by resource, as Seata's
// does, so they never share a lock; README says so.)
func TestOneLockKeyPerTable(t *testing.T) {
	e := newEnv(t, Config{LockRetries: -1}, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO t VALUES (1, 1)")
	other := otherDB(t, e)
	ctx := context.Background()
	c, err := e.db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	for _, pair := range [][2]string{
		{"UPDATE t SET v = v + 1 WHERE id = 1", "UPDATE `" + e.d.Name + "`.t SET v = v + 1 WHERE id = 1"},
		{"UPDATE `" + other + "`.t SET v = v + 1 WHERE id = 1", "USE `" + other + "`; UPDATE t SET v = v + 1 WHERE id = 1"},
	} {
		gctx1, gtx1, err := e.client.TM().Begin(ctx, tm.TxOptions{Name: "holder"})
		require.NoError(t, err)
		_, err = c.ExecContext(gctx1, pair[0])
		require.NoError(t, err)

		gctx2, gtx2, err := e.client.TM().Begin(ctx, tm.TxOptions{Name: "blocked"})
		require.NoError(t, err)
		first, second, ok := strings.Cut(pair[1], "; ")
		if ok {
			_, err = c.ExecContext(ctx, first)
			require.NoError(t, err)
		} else {
			second = first
		}
		_, err = c.ExecContext(gctx2, second)
		require.ErrorIs(t, err, ErrLockConflict, pair[1])
		require.NoError(t, gtx2.Rollback(ctx))
		require.NoError(t, gtx1.Rollback(ctx))
		_, err = c.ExecContext(ctx, "USE `"+e.d.Name+"`")
		require.NoError(t, err)
	}
}

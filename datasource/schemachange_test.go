package datasource

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Online DDL while the service runs: the metadata the connector cached
// before an ALTER must not make an image miss a column. A DELETE rolled
// back used to restore a column added since with its default (b=7 where
// the row held 99), and a statement naming the new column failed with
// "has no column b".
func TestSchemaChangeIsFollowed(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, c INT NOT NULL DEFAULT 0)",
		"INSERT INTO t VALUES (1, 1, 0), (2, 2, 0), (3, 3, 0)")
	run := func(t *testing.T, stmt string) {
		t.Helper()
		before := snapshot(t, e.d.DB, "t")
		e.global(t, false, func(ctx context.Context) error {
			_, err := e.db.ExecContext(ctx, stmt)
			return err
		})
		requireRows(t, before, snapshot(t, e.d.DB, "t"), stmt+" rolled back")
	}
	// Cache the metadata and the plans.
	run(t, "UPDATE t SET v = v + 1 WHERE id = 1")
	run(t, "DELETE FROM t WHERE id = 1")

	e.d.Exec(t, "ALTER TABLE t ADD COLUMN b INT NOT NULL DEFAULT 7", "UPDATE t SET b = 99 WHERE id = 1")
	run(t, "DELETE FROM t WHERE id = 1")
	run(t, "UPDATE t SET b = b + 1 WHERE id = 1")
	run(t, "INSERT INTO t (id, v, b) VALUES (4, 4, 5)")

	e.d.Exec(t, "ALTER TABLE t DROP COLUMN c")
	run(t, "DELETE FROM t WHERE id = 2")
	run(t, "UPDATE t SET v = v + 1 WHERE id = 2")

	// An INVISIBLE column added alone is left out of "q.*" (the interval
	// catches it); with a visible one, the reload sees both.
	e.d.Exec(t, "ALTER TABLE t ADD COLUMN h INT INVISIBLE DEFAULT 5, ADD COLUMN g INT NOT NULL DEFAULT 0", "UPDATE t SET h = 6 WHERE id = 3")
	run(t, "DELETE FROM t WHERE id = 3")
	var h int
	require.NoError(t, e.d.DB.QueryRow("SELECT h FROM t WHERE id = 3").Scan(&h))
	require.Equal(t, 6, h, "the invisible column restored")
}

// With SchemaRefreshInterval elapsed, metadata is read again: an UPDATE's
// image then holds a column added with ON UPDATE CURRENT_TIMESTAMP, which
// nothing in the statement shows.
func TestSchemaRefreshInterval(t *testing.T) {
	e := newEnv(t, Config{SchemaRefreshInterval: time.Nanosecond}, "CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO t VALUES (1, 1)")
	e.global(t, false, func(ctx context.Context) error {
		_, err := e.db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
		return err
	})
	e.d.Exec(t, "ALTER TABLE t ADD COLUMN ts TIMESTAMP(6) NOT NULL DEFAULT '2001-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP(6)")
	before := snapshot(t, e.d.DB, "t")
	e.global(t, false, func(ctx context.Context) error {
		_, err := e.db.ExecContext(ctx, "UPDATE t SET v = v + 1 WHERE id = 1")
		return err
	})
	requireRows(t, before, snapshot(t, e.d.DB, "t"), "after rollback")

	cfg := Config{ResourceID: "x"}.withDefaults()
	require.NoError(t, cfg.check())
	require.Equal(t, DefaultSchemaRefreshInterval, cfg.SchemaRefreshInterval)
	cfg = Config{ResourceID: "x", SchemaRefreshInterval: -1}.withDefaults()
	require.NoError(t, cfg.check())
	require.Zero(t, cfg.SchemaRefreshInterval)
}

package datasource

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// After images are completed at COMMIT from the before images of later
// statements and one read per table. With more rows than linearKeys, the
// lock set and the COMMIT read switch from linear scans to maps; with one
// connection, every transaction reuses the storage of the one before
// (branch.reset). A wrong after image fails the rollback's dirty-write
// check, a record left over from an earlier transaction undoes rows twice.
func TestAfterImagesOfManyRowsOnOneConnection(t *testing.T) {
	rows := make([]string, 60)
	for i := range rows {
		rows[i] = fmt.Sprintf("(%d, %d, %d)", i+1, i, 1000+i)
	}
	e := newEnv(t, Config{}, "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL)",
		"INSERT INTO t VALUES "+strings.Join(rows, ","))
	e.db.SetMaxOpenConns(1)
	stmts := []stmtArgs{
		q("UPDATE t SET a = a + 1 WHERE id <= ?", 40),
		q("UPDATE t SET b = b + 1 WHERE id > ?", 20),
		q("UPDATE t SET a = a + 10 WHERE id > ? AND id <= ?", 30, 50),
		q("UPDATE t SET a = a + 100 WHERE id = ?", 35),
	}
	initial := snapshot(t, e.d.DB, "t")
	for range 2 {
		e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
		requireRows(t, initial, snapshot(t, e.d.DB, "t"), "after rollback")
	}
	e.global(t, true, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
	committed := snapshot(t, e.d.DB, "t")
	require.NotEqual(t, initial, committed)
	e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, stmts[1:]...) })
	requireRows(t, committed, snapshot(t, e.d.DB, "t"), "after the rollback of a transaction following a committed one")
	require.Equal(t, 1, count(t, e.d.DB, "t", "id = 35 AND a = 34+1+10+100 AND b = 1034+1"))
}

// lockSet deduplicates keys linearly, then through a map past linearKeys,
// and keeps its storage across reset without keeping its keys.
func TestLockSetDedupesAcrossReset(t *testing.T) {
	var l lockSet
	for round := range 2 {
		for i := range 3 * linearKeys {
			l.add("t", fmt.Sprint(i%(2*linearKeys)))
		}
		l.add("u", "1")
		l.add("u", "1")
		keys := make([]string, 2*linearKeys)
		for i := range keys {
			keys[i] = fmt.Sprint(i)
		}
		require.Equal(t, "t:"+strings.Join(keys, ",")+";u:1", l.String(), "round %d", round)
		l.reset()
		require.True(t, l.empty())
		l.add("u", "2")
		require.Equal(t, "u:2", l.String())
		l.reset()
	}
}

package datasource

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testdb"
)

// insertCase runs stmts in a global transaction through the AT pool of a
// fresh database, rolls it back and requires every table unchanged; then,
// on another fresh database, runs them and commits, and requires the
// tables to equal those of a twin database where the same statements ran
// as a plain local transaction.
func insertCase(t *testing.T, ddl []string, tables []string, stmts ...stmtArgs) {
	t.Helper()
	e := newEnv(t, Config{}, ddl...)
	initial := make(map[string][][]any)
	for _, tb := range tables {
		initial[tb] = snapshot(t, e.d.DB, tb)
	}
	e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
	for _, tb := range tables {
		requireRows(t, initial[tb], snapshot(t, e.d.DB, tb), tb+" after global rollback")
	}
	c := newEnv(t, Config{}, ddl...)
	twin := testdb.Create(t)
	twin.Exec(t, ddl...)
	c.global(t, true, func(ctx context.Context) error { return inTx(ctx, c.db, stmts...) })
	require.NoError(t, inTx(context.Background(), twin.DB, stmts...))
	for _, tb := range tables {
		requireRows(t, snapshot(t, twin.DB, tb), snapshot(t, c.d.DB, tb), tb+" after global commit")
	}
	waitFor(t, "undo log cleared", func() bool {
		return count(t, e.d.DB, "undo_log", "") == 0 && count(t, c.d.DB, "undo_log", "") == 0
	})
}

// Keys the server coerces are looked up as stored: an empty string key
// (which once made an empty lock key segment, refused at COMMIT), a short
// value for a BINARY(16) key (padded by the server, once looked up
// unpadded), a number for a VARCHAR key (once compared as a number, matching
// '01' and ' 1' too).
func TestInsertCoercedKeys(t *testing.T) {
	e := newEnv(t, Config{},
		"CREATE TABLE strkey (k VARCHAR(10) PRIMARY KEY, v INT)",
		"CREATE TABLE bin (k BINARY(16) PRIMARY KEY, v INT)",
		"INSERT INTO bin VALUES (X'42', 1)",
		"CREATE TABLE vk (k VARCHAR(10) PRIMARY KEY, v INT)",
		"INSERT INTO vk VALUES ('01', 1), (' 1', 2), ('1abc', 3)")
	tables := []string{"strkey", "bin", "vk"}
	stmts := []stmtArgs{
		q("INSERT INTO strkey VALUES ('', 1)"),
		q("INSERT INTO strkey (k, v) VALUES (?, 2)", "x"),
		q("INSERT INTO bin VALUES (X'41', 2)"),
		q("INSERT INTO bin VALUES (?, 3)", []byte("C")),
		q("REPLACE INTO bin VALUES (X'42', 9)"), // meets the padded row
		q("INSERT INTO bin VALUES ('D', 4) ON DUPLICATE KEY UPDATE v = 5"),
		q("INSERT INTO vk VALUES (1, 5)"),
		q("INSERT INTO vk (k, v) VALUES (?, 6)", 2),
		q("INSERT INTO vk VALUES (2, 7) ON DUPLICATE KEY UPDATE v = 8"),
	}
	initial := make(map[string][][]any)
	for _, tb := range tables {
		initial[tb] = snapshot(t, e.d.DB, tb)
	}
	e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
	for _, tb := range tables {
		requireRows(t, initial[tb], snapshot(t, e.d.DB, tb), tb+" after global rollback")
	}
	var keys string
	e.global(t, true, func(ctx context.Context) error {
		c, err := e.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
				return err
			}
		}
		if err := c.Raw(func(dc any) error { keys = dc.(*conn).tx.br.locks.String(); return nil }); err != nil {
			return err
		}
		return tx.Commit()
	})
	pad := func(s string) string { return "0x" + hexPad(s, 16) }
	require.Equal(t, "strkey:0x,x;bin:"+pad("A")+","+pad("C")+","+pad("B")+","+pad("D")+";vk:1,2", keys)
	require.Equal(t, [][]any{{"", "1"}, {"x", "2"}}, snapshot(t, e.d.DB, "strkey"))
	require.Equal(t, 4, count(t, e.d.DB, "bin", ""))
	require.Equal(t, 1, count(t, e.d.DB, "bin", "HEX(k) = '"+hexPad("B", 16)+"' AND v = 9"))
	require.Equal(t, 1, count(t, e.d.DB, "vk", "k = '2' AND v = 8"))
	require.Equal(t, 5, count(t, e.d.DB, "vk", ""))
}

func hexPad(s string, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 0, 2*n)
	for i := range n {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}


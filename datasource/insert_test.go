package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
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
// unpadded: "0 found by primary key", and a REPLACE lost the row it
// replaced), a number for a VARCHAR key (once compared as a number,
// matching '01' and ' 1' too), trailing spaces for a CHAR key under a NO
// PAD collation (stored without them, once looked up with them: the row an
// ON DUPLICATE KEY UPDATE inserted stayed after the rollback, atprop seed
// 6182). Lock keys name the stored values.
func TestInsertCoercedKeys(t *testing.T) {
	pad := func(s string) string { return "0x" + hexPad(s, 16) }
	cases := []struct {
		name  string
		ddl   []string
		stmts []stmtArgs
		keys  string
	}{
		{"empty string", []string{"CREATE TABLE strkey (k VARCHAR(10) PRIMARY KEY, v INT)"}, []stmtArgs{
			q("INSERT INTO strkey VALUES ('', 1)"),
		}, "strkey:0x"},
		{"blank binary", []string{"CREATE TABLE blank (k VARBINARY(8) PRIMARY KEY, v INT)"}, []stmtArgs{
			q("INSERT INTO blank VALUES (X'20', 1), (X'2020', 2), (' a ', 3)"),
		}, "blank:0x20,0x2020, a "},
		{"short binary", []string{"CREATE TABLE bin (k BINARY(16) PRIMARY KEY, v INT)", "INSERT INTO bin VALUES (X'42', 1)"}, []stmtArgs{
			q("INSERT INTO bin VALUES (X'41', 2)"),
			q("INSERT INTO bin VALUES (?, 3)", []byte("C")),
			q("REPLACE INTO bin VALUES (X'42', 9)"), // meets the padded row
			q("INSERT INTO bin VALUES ('D', 4) ON DUPLICATE KEY UPDATE v = 5"),
		}, "bin:" + pad("A") + "," + pad("C") + "," + pad("B") + "," + pad("D")},
		{"number for varchar", []string{"CREATE TABLE vk (k VARCHAR(10) PRIMARY KEY, v INT, e ENUM('a', 'b'))",
			"INSERT INTO vk VALUES ('01', 1, 'a'), (' 1', 2, 'a'), ('1abc', 3, 'a')",
			"CREATE TABLE ek (k ENUM('x', 'y') PRIMARY KEY, v INT)"}, []stmtArgs{
			q("INSERT INTO vk VALUES (1, 5, 'b')"),
			q("INSERT INTO vk (k, v) VALUES (?, 6)", 2),
			q("INSERT INTO vk VALUES (2, 7, 'b') ON DUPLICATE KEY UPDATE v = 8"),
			q("INSERT INTO ek VALUES (2, 1)"), // an ENUM index: 'y'
		}, "vk:1,2;ek:y"},
		{"trailing spaces for a NO PAD CHAR key", []string{"CREATE TABLE ck (k CHAR(6) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci PRIMARY KEY, " +
			"u CHAR(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin UNIQUE, v INT)", "INSERT INTO ck VALUES ('x', 'y', 0)"}, []stmtArgs{
			q("INSERT INTO ck VALUES (?, 'b', 2) ON DUPLICATE KEY UPDATE v = 3", " B  "),
			q("REPLACE INTO ck VALUES ('x  ', 'z', 4)"),                   // meets the stored 'x'
			q("INSERT IGNORE INTO ck VALUES ('w ', ?, 5)", []byte("z  ")), // meets 'z' by its unique key
			q("INSERT INTO ck VALUES (X'432020', 'c', 6) ON DUPLICATE KEY UPDATE v = 7"),
		}, "ck: B,x,C"},
		{"trailing spaces for a NO PAD CHAR key, plain INSERT", []string{"CREATE TABLE cp (k CHAR(6) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci PRIMARY KEY, v INT)"}, []stmtArgs{
			q("INSERT INTO cp VALUES (' A ', 1), (?, 2)", "b "),
		}, "cp: A,b"},
		{"bit literals for a number", []string{"CREATE TABLE hp (k BIGINT UNSIGNED PRIMARY KEY, v INT)"}, []stmtArgs{
			q("INSERT INTO hp VALUES (b'101', 1), (0xFFFFFFFFFFFFFFFF, 2)"),
		}, "hp:5,18446744073709551615"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{}, tc.ddl...)
			tables := []string{}
			for _, d := range tc.ddl {
				if f := strings.Fields(d); f[0] == "CREATE" {
					tables = append(tables, f[2])
				}
			}
			initial := make(map[string][][]any)
			for _, tb := range tables {
				initial[tb] = snapshot(t, e.d.DB, tb)
			}
			e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, tc.stmts...) })
			for _, tb := range tables {
				requireRows(t, initial[tb], snapshot(t, e.d.DB, tb), tb+" after global rollback")
			}
			twin := testdb.Create(t)
			twin.Exec(t, tc.ddl...)
			require.NoError(t, inTx(context.Background(), twin.DB, tc.stmts...))
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
				for _, s := range tc.stmts {
					if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
						return err
					}
				}
				if err := c.Raw(func(dc any) error { keys = dc.(*conn).tx.br.locks.String(); return nil }); err != nil {
					return err
				}
				return tx.Commit()
			})
			require.Equal(t, tc.keys, keys)
			for _, tb := range tables {
				requireRows(t, snapshot(t, twin.DB, tb), snapshot(t, e.d.DB, tb), tb+" after global commit")
			}
		})
	}
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

// INSERT IGNORE, REPLACE and ON DUPLICATE KEY UPDATE on an auto-increment
// table with no other unique key, and IGNORE or ODKU omitting a nullable
// unique column: rows with generated keys that cannot meet an existing row
// are found by LAST_INSERT_ID (once refused: "a row with a generated key
// and no unique key value cannot be found again", "unique key ... is not
// given").
func TestInsertConflictGeneratedKeys(t *testing.T) {
	ddl := []string{
		"CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
		"INSERT INTO auto (v) VALUES (1), (2)",
		"CREATE TABLE nu (id INT AUTO_INCREMENT PRIMARY KEY, u INT NULL UNIQUE, w INT NULL, v INT, UNIQUE KEY uw (u, w))",
		"INSERT INTO nu (u, v) VALUES (1, 1)",
	}
	insertCase(t, ddl, []string{"auto", "nu"},
		q("INSERT IGNORE INTO auto (v) VALUES (10), (11)"),
		q("REPLACE INTO auto (v) VALUES (?)", 12),
		q("INSERT INTO auto (v) VALUES (13), (14) ON DUPLICATE KEY UPDATE v = v + 100"),
		q("INSERT INTO auto (id, v) VALUES (1, 15), (NULL, 16) ON DUPLICATE KEY UPDATE v = VALUES(v)"),
		q("REPLACE INTO auto VALUES (2, 17), (DEFAULT, 18)"),
		q("INSERT INTO auto (id, v) VALUES (NULL, 19), (3, 20) ON DUPLICATE KEY UPDATE v = 21"),
		q("INSERT IGNORE INTO nu (v) VALUES (2), (3)"),
		q("INSERT INTO nu (v) VALUES (4) ON DUPLICATE KEY UPDATE v = 5"),
		q("INSERT INTO nu (u, v) VALUES (1, 6) ON DUPLICATE KEY UPDATE v = 7"),
		q("REPLACE INTO nu (id, u, v) VALUES (1, 2, 8)"),
	)
}

// The statements gorm sends with its default settings: Create of an
// auto-increment model on MariaDB >= 10.5 (RETURNING, through Query, whose
// rows must reach the caller), belongs-to saving (a no-op key assignment)
// and has-many saving (rows with and without keys, ON DUPLICATE KEY UPDATE).
func TestInsertGormStatements(t *testing.T) {
	ddl := []string{
		"CREATE TABLE items (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO items (name) VALUES ('old')",
		"CREATE TABLE cards (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, num VARCHAR(20))",
		"INSERT INTO cards (num) VALUES ('c1')",
		"CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, customer_id BIGINT, item VARCHAR(20))",
		"INSERT INTO orders (customer_id, item) VALUES (1, 'o1'), (2, 'o2')",
	}
	insertCase(t, ddl, []string{"items", "cards", "orders"},
		q("INSERT INTO cards (num) VALUES (?) ON DUPLICATE KEY UPDATE id=id", "c2"),
		q("INSERT INTO cards (id, num) VALUES (?, ?) ON DUPLICATE KEY UPDATE `id`=`id`", 1, "c1"),
		q("INSERT INTO orders (customer_id,item,id) VALUES (?,?,?),(?,?,DEFAULT) ON DUPLICATE KEY UPDATE customer_id=VALUES(customer_id)",
			7, "o1", 1, 7, "o3"),
		q("INSERT INTO items (name) VALUES (?) RETURNING id", "x"),
		q("REPLACE INTO items (id, name) VALUES (1, 'new') RETURNING id, name"),
		q("DELETE FROM orders WHERE id = ? RETURNING id", 2),
	)

	// Rows returned through Query, in a transaction and autocommit, and
	// undone.
	e := newEnv(t, Config{}, ddl...)
	initial := snapshot(t, e.d.DB, "items")
	e.global(t, false, func(ctx context.Context) error {
		tx, err := e.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var id int64
		if err := tx.QueryRowContext(ctx, "INSERT INTO items (name) VALUES (?) RETURNING id", "a").Scan(&id); err != nil {
			return err
		}
		var name string
		if err := tx.QueryRowContext(ctx, "SELECT name FROM items WHERE id = ?", id).Scan(&name); err != nil {
			return err
		}
		require.Equal(t, "a", name)
		rows, err := tx.QueryContext(ctx, "INSERT INTO items (name) VALUES ('b'), ('c') RETURNING id, name")
		if err != nil {
			return err
		}
		var got []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			got = append(got, n)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"b", "c"}, got)
		if err := tx.Commit(); err != nil {
			return err
		}
		var deleted string
		if err := e.db.QueryRowContext(ctx, "DELETE FROM items WHERE name = ? RETURNING name", "old").Scan(&deleted); err != nil {
			return err
		}
		require.Equal(t, "old", deleted)
		res, err := e.db.ExecContext(ctx, "INSERT INTO items (name) VALUES ('d'), ('e') RETURNING id")
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		return nil
	})
	requireRows(t, initial, snapshot(t, e.d.DB, "items"), "items after global rollback")
}

// A key given after generated ones and not below them may move the
// auto-increment counter between them: the statement fails, and its local
// transaction can only roll back.
func TestInsertGeneratedKeysMoved(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	defer gtx.Rollback(context.Background())
	err = inTx(ctx, e.db, q("INSERT INTO auto (id, v) VALUES (NULL, 1), (1000, 2), (NULL, 3)"))
	require.ErrorContains(t, err, "may have moved the auto-increment counter")
	require.Equal(t, 0, count(t, e.d.DB, "auto", ""))
	// A key given after the generated ones, or below them, is fine.
	require.NoError(t, inTx(ctx, e.db, q("INSERT INTO auto (id, v) VALUES (NULL, 1), (NULL, 2), (1000, 3)")))
	require.NoError(t, gtx.Rollback(context.Background()))
	require.Equal(t, 0, count(t, e.d.DB, "auto", ""))
}

// Under innodb_autoinc_lock_mode 2 the keys a mixed-mode insert generates
// need not be consecutive: several of them are refused before anything
// runs. (The server's mode is read-only, so the test sets the connection's
// cached reading.)
func TestInsertInterleavedLockMode(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "INSERT INTO auto VALUES (1, 1)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	defer gtx.Rollback(context.Background())
	c, err := e.db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Raw(func(dc any) error { dc.(*conn).at.autoIncMode = 2 + 1; return nil }))
	for _, s := range []string{
		"INSERT INTO auto (v) VALUES (2), (3) ON DUPLICATE KEY UPDATE v = 0",
		"INSERT INTO auto (id, v) VALUES (1, 2), (NULL, 3), (NULL, 4) ON DUPLICATE KEY UPDATE v = 0",
		"INSERT INTO auto (id, v) VALUES (NULL, 2), (NULL, 3), (9, 4)",
	} {
		_, err := c.ExecContext(ctx, s)
		require.ErrorIs(t, err, ErrUnsupported, s)
	}
	require.Equal(t, 1, count(t, e.d.DB, "auto", ""))
	// One generated key, or keys generated by a simple insert, are exact.
	for _, s := range []string{
		"INSERT INTO auto (v) VALUES (2) ON DUPLICATE KEY UPDATE v = 0",
		"INSERT INTO auto (v) VALUES (3), (4)",
		"INSERT IGNORE INTO auto (v) VALUES (5), (6)",
	} {
		_, err := c.ExecContext(ctx, s)
		require.NoError(t, err, s)
	}
	require.NoError(t, gtx.Rollback(context.Background()))
	require.Equal(t, 1, count(t, e.d.DB, "auto", ""))
}

// A unique column left out of IGNORE / ODKU whose value is not NULL (a
// non-NULL default, a generated column) may meet rows nobody looked for:
// refused before anything runs.
func TestInsertOmittedUniqueRefused(t *testing.T) {
	e := newEnv(t, Config{},
		"CREATE TABLE d (id INT AUTO_INCREMENT PRIMARY KEY, u INT NULL DEFAULT 5 UNIQUE, v INT)",
		"CREATE TABLE g (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b INT AS (a + 1) STORED UNIQUE)",
		"CREATE TABLE s (id INT AUTO_INCREMENT PRIMARY KEY, u VARCHAR(5) NULL DEFAULT 'NULL' UNIQUE)")
	for _, s := range []string{
		"INSERT IGNORE INTO d (v) VALUES (1)",
		"INSERT INTO d (v) VALUES (1) ON DUPLICATE KEY UPDATE v = 2",
		"INSERT IGNORE INTO g (a) VALUES (1)",
		"INSERT IGNORE INTO s (id) VALUES (NULL)",
		"INSERT IGNORE INTO d (u, v) VALUES (DEFAULT, 1)",
	} {
		e.global(t, false, func(ctx context.Context) error {
			_, err := e.db.ExecContext(ctx, s)
			require.ErrorIs(t, err, ErrUnsupported, s)
			return nil
		})
	}
	for _, tb := range []string{"d", "g", "s"} {
		require.Equal(t, 0, count(t, e.d.DB, tb, ""), tb)
	}
}

// A prepared INSERT ... RETURNING queried in a global transaction returns
// its rows and is undone.
func TestInsertReturningPrepared(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20))")
	e.global(t, false, func(ctx context.Context) error {
		st, err := e.db.PrepareContext(ctx, "INSERT INTO items (name) VALUES (?), (?) RETURNING id, name")
		if err != nil {
			return err
		}
		defer st.Close()
		for round := range 2 {
			rows, err := st.QueryContext(ctx, "a", "b")
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			require.NoError(t, rows.Err())
			require.Len(t, ids, 2, "round %d", round)
			require.Equal(t, ids[0]+1, ids[1])
		}
		require.Equal(t, 4, count(t, e.d.DB, "items", ""))
		return nil
	})
	require.Equal(t, 0, count(t, e.d.DB, "items", ""))
}

// An empty value returned by RETURNING reaches the caller as an empty
// []byte, as the driver gives it, not nil (the rows were once copied so
// that an empty value became nil: NULL to a caller scanning into any).
func TestInsertReturningEmptyString(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, b VARBINARY(4) NOT NULL)")
	e.global(t, false, func(ctx context.Context) error {
		var name, b any
		if err := e.db.QueryRowContext(ctx, "INSERT INTO items (name, b) VALUES ('', X'') RETURNING name, b").Scan(&name, &b); err != nil {
			return err
		}
		require.Equal(t, []byte{}, name)
		require.Equal(t, []byte{}, b)
		return nil
	})
	require.Equal(t, 0, count(t, e.d.DB, "items", ""))
}

// A hex literal for a unique INT column of a row whose auto-increment key
// is generated: MariaDB stores 0x13 as 19 (X'3230' as the string '20'); the
// row was once looked for by the bytes and not found, so it stayed after
// rollback.
func TestInsertHexLiteralUniqueKey(t *testing.T) {
	insertCase(t, []string{"CREATE TABLE hk (id INT AUTO_INCREMENT PRIMARY KEY, uq INT NOT NULL UNIQUE, v INT)",
		"INSERT INTO hk (uq, v) VALUES (10, 0)"}, []string{"hk"},
		q("INSERT INTO hk (uq, v) VALUES (0x13, 1) ON DUPLICATE KEY UPDATE uq = uq + 100, v = VALUES(v)"), // new
		q("INSERT INTO hk (uq, v) VALUES (0x0a, 2) ON DUPLICATE KEY UPDATE uq = uq + 100"),                // meets 10
		q("INSERT IGNORE INTO hk (uq, v) VALUES (X'3230', 3)"),
		q("REPLACE INTO hk (uq, v) VALUES (b'10100', 4)"),
	)
}

// DEFAULT given for a unique column whose default is NULL meets nothing,
// as when the column is left out (once refused: "unique key column u gets
// a value only the server knows").
func TestInsertDefaultNullUnique(t *testing.T) {
	insertCase(t, []string{"CREATE TABLE nd (id INT AUTO_INCREMENT PRIMARY KEY, u INT NULL UNIQUE, v INT)",
		"INSERT INTO nd (u, v) VALUES (1, 1)"}, []string{"nd"},
		q("INSERT IGNORE INTO nd (u, v) VALUES (DEFAULT, 2), (DEFAULT, 3)"),
		q("INSERT INTO nd (id, u, v) VALUES (1, DEFAULT, 4) ON DUPLICATE KEY UPDATE v = VALUES(v)"),
		q("REPLACE INTO nd (id, u, v) VALUES (2, DEFAULT, 5), (1, 1, 6)"),
	)
}

// ON DUPLICATE KEY UPDATE assigning a unique column, with several rows of
// which one with a generated key is found by its unique value: a later row
// of the statement may meet it and change that value (uq 22 became 122),
// and the row, looked for by 22, stayed after rollback. Refused; an update
// leaving unique columns alone still runs, and is undone.
func TestInsertODKUMeetsOwnRow(t *testing.T) {
	ddl := []string{"CREATE TABLE o (id INT AUTO_INCREMENT PRIMARY KEY, uq INT NOT NULL UNIQUE, v INT)", "INSERT INTO o (uq, v) VALUES (1, 1)"}
	e := newEnv(t, Config{}, ddl...)
	e.global(t, false, func(ctx context.Context) error {
		_, err := e.db.ExecContext(ctx, "INSERT INTO o (uq, v) VALUES (22, 1), (22, 2) ON DUPLICATE KEY UPDATE uq = uq + 100")
		require.ErrorIs(t, err, ErrUnsupported)
		return nil
	})
	require.Equal(t, 1, count(t, e.d.DB, "o", ""))
	insertCase(t, ddl, []string{"o"},
		q("INSERT INTO o (uq, v) VALUES (22, 1), (22, 2) ON DUPLICATE KEY UPDATE v = v + 10"),
		q("INSERT INTO o (uq, v) VALUES (23, 1) ON DUPLICATE KEY UPDATE uq = uq + 100"),
		q("INSERT INTO o (uq, v) VALUES (23, 1) ON DUPLICATE KEY UPDATE uq = uq + 100"),
	)
}

// A binary string literal with non-ASCII bytes for a character key column
// is stored as text of the column's character set (X'C3A9' is 'Ã©' in
// latin1): the row was looked up by the bytes as UTF-8 ('é'), not found,
// and stayed after rollback. Refused; ASCII bytes are the same text in
// either, and run.
func TestInsertBinaryLiteralCharacterKey(t *testing.T) {
	ddl := []string{"CREATE TABLE bk (ka INT NOT NULL, kb VARCHAR(8) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, uq BIGINT NULL UNIQUE, v INT, PRIMARY KEY (ka, kb))"}
	e := newEnv(t, Config{}, ddl...)
	for _, s := range []string{
		"INSERT INTO bk (ka, kb, v) VALUES (3, X'C3A9', 1) ON DUPLICATE KEY UPDATE uq = uq + 100",
		"INSERT INTO bk (ka, kb, v) VALUES (3, _binary'\xc3\xa9', 1)",
		"INSERT INTO bk (ka, kb, v) VALUES (3, 0xE9, 1)",
	} {
		e.global(t, false, func(ctx context.Context) error {
			_, err := e.db.ExecContext(ctx, s)
			require.ErrorIs(t, err, ErrUnsupported, s)
			return nil
		})
	}
	require.Equal(t, 0, count(t, e.d.DB, "bk", ""))
	insertCase(t, ddl, []string{"bk"},
		q("INSERT INTO bk (ka, kb, v) VALUES (3, X'6162', 1) ON DUPLICATE KEY UPDATE uq = uq + 100"),
		q("INSERT INTO bk (ka, kb, v) VALUES (4, 0x41, 1), (4, b'1000010', 2)"))
}

// Generated keys of a BIGINT UNSIGNED auto-increment column above 2^63-1,
// which the driver's LastInsertId reports as a negative int64 (once "the
// server reports LAST_INSERT_ID -2", failing statements that run as
// plain SQL).
func TestInsertGeneratedKeysAboveInt64(t *testing.T) {
	insertCase(t, []string{"CREATE TABLE u (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT = 18446744073709551600"},
		[]string{"u"},
		q("INSERT INTO u (v) VALUES (1), (2)"),
		q("INSERT IGNORE INTO u (v) VALUES (3)"),
		q("INSERT INTO u (v) VALUES (4) ON DUPLICATE KEY UPDATE v = 5"),
		q("INSERT INTO u (id, v) VALUES (7, 6), (NULL, 7)"),
	)
	e := newEnv(t, Config{}, "CREATE TABLE u (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT = 18446744073709551600")
	e.global(t, false, func(ctx context.Context) error {
		var id uint64
		if err := e.db.QueryRowContext(ctx, "INSERT INTO u (v) VALUES (1) RETURNING id").Scan(&id); err != nil {
			return err
		}
		require.Equal(t, uint64(18446744073709551600), id)
		return nil
	})
	require.Equal(t, 0, count(t, e.d.DB, "u", ""))
}

// Every spelling of zero for an auto-increment key makes the server
// generate it, as NULL does: 0.0 and '0' were once taken for explicit keys,
// so the generated row was never imaged and outlived the global rollback
// (atprop seed 2005: id 103 left). Explicit keys given as text or decimals
// are looked up as the integers stored.
func TestInsertZeroSpellingsGenerateKeys(t *testing.T) {
	ddl := []string{"CREATE TABLE az (id INT AUTO_INCREMENT PRIMARY KEY, uq INT NULL UNIQUE, v VARCHAR(10)) AUTO_INCREMENT=102",
		"INSERT INTO az VALUES (1, 1, 'a')"}
	insertCase(t, ddl, []string{"az"},
		q("INSERT INTO az (id, uq, v) VALUES (0.0, NULL, 'x'), ('0', NULL, 'y') ON DUPLICATE KEY UPDATE uq = uq + 100"),
		q("INSERT INTO az (id, v) VALUES ('-0', 'a'), (0.00, 'b'), ('0.0', 'c'), (b'0', 'd'), (0x00, 'e')"),
		q("INSERT INTO az (id, v) VALUES (?, 'f'), (?, 'g'), (?, 'h'), (?, 'i')", float64(0), "0", []byte("00"), false),
		q("INSERT IGNORE INTO az (id, v) VALUES ('-2147483648', 'j'), ('7.0', 'k'), (?, 'l')", "+8"),
		q("INSERT INTO az (id, uq, v) VALUES (0.0, 1, 'm') ON DUPLICATE KEY UPDATE v = 'n'"),
	)
}

// A value for an integer key that the server rounds, clips or converts
// with a warning is refused before anything runs: looked up as given, it
// would not find the row stored. So is seed 2005's statement, now that
// both its rows generate keys (one found again by a unique key its ON
// DUPLICATE KEY UPDATE assigns).
func TestInsertUnclearIntegerKeyRefused(t *testing.T) {
	e := newEnv(t, Config{}, "CREATE TABLE ik (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "CREATE TABLE nk (id TINYINT UNSIGNED PRIMARY KEY, v INT)",
		"CREATE TABLE az (id INT AUTO_INCREMENT PRIMARY KEY, uq INT NULL UNIQUE, v VARCHAR(10)) AUTO_INCREMENT=102")
	for _, s := range []stmtArgs{
		q("INSERT INTO az (id, uq, v) VALUES (0.0, 74, 'x'), ('0', NULL, 'y') ON DUPLICATE KEY UPDATE uq = uq + 100"),
		q("INSERT INTO ik VALUES ('0.4', 1)"),
		q("INSERT INTO ik VALUES (?, 1)", 0.4),
		q("INSERT INTO ik VALUES (2.5, 1)"),
		q("INSERT INTO ik VALUES (' 0', 1)"),
		q("INSERT INTO ik VALUES ('1e1', 1)"),
		q("INSERT INTO ik VALUES ('7x', 1)"),
		q("INSERT INTO ik VALUES (2147483648, 1)"),
		q("INSERT INTO nk VALUES (-1, 1)"),
		q("INSERT INTO nk VALUES ('256', 1)"),
	} {
		ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
		require.NoError(t, err)
		_, err = e.db.ExecContext(ctx, s.q, s.args...)
		require.ErrorIs(t, err, ErrUnsupported, "%s %v", s.q, s.args)
		require.NoError(t, gtx.Rollback(context.Background()))
	}
	require.Zero(t, count(t, e.d.DB, "ik", "")+count(t, e.d.DB, "nk", "")+count(t, e.d.DB, "az", ""))
}

// Under NO_AUTO_VALUE_ON_ZERO a 0 for an auto-increment key is stored as
// the key 0, and imaged by it: its rollback deletes that row.
func TestInsertZeroKeyUnderNoAutoValueOnZero(t *testing.T) {
	d := testdb.Create(t)
	require.NoError(t, undo.CreateTable(context.Background(), d.DB, ""))
	d.Exec(t, "CREATE TABLE zk (id INT AUTO_INCREMENT PRIMARY KEY, v INT)", "INSERT INTO zk VALUES (5, 5)")
	cfg := d.Config()
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'STRICT_TRANS_TABLES,NO_AUTO_VALUE_ON_ZERO'"
	target, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	client := newClient(t, startTC(t))
	conn, err := NewConnector(target, client, Config{ResourceID: "test/" + d.Name, Undo: undo.Config{DeleteMaxDelay: 5 * time.Millisecond}})
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	e := &env{d: d, client: client, conn: conn, db: db}
	initial := snapshot(t, d.DB, "zk")
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, db, q("INSERT INTO zk VALUES ('0.0', 1)"), q("INSERT INTO zk (v) VALUES (2)"))
	})
	requireRows(t, initial, snapshot(t, d.DB, "zk"), "zk after global rollback")
}

// modeDB opens a pool on d whose sessions run with sql_mode mode.
func modeDB(t testing.TB, d *testdb.Database, mode string) driver.Connector {
	t.Helper()
	cfg := d.Config()
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = "'" + mode + "'"
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	return c
}

// newModeEnv is newEnv with sessions in sql_mode mode, and a twin: a
// database with the same tables, with a pool in the same mode that runs
// the statements as plain SQL.
func newModeEnv(t testing.TB, mode string, ddl ...string) (e *env, twin *testdb.Database, twinDB *sql.DB) {
	t.Helper()
	d := testdb.Create(t)
	require.NoError(t, undo.CreateTable(context.Background(), d.DB, ""))
	d.Exec(t, ddl...)
	client := newClient(t, startTC(t))
	conn, err := NewConnector(modeDB(t, d, mode), client, Config{ResourceID: "test/" + d.Name, Undo: undo.Config{DeleteMaxDelay: 5 * time.Millisecond}})
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	twin = testdb.Create(t)
	twin.Exec(t, ddl...)
	twinDB = sql.OpenDB(modeDB(t, twin, mode))
	t.Cleanup(func() { twinDB.Close() })
	return &env{d: d, client: client, conn: conn, db: db}, twin, twinDB
}

// requireGlobalLikePlain runs stmts through e in a global transaction
// rolled back, then in one committed, and as plain SQL on twin through
// twinDB: the rollback restores tables, the commit leaves them as plain SQL
// does.
func requireGlobalLikePlain(t *testing.T, e *env, twin *testdb.Database, twinDB *sql.DB, tables []string, stmts ...stmtArgs) {
	t.Helper()
	initial := map[string][][]any{}
	for _, tb := range tables {
		initial[tb] = snapshot(t, e.d.DB, tb)
	}
	e.global(t, false, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
	for _, tb := range tables {
		requireRows(t, initial[tb], snapshot(t, e.d.DB, tb), tb+" after global rollback")
	}
	require.NoError(t, inTx(context.Background(), twinDB, stmts...))
	e.global(t, true, func(ctx context.Context) error { return inTx(ctx, e.db, stmts...) })
	for _, tb := range tables {
		requireRows(t, snapshot(t, twin.DB, tb), snapshot(t, e.d.DB, tb), tb+" after global commit")
	}
}

// Without strict mode a key longer than its column holds is stored cut to
// the column's length: it is looked up so (once looked up whole, a REPLACE
// of the stored key imaged nothing, and the rollback lost the row).
func TestInsertKeysCutWithoutStrictMode(t *testing.T) {
	e, twin, twinDB := newModeEnv(t, "",
		"CREATE TABLE vk (k VARCHAR(3) CHARACTER SET utf8mb4 PRIMARY KEY, v INT)", "INSERT INTO vk VALUES ('abc', 0), ('ééé', 0)",
		"CREATE TABLE ck (k CHAR(3) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci PRIMARY KEY, v INT)", "INSERT INTO ck VALUES ('ab', 0)",
		"CREATE TABLE bk (k VARBINARY(2) PRIMARY KEY, u BINARY(2) UNIQUE, v INT)", "INSERT INTO bk VALUES (X'0102', X'0304', 0)")
	requireGlobalLikePlain(t, e, twin, twinDB, []string{"vk", "ck", "bk"},
		q("REPLACE INTO vk VALUES ('abcd', 1)"),
		q("INSERT INTO vk VALUES (?, 2) ON DUPLICATE KEY UPDATE v = 3", "éééé"),
		q("INSERT INTO vk VALUES ('xyzw', 4), (12345, 5)"),
		q("REPLACE INTO ck VALUES ('ab  x', 6)"),
		q("INSERT INTO bk VALUES (X'010203', X'0909', 7) ON DUPLICATE KEY UPDATE v = 8"),
		q("INSERT IGNORE INTO bk VALUES (X'0505', X'030405', 9)"),
	)
}

// Under PAD_CHAR_TO_FULL_LENGTH a CHAR value is read and compared padded to
// the column's length: a CHAR key is looked up so, and its rollback is
// exact under a NO PAD collation too.
func TestInsertCharKeyUnderPadCharToFullLength(t *testing.T) {
	e, twin, twinDB := newModeEnv(t, "STRICT_TRANS_TABLES,PAD_CHAR_TO_FULL_LENGTH",
		"CREATE TABLE ck (k CHAR(6) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci PRIMARY KEY, v INT)",
		"INSERT INTO ck VALUES ('x', 0), ('é', 0)")
	requireGlobalLikePlain(t, e, twin, twinDB, []string{"ck"},
		q("INSERT INTO ck VALUES (' A ', 1), (?, 2)", "b"),
		q("INSERT INTO ck VALUES (?, 3) ON DUPLICATE KEY UPDATE v = 4", " B  "),
		q("REPLACE INTO ck VALUES ('x  ', 5), ('é', 6)"),
	)
}

// A key value the server stores converted (a DECIMAL rounded to its scale,
// a fraction of a second cut, SET members ordered, a FLOAT approximated, a
// DATE's time dropped) finds no row by the value given: an INSERT IGNORE,
// REPLACE or ON DUPLICATE KEY UPDATE giving one once imaged neither the
// row it met nor the one it wrote, and the rollback kept the change (or
// lost the row). Such a statement is refused before it runs; one the
// server converts otherwise than CAST (an invalid date stored as a zero
// date without strict mode) fails after it ran, when its key values find
// no row, and its local transaction can only roll back. An update that
// moves the unique value a row was met by is no such case.
func TestInsertConvertedKeys(t *testing.T) {
	cases := []struct{ ddl, row, stmt string }{
		{"CREATE TABLE dk (k DECIMAL(5,2) PRIMARY KEY, v INT)", "INSERT INTO dk VALUES (1.01, 0)", "REPLACE INTO dk VALUES (1.005, 9)"},
		{"CREATE TABLE dk (k DECIMAL(5,2) PRIMARY KEY, v INT)", "INSERT INTO dk VALUES (1.01, 0)", "INSERT INTO dk VALUES ('1.006', 9) ON DUPLICATE KEY UPDATE v = 3"},
		{"CREATE TABLE tk (k DATETIME(1) PRIMARY KEY, v INT)", "INSERT INTO tk VALUES ('2024-01-01 00:00:00.1', 0)", "REPLACE INTO tk VALUES ('2024-01-01 00:00:00.12', 9)"},
		{"CREATE TABLE tk (k TIME PRIMARY KEY, v INT)", "INSERT INTO tk VALUES ('10:00:00', 0)", "INSERT IGNORE INTO tk VALUES ('10:00:00.7', 9), ('11:00:00', 9)"},
		{"CREATE TABLE tk (k DATE PRIMARY KEY, v INT)", "INSERT INTO tk VALUES ('2024-01-01', 0)", "REPLACE INTO tk VALUES ('2024-01-01 10:00:00', 9)"},
		{"CREATE TABLE fk (k FLOAT PRIMARY KEY, v INT)", "INSERT INTO fk VALUES (0.1, 0)", "REPLACE INTO fk VALUES (0.1, 9)"},
		{"CREATE TABLE sk (id INT PRIMARY KEY, k SET('a','b') UNIQUE, v INT)", "INSERT INTO sk VALUES (1, 'a,b', 0)", "REPLACE INTO sk VALUES (2, 'b,a', 9)"},
		{"CREATE TABLE ek (id INT PRIMARY KEY, k ENUM('a','it''s') CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_nopad_ci UNIQUE, v INT)",
			"INSERT INTO ek VALUES (1, 'a', 0)", "REPLACE INTO ek VALUES (2, 'a ', 9)"},
	}
	for _, tc := range cases {
		t.Run(tc.stmt, func(t *testing.T) {
			e := newEnv(t, Config{}, tc.ddl, tc.row)
			tb := strings.Fields(tc.ddl)[2]
			initial := snapshot(t, e.d.DB, tb)
			ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
			require.NoError(t, err)
			err = inTx(ctx, e.db, q(tc.stmt))
			require.ErrorIs(t, err, ErrUnsupported)
			require.ErrorContains(t, err, "which it stores")
			require.NoError(t, gtx.Rollback(context.Background()))
			requireRows(t, initial, snapshot(t, e.d.DB, tb), tb+" after global rollback")
		})
	}
	t.Run("spelled as stored", func(t *testing.T) {
		ddl := []string{"CREATE TABLE ok (d DECIMAL(5,2), t DATETIME(1), s SET('a','it''s','b\\c'), e ENUM('x','y'), v INT, PRIMARY KEY (d, t), UNIQUE KEY (s, e))",
			"INSERT INTO ok VALUES (1.01, '2024-01-01 00:00:00.1', 'a,b\\c', 'x', 0)"}
		e := newEnv(t, Config{}, ddl...)
		twin := testdb.Create(t)
		twin.Exec(t, ddl...)
		requireGlobalLikePlain(t, e, twin, twin.DB, []string{"ok"},
			q("REPLACE INTO ok VALUES ('1.010', '2024-01-01 00:00:00.10', 'a,b\\c', 'x', 1)"),
			q("INSERT INTO ok VALUES (?, ?, ?, 2, 2) ON DUPLICATE KEY UPDATE v = 3", "2", "2024-01-02", "it's"),
			q("INSERT IGNORE INTO ok VALUES (3, '2024-01-03', 'a,it''s', 'y', 4), (4, '2024-01-04', '', 'x', 5)"))
	})
	t.Run("converted otherwise than CAST", func(t *testing.T) {
		e, _, _ := newModeEnv(t, "", "CREATE TABLE dd (k DATE PRIMARY KEY, v INT)", "INSERT INTO dd VALUES ('0000-00-00', 0)")
		initial := snapshot(t, e.d.DB, "dd")
		ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
		require.NoError(t, err)
		c, err := e.db.Conn(ctx)
		require.NoError(t, err)
		defer c.Close()
		tx, err := c.BeginTx(ctx, nil)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, "REPLACE INTO dd VALUES ('2024-02-30', 1)")
		require.ErrorContains(t, err, "find no row after it ran")
		require.ErrorIs(t, tx.Commit(), ErrTxAborted)
		require.NoError(t, gtx.Rollback(context.Background()))
		requireRows(t, initial, snapshot(t, e.d.DB, "dd"), "dd after global rollback")
	})
	t.Run("inserted otherwise than CAST, IGNORE", func(t *testing.T) {
		e, _, _ := newModeEnv(t, "", "CREATE TABLE dd (k DATE PRIMARY KEY, v INT)", "INSERT INTO dd VALUES ('2024-01-01', 0)")
		initial := snapshot(t, e.d.DB, "dd")
		ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
		require.NoError(t, err)
		err = inTx(ctx, e.db, q("INSERT IGNORE INTO dd VALUES ('2024-01-01', 1), ('2024-02-30', 2)"))
		require.ErrorContains(t, err, "1 rows inserted, 0 new rows found")
		require.NoError(t, gtx.Rollback(context.Background()))
		requireRows(t, initial, snapshot(t, e.d.DB, "dd"), "dd after global rollback")
	})
	t.Run("IGNORE skips a row that breaks a foreign key", func(t *testing.T) {
		ddl := []string{"CREATE TABLE parent (id INT PRIMARY KEY)", "INSERT INTO parent VALUES (1)",
			"CREATE TABLE child (id INT PRIMARY KEY, p INT, u INT UNIQUE, FOREIGN KEY (p) REFERENCES parent (id))"}
		e := newEnv(t, Config{}, ddl...)
		twin := testdb.Create(t)
		twin.Exec(t, ddl...)
		requireGlobalLikePlain(t, e, twin, twin.DB, []string{"child"},
			q("INSERT IGNORE INTO child VALUES (1, 99, 1)"),
			q("INSERT IGNORE INTO child VALUES (2, 1, 2), (3, 99, 3), (4, 1, 2)"))
	})
	t.Run("unique value moved by the update", func(t *testing.T) {
		e := newEnv(t, Config{}, "CREATE TABLE uk (id INT PRIMARY KEY, u VARCHAR(4) UNIQUE, v INT)", "INSERT INTO uk VALUES (1, 'a', 0)")
		twin := testdb.Create(t)
		twin.Exec(t, "CREATE TABLE uk (id INT PRIMARY KEY, u VARCHAR(4) UNIQUE, v INT)", "INSERT INTO uk VALUES (1, 'a', 0)")
		requireGlobalLikePlain(t, e, twin, twin.DB, []string{"uk"},
			q("INSERT INTO uk VALUES (5, 'a', 1) ON DUPLICATE KEY UPDATE u = 'b'"),
			q("INSERT INTO uk VALUES (6, 'c', 1), (7, 'b', 2) ON DUPLICATE KEY UPDATE u = CONCAT(u, 'x')"),
			q("INSERT INTO uk VALUES (8, 'd', 1), (9, 'd', 2) ON DUPLICATE KEY UPDATE u = CONCAT(u, 'y')"),
			// seed 7048: row 10 is replaced by row 11 (u), which row 11 (id)
			// replaces again: row 10's key values find no row
			q("REPLACE INTO uk VALUES (10, 'e', 1), (11, 'e', 2), (11, 'f', 3)"),
			q("INSERT IGNORE INTO uk VALUES (12, 'g', 1), (13, 'g', 2), (12, 'h', 3)"))
	})
}

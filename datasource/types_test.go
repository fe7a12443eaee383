package datasource

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/internal/testdb"
)

// wideDDL is one table with a column of every kind of value an undo image
// must carry exactly, plus a unique key and a table to join with.
var wideDDL = []string{`CREATE TABLE wide (
	id    BIGINT UNSIGNED NOT NULL PRIMARY KEY,
	code  VARCHAR(32) NOT NULL,
	u     BIGINT UNSIGNED NULL,
	d     DECIMAL(65,30) NULL,
	f     DOUBLE NULL,
	fl    FLOAT NULL,
	b     BIT(64) NULL,
	bin   BINARY(16) NULL,
	blb   BLOB NULL,
	n     VARCHAR(20) NULL,
	j     JSON NULL,
	dt    DATE NULL,
	tm    TIME(6) NULL,
	dtm   DATETIME(6) NULL,
	ts    TIMESTAMP(6) NULL DEFAULT NULL,
	y     YEAR NULL,
	e     ENUM('a','b','c') NULL,
	s     SET('x','y','z') NULL,
	emoji VARCHAR(32) CHARACTER SET utf8mb4 NULL,
	qty   INT NOT NULL DEFAULT 0,
	UNIQUE KEY uk_code (code)
)`, `CREATE TABLE tag (
	id      INT NOT NULL PRIMARY KEY,
	wide_id BIGINT UNSIGNED NOT NULL,
	label   VARCHAR(40) CHARACTER SET utf8mb4 NOT NULL
)`}

const maxUint64 = uint64(18446744073709551615)

// wideRow is the insert of one row of wide with every column set.
const wideInsert = "INSERT INTO wide (id, code, u, d, f, fl, b, bin, blb, n, j, dt, tm, dtm, ts, y, e, s, emoji, qty) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

func wideArgs(id uint64, code string, qty int) []any {
	return []any{id, code, maxUint64 - id%7, "12345678901234567890123456789012345.123456789012345678901234567891",
		0.1 + float64(id%5), float32(16777215), []byte{0xff, 0x00, 0xa5, 0x5a, 0, 0, 0, byte(id)},
		[]byte{0x00, 0xff, 0x10, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xfe, byte(id)},
		[]byte("\x00\x01\xffblob\r\n'\"\\" + code), nil, `{"a": [1, 2, {"b": null}], "k": "` + code + `"}`,
		"2024-02-29", "838:59:59.999999", "9999-12-31 23:59:59.999999", "2038-01-19 03:14:07.999999",
		2155, "c", "x,z", "😀🎉 " + code, qty}
}

func seedWide(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, s := range []string{"DELETE FROM wide", "DELETE FROM tag"} {
		_, err := db.Exec(s)
		require.NoError(t, err)
	}
	for i, id := range []uint64{1, 2, 3, 4, maxUint64} {
		_, err := db.Exec(wideInsert, wideArgs(id, "c"+string(rune('a'+i)), 10*(i+1))...)
		require.NoError(t, err)
	}
	_, err := db.Exec("INSERT INTO tag VALUES (1, 1, 'one'), (2, 2, 'two'), (3, 3, 'three'), (4, 18446744073709551615, 'max')")
	require.NoError(t, err)
}

// TestStatementKinds runs each kind of statement in a global transaction
// over the wide table, committed and rolled back. After the commit the AT
// database must hold exactly what a twin database holds where the same SQL
// ran without AT; after the rollback exactly what it held before. Every
// column is compared as read through the binary protocol.
func TestStatementKinds(t *testing.T) {
	e := newEnv(t, Config{}, wideDDL...)
	twin := testdb.Create(t)
	twin.Exec(t, wideDDL...)
	tcfg := twin.Config()
	tcfg.MultiStatements = true
	tcfg.InterpolateParams = true // a prepared statement cannot hold several
	tconn, err := mysql.NewConnector(tcfg)
	require.NoError(t, err)
	twinDB := sql.OpenDB(tconn)
	t.Cleanup(func() { twinDB.Close() })

	cases := []struct {
		name  string
		stmts []stmtArgs
	}{
		{"insert one", []stmtArgs{q(wideInsert, wideArgs(10, "new10", 5)...)}},
		{"insert multi-row", []stmtArgs{q("INSERT INTO wide (id, code, j, emoji, b) VALUES (?, ?, ?, ?, b'101'), (11, 'x11', NULL, '🙂', NULL), (?, ?, '[]', NULL, NULL)",
			20, "x20", `{"z":1}`, "🦀", 21, "x21")}},
		{"insert all columns no list", []stmtArgs{q("INSERT INTO wide VALUES (?, 'nolist', NULL, 1.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3)", 30)}},
		{"update by key every type", []stmtArgs{q("UPDATE wide SET u = ?, d = ?, f = ?, fl = ?, b = ?, bin = ?, blb = ?, n = ?, j = ?, dt = ?, tm = ?, dtm = ?, ts = ?, y = ?, e = ?, s = ?, emoji = ? WHERE id = ?",
			uint64(0), "-0.000000000000000000000000000001", -1e308, float32(-1.5), []byte{1}, []byte("0123456789abcdef"), []byte{}, "now set", "null",
			"1000-01-01", "-838:59:59", "1000-01-01 00:00:00", "1970-01-01 00:00:01", 1901, "a", "", "💥", maxUint64)}},
		{"update range", []stmtArgs{q("UPDATE wide SET qty = qty + 1, n = CONCAT('r', id) WHERE id BETWEEN ? AND ?", 2, 4)}},
		{"update set null", []stmtArgs{q("UPDATE wide SET j = NULL, blb = NULL, ts = NULL WHERE qty >= ?", 30)}},
		{"update order by limit", []stmtArgs{q("UPDATE wide SET qty = 0 ORDER BY qty DESC LIMIT ?", 2)}},
		{"delete", []stmtArgs{q("DELETE FROM wide WHERE id IN (?, ?)", 1, maxUint64)}},
		{"delete order by limit", []stmtArgs{q("DELETE FROM wide WHERE qty > ? ORDER BY qty DESC LIMIT 2", 0)}},
		{"replace same key", []stmtArgs{q("REPLACE INTO wide (id, code, n, emoji) VALUES (?, ?, ?, ?)", 2, "cb", "replaced", "🌀")}},
		{"replace colliding unique key", []stmtArgs{q("REPLACE INTO wide (id, code, qty) VALUES (?, ?, ?)", 40, "cc", 7)}},
		{"replace two rows", []stmtArgs{q("REPLACE INTO wide (id, code) VALUES (?, ?)", 1, "cd")}},
		{"insert ignore", []stmtArgs{q("INSERT IGNORE INTO wide (id, code, qty) VALUES (?, ?, 1), (?, ?, 2), (?, ?, 3)", 1, "dup-pk", 50, "ca", 51, "fresh")}},
		{"on duplicate key insert path", []stmtArgs{q("INSERT INTO wide (id, code, qty) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty)", 60, "odku", 9)}},
		{"on duplicate key update path", []stmtArgs{q("INSERT INTO wide (id, code, qty) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty), emoji = '🔁'", 3, "cc", 9)}},
		{"on duplicate key by unique key changes it", []stmtArgs{q("INSERT INTO wide (id, code, qty) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE code = 'renamed'", 70, "cd")}},
		{"join update", []stmtArgs{q("UPDATE wide w JOIN tag g ON g.wide_id = w.id SET w.qty = w.qty + 100, g.label = CONCAT(g.label, '!') WHERE g.id >= ?", 2)}},
		{"join update unqualified", []stmtArgs{q("UPDATE wide, tag SET qty = qty * 2, label = 'x' WHERE tag.wide_id = wide.id AND tag.id = ?", 1)}},
		{"join delete", []stmtArgs{q("DELETE w, g FROM wide AS w INNER JOIN tag AS g ON g.wide_id = w.id WHERE g.label = ?", "max")}},
		{"delete using", []stmtArgs{q("DELETE FROM w USING wide AS w JOIN tag AS g ON g.wide_id = w.id WHERE g.id IN (1, 3)")}},
		{"schema-qualified", []stmtArgs{q("UPDATE `{db}`.wide SET n = 'q' WHERE id = ?", 4), q("DELETE FROM `{db}`.`tag` WHERE id = ?", 4)}},
		{"several statements in one exec", []stmtArgs{q("UPDATE wide SET qty = ? WHERE id = ?; INSERT INTO tag VALUES (?, 1, 'multi'); DELETE FROM wide WHERE id = ?", 77, 1, 9, 2)}},
		{"chained updates of different columns", []stmtArgs{
			q("UPDATE wide SET qty = 1 WHERE id = 1"),
			q("UPDATE wide SET n = 'z', qty = qty + 1 WHERE id IN (?, ?)", 1, 2),
			q("UPDATE wide SET e = 'b' WHERE id = 1"),
			q("UPDATE wide w JOIN tag g ON g.wide_id = w.id SET w.qty = 5, w.s = 'y', g.label = 'j' WHERE w.id = 2"),
			q("UPDATE tag SET label = 'k' WHERE id IN (1, 2)"),
		}},
		{"several writes in one transaction", []stmtArgs{
			q(wideInsert, wideArgs(80, "n80", 1)...),
			q("UPDATE wide SET qty = qty + 1 WHERE id = 80"),
			q("UPDATE wide SET qty = qty + 1 WHERE id IN (80, 1)"),
			q("DELETE FROM wide WHERE id = 80"),
			q("REPLACE INTO wide (id, code) VALUES (1, 'r1')"),
		}},
	}
	read := func(db *sql.DB) [][][]any {
		return [][][]any{snapshot(t, db, "wide"), snapshot(t, db, "tag")}
	}
	run := func(ctx context.Context, db *sql.DB, dbName string, stmts []stmtArgs) error {
		fixed := make([]stmtArgs, len(stmts))
		for i, s := range stmts {
			fixed[i] = stmtArgs{strings.ReplaceAll(s.q, "{db}", dbName), s.args}
		}
		return inTx(ctx, db, fixed...)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seedWide(t, e.d.DB)
			initial := read(e.d.DB)
			e.global(t, false, func(ctx context.Context) error { return run(ctx, e.db, e.d.Name, tc.stmts) })
			got := read(e.d.DB)
			requireRows(t, initial[0], got[0], "wide after rollback")
			requireRows(t, initial[1], got[1], "tag after rollback")

			seedWide(t, twin.DB)
			require.NoError(t, run(context.Background(), twinDB, twin.Name, tc.stmts))
			want := read(twin.DB) // twinDB interpolates: the text protocol
			e.global(t, true, func(ctx context.Context) error { return run(ctx, e.db, e.d.Name, tc.stmts) })
			got = read(e.d.DB)
			requireRows(t, want[0], got[0], "wide after commit")
			requireRows(t, want[1], got[1], "tag after commit")
			require.NotEqual(t, initial, want, "the case changes nothing")
		})
	}
}

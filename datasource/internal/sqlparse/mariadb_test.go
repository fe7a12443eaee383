package sqlparse

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/internal/testdb"
)

// The server accepts every fragment in the shape the executor uses: the
// locking before-image read, and ON DUPLICATE KEY UPDATE for expressions.
// Tables do not exist, so PREPARE fails after parsing; only a syntax error
// fails the test.
func TestFragmentsAcceptedByServer(t *testing.T) {
	d := testdb.Create(t)
	ctx := context.Background()
	prepare := func(q string) {
		t.Helper()
		st, err := d.DB.PrepareContext(ctx, q)
		if err == nil {
			st.Close()
			return
		}
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1064 || me.Number == 1149) {
			t.Errorf("server rejects %q: %v", q, err)
		}
	}
	cases := append([]string{}, fuzzExtraSeeds...)
	for _, tc := range parseCases {
		cases = append(cases, tc.sql)
	}
	checked := 0
	for _, q := range cases {
		stmts, err := Parse(q)
		noErr(t, err)
		for _, s := range stmts {
			if sc := scopeOf(s); sc != nil {
				prepare(sc.Select("*") + " FOR UPDATE")
				checked++
			}
			for _, rf := range fragmentsOf(s) {
				if strings.HasPrefix(rf.role, "row") || strings.HasPrefix(rf.role, "set") || strings.HasPrefix(rf.role, "dup") {
					prepare("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE c = " + rf.f.SQL)
					checked++
				}
			}
		}
	}
	is(t, checked > 50, "only %d fragments checked", checked)
}

// Restored WHERE, ORDER BY and LIMIT fragments bound with their Args select
// the same rows as the original clauses with the original args: string
// escaping, numbers at the edges of their types, binary literals, and
// placeholder order all survive, under both backslash modes.
func TestRestoredFragmentsSelectSameRows(t *testing.T) {
	d := testdb.Create(t)
	ctx := context.Background()
	d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(100) CHARACTER SET utf8mb4, n BIGINT UNSIGNED, x DECIMAL(30,10), b VARBINARY(20))")
	rows := [][]any{
		{1, "it's", uint64(1), "1.5", []byte("AB")},
		{2, `back\slash`, uint64(18446744073709551615), "-2.25", nil},
		{3, "é😀", uint64(0), "0", []byte{5}},
		{4, "tab\tnl\n", uint64(42), "0.001", []byte{}},
		{5, "?", uint64(9223372036854775808), "7", []byte("x")},
		{6, `a%b`, uint64(6), "6", []byte("y")},
		{7, `q"x`, uint64(7), "7", []byte("z")},
		{8, `a\%b`, uint64(8), "8", []byte("w")},
	}
	for _, r := range rows {
		_, err := d.DB.ExecContext(ctx, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", r...)
		noErr(t, err)
	}

	type clause struct {
		sql  string // "WHERE ... [ORDER BY ...] [LIMIT ...]" of a DELETE
		args []any
	}
	common := []clause{
		{"WHERE s = 'it''s'", nil},
		{`WHERE s = "q""x" OR s = 'q"x'`, nil},
		{"WHERE s = 'é😀' OR s = ?", []any{"?"}},
		{"WHERE s IN ('?', ?) AND id > ?", []any{"it's", 0}},
		{"WHERE n = 18446744073709551615 OR n = 9223372036854775808", nil},
		{"WHERE n > ? AND n < ? ORDER BY n DESC LIMIT ?", []any{uint64(5), uint64(18446744073709551615), 2}},
		{"WHERE x = -2.25 OR x = 1.5 OR x = 1e-3", nil},
		{"WHERE b = x'4142' OR b = b'101' OR b = 0x78", nil},
		{"WHERE id BETWEEN ? AND ? AND CASE WHEN n > ? THEN 1 ELSE 0 END = 1", []any{1, 7, 5}},
		{"WHERE s = CONCAT(?, 's') OR s = CONCAT('?', ?)", []any{"it'", ""}},
		{"WHERE id IN (SELECT id FROM (SELECT id FROM t WHERE n < ?) AS u) ORDER BY id LIMIT ?", []any{uint64(10), 3}},
		{"WHERE TRIM(LEADING ? FROM s) = ?", []any{"a", "%b"}},
		{"WHERE s LIKE ? ESCAPE '!' /* ? */ AND id < ? -- ?\n", []any{"a!%b", 10}},
		{"WHERE id > ? ORDER BY FIELD(id, ?, ?, ?) DESC, id LIMIT ?", []any{1, 5, 3, 4, 4}},
	}
	for _, tc := range []struct {
		mode    string
		clauses []clause
	}{
		{"", append([]clause{
			{`WHERE s = 'back\\slash' OR s = 'tab\tnl\n'`, nil},
			{`WHERE s LIKE 'a\%b' OR s = 'a\\%b'`, nil},
			{`WHERE s = "it\'s"`, nil},
		}, common...)},
		{"NO_BACKSLASH_ESCAPES", append([]clause{
			{`WHERE s = 'back\slash' OR s = 'a\%b'`, nil},
			{`WHERE s LIKE 'a\%b'`, nil},
		}, common...)},
		{"ANSI_QUOTES", []clause{
			{`WHERE "s" = 'q"x' OR "t"."s" = ?`, []any{"é😀"}},
		}},
	} {
		t.Run("mode "+tc.mode, func(t *testing.T) {
			conn, err := d.DB.Conn(ctx)
			noErr(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, "SET SESSION sql_mode = ?", tc.mode)
			noErr(t, err)
			p := New(Config{SQLMode: tc.mode})
			for _, c := range tc.clauses {
				q := "DELETE FROM t " + c.sql
				stmts, err := p.Parse(q)
				noErr(t, err)
				del, ok := stmts[0].(*Delete)
				is(t, ok, "%q: %s", q, dump(stmts))
				want := selectIDs(t, conn, "SELECT id FROM t "+c.sql, c.args)
				restored := del.Select("id") + " FOR UPDATE"
				var bound []any
				for _, i := range del.Args() {
					bound = append(bound, c.args[i])
				}
				got := selectIDs(t, conn, restored, bound)
				if !slices.Equal(want, got) {
					t.Errorf("%s\nrestored %s\nargs %v\nwant rows %v, got %v", q, restored, bound, want, got)
				}
				is(t, len(want) > 0, "%q selects no row: the case tests nothing", q)
			}
		})
	}
}

func selectIDs(t *testing.T, conn *sql.Conn, q string, args []any) []int {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		noErr(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	noErr(t, rows.Err())
	if !strings.Contains(q, "ORDER BY") {
		slices.Sort(ids)
	}
	return ids
}

package sqlparse

import "testing"

// TestClausesKeepOriginalText: every clause the executor builds SQL from is
// the query's own text, byte for byte, so no literal is re-rendered (the
// parser restores b'0000000001000001' as b'1000001', which selects other
// VARBINARY rows).
func TestClausesKeepOriginalText(t *testing.T) {
	where := []string{
		"vb = b'0000000001000001'",
		"vb = X'0041' OR vb = 0x0041",
		"s = _utf8mb4'é' COLLATE utf8mb4_bin OR s = _binary'a\\'b' OR s = N'x''y'",
		"s = 'back\\\\slash' AND s <> '\\''",
		"n = 123456789012345678901234567890.000000000000000000001 AND d = DATE '2024-02-29' AND ts = TIMESTAMP '2024-01-01 00:00:00.000001'",
		"a IN (SELECT b FROM u WHERE c = 1 ORDER BY d LIMIT 1) AND e = ?",
	}
	for _, w := range where {
		for _, q := range []string{
			"UPDATE t SET v = v + 1 WHERE " + w + " ORDER BY id LIMIT 3",
			"DELETE FROM t WHERE " + w + " ORDER BY id LIMIT 3",
			"SELECT id FROM t WHERE " + w + " ORDER BY id LIMIT 3 FOR UPDATE",
		} {
			got, err := Parse(q)
			noErr(t, err)
			sc := scopeOf(got[0])
			if sc == nil {
				t.Fatalf("%q: %s", q, dump(got[0]))
			}
			eq(t, w, sc.Where.SQL)
			eq(t, "id", sc.OrderBy.SQL)
			eq(t, "3", sc.Limit.SQL)
			eq(t, "t", sc.TableRefs.SQL)
		}
	}
}

func TestClauseCuts(t *testing.T) {
	cases := []struct {
		q, head, refs, where, order, limit string
	}{
		{q: "UPDATE t USE INDEX FOR ORDER BY (k) SET a = 1 WHERE b = 2 ORDER BY c LIMIT 1",
			head: "UPDATE t USE INDEX FOR ORDER BY (k) SET a = 1", refs: "t USE INDEX FOR ORDER BY (k)", where: "b = 2", order: "c", limit: "1"},
		{q: "DELETE FROM t WHERE a = 1 -- trailing comment",
			head: "DELETE FROM t", refs: "t", where: "a = 1"},
		{q: "DELETE /*+ hint */ QUICK FROM t /* c */ WHERE a = 1 # x\n ORDER BY b",
			head: "DELETE /*+ hint */ QUICK FROM t", refs: "t", where: "a = 1", order: "b"},
		{q: "DELETE t1 FROM t1 JOIN t2 USING (id) WHERE t2.k = 1",
			head: "DELETE t1 FROM t1 JOIN t2 USING (id)", refs: "t1 JOIN t2 USING (id)", where: "t2.k = 1"},
		{q: "DELETE FROM t1 USING t1 JOIN t2 USING (id)",
			head: "DELETE FROM t1 USING t1 JOIN t2 USING (id)", refs: "t1 JOIN t2 USING (id)"},
		{q: "SELECT a FROM t FORCE INDEX FOR GROUP BY (k) WHERE b = 1 GROUP BY a HAVING COUNT(*) > 1 ORDER BY a LIMIT 2 FOR UPDATE",
			refs: "t FORCE INDEX FOR GROUP BY (k)", where: "b = 1", order: "a", limit: "2"},
		{q: "UPDATE t SET a = ? /*!50000 , b = ? */ WHERE id = ?",
			head: "UPDATE t SET a = ? /*!50000 , b = ? */", refs: "t", where: "id = ?"},
	}
	for _, c := range cases {
		got, err := Parse(c.q)
		noErr(t, err)
		sc := scopeOf(got[0])
		if sc == nil {
			t.Fatalf("%q: %s", c.q, dump(got[0]))
		}
		switch s := got[0].(type) {
		case *Update:
			eq(t, c.head, s.Head.SQL)
		case *Delete:
			eq(t, c.head, s.Head.SQL)
		}
		eq(t, c.refs, sc.TableRefs.SQL)
		eq(t, c.where, sc.Where.SQL)
		eq(t, c.order, sc.OrderBy.SQL)
		eq(t, c.limit, sc.Limit.SQL)
	}
	// A clause that begins inside an executable comment cannot be cut.
	got, err := Parse("UPDATE t SET a = 1 /*!50000 WHERE id = 2 */")
	noErr(t, err)
	if o, ok := got[0].(*Other); !ok || o.Class != ClassUnsupported {
		t.Fatalf("got %s", dump(got[0]))
	}
}

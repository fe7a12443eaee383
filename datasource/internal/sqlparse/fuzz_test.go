package sqlparse

import (
	"errors"
	"testing"
)

// fuzzExtraSeeds add shapes the table does not have.
var fuzzExtraSeeds = []string{
	"UPDATE t SET a = ? WHERE (a, b) IN ((?, ?), (?, ?)) AND c IS NOT TRUE AND d = BINARY ? AND e = ~? AND NOT ?",
	"DELETE FROM t WHERE a = CAST(? AS UNSIGNED) AND b = CONVERT(? USING utf8mb4) AND JSON_CONTAINS(c, ?) AND ? BETWEEN d AND e",
	"UPDATE t SET a = ADDDATE(a, ?), b = TIMESTAMPADD(MINUTE, ?, b), c = IF(? > 0, ?, NULL), d = COALESCE(?, d) WHERE id = ?",
	"SELECT * FROM t WHERE a = (SELECT MAX(b) FROM u WHERE u.c = t.c AND u.d > ? LIMIT ?) FOR UPDATE",
	"INSERT INTO t (a, b) VALUES (?, (SELECT MAX(b) FROM u WHERE c = ?)) ON DUPLICATE KEY UPDATE b = IF(VALUES(b) > b, VALUES(b), ?)",
	"UPDATE t SET j = JSON_SET(j, '$.a', ?), k = k->>'$.b' WHERE MATCH (x) AGAINST (? IN BOOLEAN MODE)",
	"SELECT a FROM t WHERE b = ? GROUP BY a HAVING COUNT(*) > ? ORDER BY a LIMIT ? FOR UPDATE",
	"UPDATE t SET a = ? WHERE b = 'a''b' AND c = \"x\\\"y\" AND d = `e``f` /* ? */ AND g = ? -- ?",
	"INSERT INTO t VALUES (?, x'0a', b'1', 0x1F, .5, 5., 1.e2, 'x' COLLATE utf8mb4_bin, _utf8mb4'y', DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05.123456')",
	"UPDATE t SET a = ? ;; DELETE FROM u WHERE b = ? ; SELECT ? ; COMMIT",
	"INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = VALUES(a) RETURNING id, a /* ? */; DELETE FROM t WHERE a = ? RETURNING *",
}

// FuzzParse checks that Parse never panics, fails only with a *ParseError,
// and that every successful result keeps the invariants (see
// checkInvariants): arg ranges partition the placeholders, fragments
// re-parse to the same text and binding, and bindings agree with a parse of
// the query with numbers in place of the placeholders.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.sql)
	}
	for _, q := range fuzzExtraSeeds {
		f.Add(q)
	}
	p := New(Config{CacheSize: -1})
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 4096 {
			return
		}
		stmts, err := p.Parse(q)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, not a *ParseError", err, err)
			}
			return
		}
		if msg := checkInvariants(p, q, stmts); msg != "" {
			t.Fatalf("%q: %s\n%s", q, msg, dump(stmts))
		}
	})
}

// The extra seeds must themselves parse and keep the invariants, so a
// regression shows in a plain test run.
func TestFuzzExtraSeeds(t *testing.T) {
	p := New(Config{CacheSize: -1})
	for _, q := range fuzzExtraSeeds {
		stmts, err := p.Parse(q)
		noErr(t, err)
		for _, s := range stmts {
			if o, ok := s.(*Other); ok && o.Class == ClassUnsupported {
				t.Fatalf("%q: unsupported: %s", q, o.Reason)
			}
		}
		eq(t, "", checkInvariants(p, q, stmts), q)
	}
}

package sqlparse

import (
	"testing"
)

// RETURNING (MariaDB 10.5+), which the parser does not know, is cut from
// INSERT, REPLACE and DELETE and kept as the statement's Returning; the
// statement text keeps it, so that the statement runs as written.
func TestReturning(t *testing.T) {
	cases := []struct {
		query     string
		texts     []string
		returning []string
		reasons   []string // "" where the statement is supported
	}{
		{"INSERT INTO `items` (`name`) VALUES (?) RETURNING `id`",
			[]string{"INSERT INTO `items` (`name`) VALUES (?) RETURNING `id`"}, []string{"`id`"}, []string{""}},
		{"replace into t values (1, 'returning') returning id, v;",
			[]string{"replace into t values (1, 'returning') returning id, v"}, []string{"id, v"}, []string{""}},
		{"DELETE FROM t WHERE id = ? RETURNING *; INSERT INTO t (id) VALUES (?) RETURNING id",
			[]string{"DELETE FROM t WHERE id = ? RETURNING *", "INSERT INTO t (id) VALUES (?) RETURNING id"},
			[]string{"*", "id"}, []string{"", ""}},
		{"INSERT INTO t (id) VALUES (1) /* RETURNING x */", []string{"INSERT INTO t (id) VALUES (1) /* RETURNING x */"},
			[]string{""}, []string{""}},
		{"SELECT `returning` FROM t", []string{"SELECT `returning` FROM t"}, []string{""}, []string{""}},
		{"DELETE FROM t WHERE t.returning = @returning", []string{"DELETE FROM t WHERE t.returning = @returning"},
			[]string{""}, []string{""}},
		{"INSERT INTO t (id) VALUES (1) RETURNING id + ?", nil, nil, []string{"a placeholder in RETURNING"}},
		{"DELETE t FROM t JOIN u ON t.id = u.id RETURNING t.id", nil, nil, []string{"multi-table DELETE ... RETURNING"}},
	}
	for _, tc := range cases {
		stmts, err := Parse(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if len(stmts) != len(tc.reasons) {
			t.Fatalf("%s: %d statements", tc.query, len(stmts))
		}
		for i, s := range stmts {
			if o, ok := s.(*Other); ok && o.Class == ClassUnsupported {
				if o.Reason != tc.reasons[i] {
					t.Errorf("%s: reason %q, want %q", tc.query, o.Reason, tc.reasons[i])
				}
				continue
			}
			if tc.reasons[i] != "" {
				t.Errorf("%s: supported, want %q", tc.query, tc.reasons[i])
				continue
			}
			if s.Text() != tc.texts[i] || s.Returning() != tc.returning[i] {
				t.Errorf("%s: statement %d text %q returning %q", tc.query, i, s.Text(), s.Returning())
			}
		}
	}
}

package sqlparse

import (
	"strings"
	"testing"
)

func TestScanMarks(t *testing.T) {
	type mode struct{ ansi, nbe bool }
	for _, tc := range []struct {
		q       string
		mode    mode
		want    string // '^' under each placeholder
		foreign []int
	}{
		{q: "a=? AND b=?", want: "  ^       ^"},
		{q: "'?' ? \"?\" `?` ?", want: "    ^         ^"},
		{q: `'a\'?' ?`, want: `       ^`},
		{q: `'a\'?' ?`, mode: mode{nbe: true}, want: `    ^   `},
		{q: `"a\"?" ?`, mode: mode{ansi: true}, want: `    ^   `},
		{q: `"a\"?" ?`, want: `       ^`},
		{q: "'it''s ?' ?", want: "          ^"},
		{q: "`a``?` ?", want: "       ^"},
		{q: "# ?\n?", want: "    ^"},
		{q: "-- ?\n?", want: "     ^"},
		{q: "--?\n?", want: "  ^ ^"}, // "--" needs a space to start a comment
		{q: "?--", want: "^"},
		{q: "/* ? */ ?", want: "        ^"},
		{q: "/**/?", want: "    ^"},
		{q: "/*+ HINT(?) */ ?", want: "               ^"},
		{q: "/*! ? */ ?", want: "    ^    ^"},
		{q: "/*!50000 ? */ ?", want: "         ^    ^"},
		{q: "/*! a /* ? */ ? */ ?", want: "              ^    ^"},
		{q: "/*M!100000 ? */ ?", want: "           ^    ^", foreign: []int{0}},
		{q: "/*T![x] ? */ ?", want: "             ^", foreign: []int{0}},
		{q: "/* unterminated ?", want: ""},
		{q: "'unterminated ?", want: ""},
		{q: "x'4?'", want: ""},
		{q: "'\x00' `\x00` /* \x00 */ ?", want: "                ^"},
	} {
		m := scanMarks(tc.q, tc.mode.ansi, tc.mode.nbe)
		var b []byte
		for _, at := range m.at {
			for len(b) < at {
				b = append(b, ' ')
			}
			b = append(b, '^')
		}
		eq(t, strings.TrimRight(tc.want, " "), string(b), tc.q)
		eq(t, tc.foreign, m.foreign, tc.q+" foreign")
		eq(t, -1, m.nul, tc.q+" nul")
	}
}

func TestScanMarksNUL(t *testing.T) {
	eq(t, 3, scanMarks("a ?\x00 \x00", false, false).nul)
	eq(t, 5, scanMarks("/*! a\x00 */", false, false).nul)
}

func TestLexMarksRanges(t *testing.T) {
	m := scanMarks("? ? /*M! x */ ? ?", false, false)
	lo, hi := m.rangeOf(1, 9)
	is(t, lo == 1 && hi == 2, "rangeOf = [%d,%d)", lo, hi)
	eq(t, 3, m.index(16))
	eq(t, -1, m.index(1))
	is(t, m.hasForeign(4, 5), "foreign at 4")
	is(t, !m.hasForeign(5, 20), "no foreign after 4")
}

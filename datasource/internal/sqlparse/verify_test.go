package sqlparse

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// This file holds the invariant checks shared by the table test and the
// fuzz target. Each returns a description of the first violation, or "".

// roleFragment is a fragment with a name saying where it came from.
type roleFragment struct {
	role string
	f    Fragment
}

// fragmentsOf returns every fragment of s, named by role.
func fragmentsOf(s Statement) []roleFragment {
	var out []roleFragment
	add := func(role string, f Fragment) {
		if f.SQL != "" || len(f.Args) > 0 {
			out = append(out, roleFragment{role, f})
		}
	}
	values := func(prefix string, as []Assignment) {
		for i, a := range as {
			if a.Value.Kind == ValueExpr {
				add(fmt.Sprintf("%s[%d]", prefix, i), a.Value.Expr)
			}
		}
	}
	switch s := s.(type) {
	case *Insert:
		for i, row := range s.Rows {
			for j, v := range row {
				if v.Kind == ValueExpr {
					add(fmt.Sprintf("row[%d][%d]", i, j), v.Expr)
				}
			}
		}
		values("dup", s.OnDuplicate)
	case *Update:
		values("set", s.Set)
	}
	switch s := s.(type) {
	case *Update:
		add("head", s.Head)
	case *Delete:
		add("head", s.Head)
	}
	if sc := scopeOf(s); sc != nil {
		add("refs", sc.TableRefs)
		add("where", sc.Where)
		add("order", sc.OrderBy)
		add("limit", sc.Limit)
	}
	return out
}

// cutRoles are the fragments cut from the original text.
var cutRoles = map[string]bool{"head": true, "refs": true, "where": true, "order": true, "limit": true}

// argValues returns the arg-kind values of s, named like fragments.
func argValuesOf(s Statement) map[string]Value {
	out := map[string]Value{}
	put := func(role string, v Value) {
		if v.Kind == ValueArg || v.Kind == ValueLiteral {
			out[role] = v
		}
	}
	switch s := s.(type) {
	case *Insert:
		for i, row := range s.Rows {
			for j, v := range row {
				put(fmt.Sprintf("row[%d][%d]", i, j), v)
			}
		}
		for i, a := range s.OnDuplicate {
			put(fmt.Sprintf("dup[%d]", i), a.Value)
		}
	case *Update:
		for i, a := range s.Set {
			put(fmt.Sprintf("set[%d]", i), a.Value)
		}
	}
	return out
}

// checkInvariants checks what must hold for any successful parse of query
// under p: arg ranges partition the placeholders in order, every fragment's
// args lie in its statement's range and match its "?" count, every fragment
// re-parses to the same text with the same arg binding, and binding agrees
// with a parse of the query with each placeholder replaced by a distinct
// number.
func checkInvariants(p *Parser, query string, stmts []Statement) string {
	m := scanMarks(query, p.mode.ansiQuotes, p.mode.noBackslash)
	next := 0
	for i, s := range stmts {
		lo, hi := s.ArgRange()
		if lo != next || hi < lo {
			return fmt.Sprintf("statement %d: arg range [%d,%d) does not follow %d", i, lo, hi, next)
		}
		next = hi
		for _, rf := range fragmentsOf(s) {
			for _, a := range rf.f.Args {
				if a < lo || a >= hi {
					return fmt.Sprintf("statement %d %s: arg %d outside [%d,%d)", i, rf.role, a, lo, hi)
				}
			}
			if n := len(scanMarks(rf.f.SQL, p.mode.ansiQuotes, p.mode.noBackslash).at); n != len(rf.f.Args) {
				return fmt.Sprintf("statement %d %s: %q has %d placeholders, %d args", i, rf.role, rf.f.SQL, n, len(rf.f.Args))
			}
		}
		if msg := checkReparse(p, s); msg != "" {
			return fmt.Sprintf("statement %d: %s", i, msg)
		}
	}
	if next != len(m.at) {
		return fmt.Sprintf("arg ranges end at %d, query has %d placeholders", next, len(m.at))
	}
	return checkSubstitution(p, query, m, stmts)
}

// checkReparse re-parses the statement's fragments in the shape the
// executor uses and checks they restore to the same text and bind the
// same args.
func checkReparse(p *Parser, s Statement) string {
	if sc := scopeOf(s); sc != nil {
		q := sc.Select("1") + " FOR UPDATE"
		got, err := p.Parse(q)
		if err != nil {
			return fmt.Sprintf("before image %q does not parse: %v", q, err)
		}
		if len(got) != 1 {
			return fmt.Sprintf("before image %q gives %d statements", q, len(got))
		}
		sel, ok := got[0].(*SelectForUpdate)
		if !ok {
			return fmt.Sprintf("before image %q parses as %s", q, dump(got[0]))
		}
		bound := sc.Args()
		for _, pair := range [][2]Fragment{{sc.TableRefs, sel.TableRefs}, {sc.Where, sel.Where}, {sc.OrderBy, sel.OrderBy}, {sc.Limit, sel.Limit}} {
			if msg := sameFragment(pair[0], pair[1], bound, 0); msg != "" {
				return "before image " + q + ": " + msg
			}
		}
	}
	for _, rf := range fragmentsOf(s) {
		if !strings.HasPrefix(rf.role, "row") && !strings.HasPrefix(rf.role, "set") && !strings.HasPrefix(rf.role, "dup") {
			continue
		}
		q := "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE c = " + rf.f.SQL
		got, err := p.Parse(q)
		if err != nil {
			return fmt.Sprintf("%s: %q does not parse: %v", rf.role, q, err)
		}
		ins, ok := got[0].(*Insert)
		if !ok || len(got) != 1 || len(ins.OnDuplicate) != 1 {
			return fmt.Sprintf("%s: %q parses as %+v", rf.role, q, got)
		}
		v := ins.OnDuplicate[0].Value
		switch v.Kind {
		case ValueExpr:
			if msg := sameFragment(rf.f, v.Expr, rf.f.Args, 0); msg != "" {
				return rf.role + ": " + msg
			}
		default:
			return fmt.Sprintf("%s: %q re-parses as %v", rf.role, rf.f.SQL, v.Kind)
		}
	}
	return ""
}

// sameFragment checks that re-parsed fragment g equals f: same text, and
// the k-th "?" of g binds, through bound (the original args of the
// wrapper's placeholders, offset by base), the same arg as f's k-th.
func sameFragment(f, g Fragment, bound []int, base int) string {
	if f.SQL != g.SQL {
		return fmt.Sprintf("restored %q, re-parsed %q", f.SQL, g.SQL)
	}
	if len(f.Args) != len(g.Args) {
		return fmt.Sprintf("%q: %d args, re-parsed %d", f.SQL, len(f.Args), len(g.Args))
	}
	for k := range f.Args {
		i := g.Args[k] - base
		if i < 0 || i >= len(bound) || bound[i] != f.Args[k] {
			return fmt.Sprintf("%q: placeholder %d binds %v, re-parsed binds wrapper arg %d (%v)", f.SQL, k, f.Args, g.Args[k], bound)
		}
	}
	return ""
}

// scopeOf returns the Scope of an UPDATE, DELETE or locking SELECT.
func scopeOf(s Statement) *Scope {
	switch s := s.(type) {
	case *Update:
		return &s.Scope
	case *Delete:
		return &s.Scope
	case *SelectForUpdate:
		return &s.Scope
	}
	return nil
}

// substBase is the first number placeholders are replaced with.
const substBase = 1000000

// substitute replaces the placeholders at the offsets by distinct numbers,
// padded with spaces if pad (so they cannot merge with a neighbour token).
func substitute(q string, at []int, pad bool, number func(k int) int) string {
	var b strings.Builder
	prev := 0
	for k, off := range at {
		b.WriteString(q[prev:off])
		if pad {
			// No space after '-': "- -?" must not become the comment "-- 1".
			if off == 0 || q[off-1] != '-' {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(number(k)) + " ")
		} else {
			b.WriteString(strconv.Itoa(number(k)))
		}
		prev = off + 1
	}
	b.WriteString(q[prev:])
	return b.String()
}

// checkSubstitution parses query with its i-th placeholder replaced by the
// number substBase+i and checks each fragment of the original, with its
// k-th "?" replaced by substBase+Args[k], restores to the same text: so
// every "?" binds the arg that was written at its place.
func checkSubstitution(p *Parser, query string, m lexMarks, stmts []Statement) string {
	if len(m.at) == 0 {
		return ""
	}
	lit, err := p.Parse(substitute(query, m.at, true, func(k int) int { return substBase + k }))
	if err != nil || len(lit) != len(stmts) {
		return "" // numbers are not valid everywhere a "?" is
	}
	for i, s := range stmts {
		if reflect.TypeOf(s) != reflect.TypeOf(lit[i]) {
			continue
		}
		want := map[string]Fragment{}
		for _, rf := range fragmentsOf(lit[i]) {
			want[rf.role] = rf.f
		}
		for _, rf := range fragmentsOf(s) {
			w, ok := want[rf.role]
			if !ok {
				continue // e.g. "-?" became the literal -1000000
			}
			fm := scanMarks(rf.f.SQL, p.mode.ansiQuotes, p.mode.noBackslash)
			var got string
			if cutRoles[rf.role] {
				// Cut from the text: substituting into the clause gives
				// the clause of the substituted query.
				got = strings.TrimSpace(substitute(rf.f.SQL, fm.at, true, func(k int) int { return substBase + rf.f.Args[k] }))
			} else {
				got = substitute(rf.f.SQL, fm.at, false, func(k int) int { return substBase + rf.f.Args[k] })
			}
			if got != w.SQL {
				return fmt.Sprintf("statement %d %s: %q with args %v is %q, the substituted parse restores %q", i, rf.role, rf.f.SQL, rf.f.Args, got, w.SQL)
			}
		}
		litVals := argValuesOf(lit[i])
		for role, v := range argValuesOf(s) {
			if v.Kind != ValueArg {
				continue
			}
			lv, ok := litVals[role]
			if !ok || lv.Kind != ValueLiteral || lv.Literal != int64(substBase+v.Arg) {
				return fmt.Sprintf("statement %d %s: arg %d, the substituted parse has %+v", i, role, v.Arg, lv)
			}
		}
	}
	return ""
}

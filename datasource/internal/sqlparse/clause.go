package sqlparse

import (
	"strings"
	"unicode"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Clauses of UPDATE, DELETE and locking SELECT are cut from the original
// query text, never restored from the AST: the parser's Restore writes some
// literals differently from how they were written (b'0000000001000001' as
// b'1000001', which as a VARBINARY compares differently), and the text
// the server runs must pick exactly the rows the user's own text picks.
//
// The cut is lexical. A statement is read as tokens (words, quoted strings
// and identifiers, punctuation), skipping comments, with the parenthesis
// depth of each; a clause begins at a reserved word at depth 0 (WHERE,
// ORDER, LIMIT, SET, FROM, USING, ...), which cannot occur at depth 0
// anywhere else in these statements: expressions that hold such words
// (subqueries, GROUP_CONCAT(... ORDER BY ...), window specifications,
// SUBSTRING(x FROM 1)) are parenthesised. The parser's own view is checked
// against the cut: every placeholder of an AST clause must fall in the
// clause's text, and each optional clause is present in both or neither.

// token is one lexical token of a statement.
type token struct {
	start, end int  // byte range in the query
	depth      int  // parenthesis depth before the token
	word       bool // an unquoted word: keyword, identifier, number
}

// is reports whether t is the word w (ASCII, case-insensitive).
func (t token) is(q, w string) bool {
	return t.word && t.end-t.start == len(w) && strings.EqualFold(q[t.start:t.end], w)
}

// tokens splits q[start:end] into tokens. ok is false when an executable
// comment ("/*!", "/*M!") or an unbalanced parenthesis makes a lexical cut
// unsafe; bang reports where executable comments open and close so that a
// cut never splits one.
func (b *builder) tokens(start, end int) (toks []token, bang [][2]int, ok bool) {
	q := b.parsed[:end]
	depth := 0
	open := -1 // start of the executable comment being read
	for i := start; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			i = skipLine(q, i)
		case c == '-' && strings.HasPrefix(q[i:], "--") && (len(q) == i+2 || unicode.IsSpace(rune(q[i+2]))):
			i = skipLine(q, i)
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			if strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!") {
				if open >= 0 {
					return nil, nil, false
				}
				open = i
				i += 3
				if q[i-1] != '!' {
					i++
				}
				for i < len(q) && q[i] >= '0' && q[i] <= '9' {
					i++
				}
				continue
			}
			e := strings.Index(q[i+2:], "*/")
			if e < 0 {
				return nil, nil, false
			}
			i += 2 + e + 2
		case c == '*' && open >= 0 && strings.HasPrefix(q[i:], "*/"):
			bang = append(bang, [2]int{open, i + 2})
			open = -1
			i += 2
		case c == '\'':
			j := skipQuoted(q, i, '\'', !b.mode.noBackslash)
			toks = append(toks, token{start: i, end: j, depth: depth})
			i = j
		case c == '"':
			j := skipQuoted(q, i, '"', !b.mode.noBackslash && !b.mode.ansiQuotes)
			toks = append(toks, token{start: i, end: j, depth: depth})
			i = j
		case c == '`':
			j := skipQuoted(q, i, '`', false)
			toks = append(toks, token{start: i, end: j, depth: depth})
			i = j
		case c == '(':
			toks = append(toks, token{start: i, end: i + 1, depth: depth})
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, nil, false
			}
			toks = append(toks, token{start: i, end: i + 1, depth: depth})
			i++
		case c == ';' && depth == 0:
			if len(toks) > 0 {
				i = len(q) // the statement ends here
			} else {
				i++ // an empty statement before it
			}
		case isWordByte(c):
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			toks = append(toks, token{start: i, end: j, depth: depth, word: true})
			i = j
		default:
			toks = append(toks, token{start: i, end: i + 1, depth: depth})
			i++
		}
	}
	if depth != 0 || open >= 0 {
		return nil, nil, false
	}
	return toks, bang, true
}

// clauseCut is a statement read as tokens, for cutting clauses.
type clauseCut struct {
	b    *builder
	toks []token
	bang [][2]int
}

// find returns the index of the first token at depth 0 from i on that is
// one of words, or len(toks). The FOR JOIN, FOR ORDER BY and FOR GROUP BY
// of an index hint are not clauses.
func (c *clauseCut) find(i int, words ...string) int {
	q := c.b.parsed
	for ; i < len(c.toks); i++ {
		t := c.toks[i]
		if t.depth != 0 || !t.word {
			continue
		}
		if t.is(q, "FOR") && (c.at(i+1, "JOIN") || c.at(i+1, "ORDER") || c.at(i+1, "GROUP")) {
			continue
		}
		if (t.is(q, "ORDER") || t.is(q, "GROUP") || t.is(q, "JOIN")) && i > 0 && c.toks[i-1].is(q, "FOR") {
			continue
		}
		for _, w := range words {
			if t.is(q, w) {
				return i
			}
		}
	}
	return len(c.toks)
}

// at reports whether token i is the word w.
func (c *clauseCut) at(i int, w string) bool {
	return i < len(c.toks) && c.toks[i].is(c.b.parsed, w)
}

// span returns the original text of tokens [i, j) as a Fragment, with the
// arg indexes of its placeholders; ok is false when the span would split an
// executable comment. An empty span gives the zero Fragment.
func (c *clauseCut) span(i, j int) (Fragment, bool) {
	if i >= j {
		return Fragment{}, true
	}
	start, end := c.toks[i].start, c.toks[j-1].end
	for _, r := range c.bang {
		if r[0] < start && r[1] > start {
			return Fragment{}, false // the span begins inside one
		}
		if r[0] < end && r[1] > end {
			end = r[1] // the span ends inside one: take its "*/" too
		}
	}
	f := Fragment{SQL: c.b.parsed[start:end]}
	lo, hi := c.b.marks.rangeOf(start, end)
	if hi > lo {
		f.Args = make([]int, hi-lo)
		for k := range f.Args {
			f.Args[k] = lo + k
		}
	}
	return f, true
}

// cutter reads the statement spanning query[start:end] as tokens.
func (b *builder) cutter(start, end int) (*clauseCut, error) {
	toks, bang, ok := b.tokens(start, end)
	if !ok {
		return nil, unsupported("clauses cannot be cut from the text (unbalanced parentheses or executable comments)")
	}
	return &clauseCut{b: b, toks: toks, bang: bang}, nil
}

// filterCut cuts WHERE, ORDER BY and LIMIT from token i on, where the
// statement's WHERE (if any) or its ORDER BY or LIMIT begins; stop lists
// the words that end a WHERE clause besides ORDER and LIMIT (a locking
// SELECT's GROUP, HAVING, FOR...); clauses between WHERE and ORDER BY
// that begin with a word not in stop (GROUP BY, HAVING) are skipped. It
// returns the index where the last clause ends.
func (c *clauseCut) filterCut(i int, hasWhere, hasOrder, hasLimit bool, sc *Scope, stop ...string) (int, error) {
	bad := unsupported("WHERE, ORDER BY and LIMIT cannot be cut from the text")
	ends := append([]string{"ORDER", "LIMIT"}, stop...)
	var ok bool
	if c.at(i, "WHERE") != hasWhere {
		return 0, bad
	}
	if hasWhere {
		j := c.find(i+1, ends...)
		if sc.Where, ok = c.span(i+1, j); !ok || sc.Where.SQL == "" {
			return 0, bad
		}
		i = j
	}
	if i = c.find(i, "ORDER", "LIMIT"); c.at(i, "ORDER") != hasOrder {
		return 0, bad
	}
	if hasOrder {
		if !c.at(i+1, "BY") {
			return 0, bad
		}
		j := c.find(i+2, ends[1:]...)
		if sc.OrderBy, ok = c.span(i+2, j); !ok || sc.OrderBy.SQL == "" {
			return 0, bad
		}
		i = j
	}
	if c.at(i, "LIMIT") != hasLimit {
		return 0, bad
	}
	if hasLimit {
		j := c.find(i+1, stop...)
		if sc.Limit, ok = c.span(i+1, j); !ok || sc.Limit.SQL == "" {
			return 0, bad
		}
		i = j
	}
	return i, nil
}

// within checks that every placeholder of the AST nodes was bound to an
// arg of f: the parser and the cut agree on where the clause is.
func (b *builder) within(f Fragment, nodes ...ast.Node) error {
	v := markerIndexes{}
	for _, n := range nodes {
		if n != nil {
			n.Accept(&v)
		}
	}
	for _, i := range v.idx {
		if len(f.Args) == 0 || i < f.Args[0] || i > f.Args[len(f.Args)-1] {
			return unsupported("a clause cut from the text does not hold the placeholders the parser found in it")
		}
	}
	return nil
}

// markerIndexes collects the arg indexes of the bound placeholders of the
// nodes it visits.
type markerIndexes struct{ idx []int }

func (v *markerIndexes) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*argMarker); ok {
		v.idx = append(v.idx, m.index)
		return n, true
	}
	return n, false
}

func (v *markerIndexes) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// skipWords returns the index of the first token from i on that is not one
// of words.
func (c *clauseCut) skipWords(i int, words ...string) int {
	for i < len(c.toks) {
		skip := false
		for _, w := range words {
			if c.at(i, w) {
				skip = true
				break
			}
		}
		if !skip {
			return i
		}
		i++
	}
	return i
}

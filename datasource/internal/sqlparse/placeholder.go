package sqlparse

import (
	"strings"
	"unicode"
)

// lexMarks is what the placeholder scan finds in a query.
type lexMarks struct {
	// at holds the byte offset of every "?" placeholder, ascending: the
	// index of an offset in at is the placeholder's global arg index.
	at []int
	// foreign holds the byte offsets of "/*M!" and "/*T!" comments: the
	// servers and the parser disagree on what they contain (MariaDB runs
	// "/*M! ... */", the parser skips it; the parser may run "/*T! ... */",
	// the servers skip it).
	foreign []int
	// nul is the offset of the first NUL byte outside literals and
	// comments, or -1. The parser takes such a byte for the end of the
	// query in some places and would silently drop the rest.
	nul int
	// returning holds, ascending, the RETURNING clauses (MariaDB) of
	// INSERT, REPLACE and DELETE statements: from the keyword to the
	// statement's end. The parser knows no RETURNING; parse blanks these
	// spans before it parses.
	returning []span
}

// span is the half-open byte range [start, end) of a query.
type span struct{ start, end int }

// scanMarks finds the placeholders of query the way the server's lexer
// does: a "?" outside string literals, quoted identifiers and comments, and
// inside executable comments "/*! ... */" (and "/*M! ... */", which
// MariaDB runs). It mirrors the parser's lexer rules for comments ("#",
// "-- " and "--" at the end, "/* */") and quoting (doubled quotes, and
// backslash escapes in strings unless noBackslash).
//
// The parser's placeholders are checked against this list, so a parser
// that missed a "?" (or saw one the server would not) is detected instead of
// shifting every later argument.
func scanMarks(q string, ansiQuotes, noBackslash bool) lexMarks {
	m := lexMarks{nul: -1}
	m.scan(q, ansiQuotes, noBackslash)
	return m
}

// scan appends the placeholders and foreign comments of q to m.
func (m *lexMarks) scan(q string, ansiQuotes, noBackslash bool) {
	inBang := false
	// The statement being scanned: its first word, the depth of
	// parentheses, and the start of its RETURNING clause (-1: none).
	first, depth, ret := "", 0, -1
	endStatement := func(at int) {
		if ret >= 0 {
			m.returning = append(m.returning, span{ret, at})
		}
		first, depth, ret = "", 0, -1
	}
	for i := 0; i < len(q); {
		switch c := q[i]; c {
		case '(':
			depth++
			i++
		case ')':
			depth--
			i++
		case ';':
			if !inBang {
				endStatement(i)
			}
			i++
		case '?':
			m.at = append(m.at, i)
			i++
		case 0:
			if m.nul < 0 {
				m.nul = i
			}
			i++
		case '\'':
			i = skipQuoted(q, i, '\'', !noBackslash)
		case '"':
			i = skipQuoted(q, i, '"', !noBackslash && !ansiQuotes)
		case '`':
			i = skipQuoted(q, i, '`', false)
		case '#':
			i = skipLine(q, i)
		case '-':
			if strings.HasPrefix(q[i:], "--") && (len(q) == i+2 || unicode.IsSpace(rune(q[i+2]))) {
				i = skipLine(q, i)
			} else {
				i++
			}
		case '*':
			if inBang && i+1 < len(q) && q[i+1] == '/' {
				inBang = false
				i += 2
			} else {
				i++
			}
		case '/':
			if i+1 >= len(q) || q[i+1] != '*' {
				i++
				break
			}
			switch {
			case strings.HasPrefix(q[i+2:], "!"):
				// Executable comment: the content is code. Like the
				// parser, skip a 5-digit version number.
				i += 3
				if i+5 <= len(q) && allDigits(q[i:i+5]) {
					i += 5
				}
				inBang = true
			case strings.HasPrefix(q[i+2:], "M!"):
				m.foreign = append(m.foreign, i)
				i += 4
				for i < len(q) && q[i] >= '0' && q[i] <= '9' {
					i++
				}
				inBang = true
			default:
				if strings.HasPrefix(q[i+2:], "T!") {
					m.foreign = append(m.foreign, i)
				}
				// Plain comment (and optimizer hints): skip to "*/".
				if end := strings.Index(q[i+2:], "*/"); end >= 0 {
					i += 2 + end + 2
				} else {
					i = len(q)
				}
			}
		default:
			if !isWordByte(c) || (i > 0 && isWordByte(q[i-1])) {
				i++
				break
			}
			j := i + 1
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			switch w := q[i:j]; {
			case first == "":
				first = strings.ToUpper(w)
			case depth == 0 && ret < 0 && !inBang && strings.EqualFold(w, "RETURNING") &&
				(first == "INSERT" || first == "REPLACE" || first == "DELETE") &&
				(i == 0 || (q[i-1] != '.' && q[i-1] != '@')): // not t.returning, @returning
				ret = i
			}
			i = j
		}
	}
	endStatement(len(q))
}

// isWordByte reports whether c can be part of an unquoted identifier or
// keyword.
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// skipQuoted returns the offset just past the quoted token starting at
// q[i] == quote. A doubled quote stands for itself; with backslash, "\x"
// is an escape.
func skipQuoted(q string, i int, quote byte, backslash bool) int {
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if backslash {
				j++
			}
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(q)
}

func skipLine(q string, i int) int {
	if n := strings.IndexByte(q[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(q)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rangeOf returns the half-open range of indexes of the offsets in
// [start, end).
func (m *lexMarks) rangeOf(start, end int) (lo, hi int) {
	lo = lowerBound(m.at, start)
	hi = lowerBound(m.at, end)
	return lo, hi
}

// index returns the arg index of the placeholder at byte offset off, or -1.
func (m *lexMarks) index(off int) int {
	i := lowerBound(m.at, off)
	if i < len(m.at) && m.at[i] == off {
		return i
	}
	return -1
}

func (m *lexMarks) hasForeign(start, end int) bool {
	i := lowerBound(m.foreign, start)
	return i < len(m.foreign) && m.foreign[i] < end
}

// lowerBound returns the first index i with a[i] >= v.
func lowerBound(a []int, v int) int {
	lo, hi := 0, len(a)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if a[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

package sqlparse

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	// The parser needs a value-expression driver to build literals and
	// placeholders; test_driver is the one inside the parser module (the
	// other lives in TiDB itself). Its init registers constructors in the
	// parser's ast package.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/atcc-go/atcc/internal/clockcache"
)

// DefaultCacheSize is the number of parse results a Parser keeps when
// Config.CacheSize is 0.
const DefaultCacheSize = 1024

// maxCachedQuery is the longest query a Parser caches: longer ones (bulk
// INSERTs built with literals) rarely repeat and would pin memory.
const maxCachedQuery = 16 << 10

// Config configures a Parser.
type Config struct {
	// CacheSize is the number of distinct query texts whose results are
	// kept. 0 means DefaultCacheSize; a negative value disables the cache.
	// Queries longer than 16 KiB are never cached.
	CacheSize int
	// SQLMode is the sql_mode of the sessions the queries run in, as
	// @@sql_mode shows it (comma-separated). "" means the server default.
	// Only the modes that change how SQL is lexed or parsed matter:
	// ANSI_QUOTES, NO_BACKSLASH_ESCAPES, PIPES_AS_CONCAT,
	// HIGH_NOT_PRECEDENCE, IGNORE_SPACE (and the combinations that include
	// them, such as ANSI), and MariaDB's EMPTY_STRING_IS_NULL; other names
	// are ignored. Restored fragments are valid in that same mode.
	SQLMode string
}

// Parser parses queries for AT mode under one sql_mode and caches the
// results by query text. It is safe for concurrent use; results are shared
// between callers and must not be modified. The zero value is not usable:
// call New.
type Parser struct {
	mode  mode
	cache *clockcache.Cache[[]Statement] // nil when disabled
}

// mode is what the sql_mode changes for this package.
type mode struct {
	sqlMode           mysql.SQLMode
	ansiQuotes        bool
	noBackslash       bool
	emptyStringIsNull bool
	restoreFlags      format.RestoreFlags
}

// New returns a Parser for cfg. It does no I/O.
func New(cfg Config) *Parser {
	p := &Parser{mode: parseMode(cfg.SQLMode)}
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	if size > 0 {
		p.cache = clockcache.New[[]Statement](size)
	}
	return p
}

// Parse parses query, which may hold several statements separated by ';',
// and returns them in order. Placeholders are numbered across the whole
// query (the n-th "?" outside literals and comments has arg index n-1),
// which is how a driver binds args to a multi-statement query; each
// Statement's ArgRange gives its own share.
//
// A query with no statement (empty, or comments only) gives an empty result.
// A query the parser rejects gives a *ParseError. A statement that parses
// but that AT mode cannot handle is not an error: it is an *Other with
// ClassUnsupported and a reason, for the caller to decide.
//
// Results come from the cache when the same text was parsed before; they
// are shared and must not be modified.
func (p *Parser) Parse(query string) ([]Statement, error) {
	if p.cache == nil || len(query) > maxCachedQuery {
		return parse(query, &p.mode)
	}
	if stmts, ok := p.cache.Get(query); ok {
		return stmts, nil
	}
	// Parse a private copy: results hold substrings of the text, and the
	// caller's string may be part of a larger buffer.
	query = strings.Clone(query)
	stmts, err := parse(query, &p.mode)
	if err != nil {
		return nil, err
	}
	p.cache.Put(query, stmts)
	return stmts, nil
}

var defaultMode = parseMode("")

// Parse parses query under the server's default sql_mode, without a cache.
// See Parser.Parse.
func Parse(query string) ([]Statement, error) {
	return parse(query, &defaultMode)
}

// sqlModeAliases expands the combination modes that change parsing.
var sqlModeAliases = map[string][]string{
	"ANSI":       {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"DB2":        {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"MAXDB":      {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"MSSQL":      {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"ORACLE":     {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"POSTGRESQL": {"PIPES_AS_CONCAT", "ANSI_QUOTES", "IGNORE_SPACE"},
	"MYSQL323":   {"HIGH_NOT_PRECEDENCE"},
	"MYSQL40":    {"HIGH_NOT_PRECEDENCE"},
}

func parseMode(s string) mode {
	var m mode
	for _, name := range strings.Split(s, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		names := []string{name}
		if alias, ok := sqlModeAliases[name]; ok {
			names = alias
		}
		for _, n := range names {
			switch n {
			case "ANSI_QUOTES":
				m.sqlMode |= mysql.ModeANSIQuotes
				m.ansiQuotes = true
			case "NO_BACKSLASH_ESCAPES":
				m.sqlMode |= mysql.ModeNoBackslashEscapes
				m.noBackslash = true
			case "PIPES_AS_CONCAT":
				m.sqlMode |= mysql.ModePipesAsConcat
			case "HIGH_NOT_PRECEDENCE":
				m.sqlMode |= mysql.ModeHighNotPrecedence
			case "IGNORE_SPACE":
				m.sqlMode |= mysql.ModeIgnoreSpace
			case "EMPTY_STRING_IS_NULL":
				m.emptyStringIsNull = true
			}
		}
	}
	m.restoreFlags = format.RestoreStringSingleQuotes |
		format.RestoreKeyWordUppercase |
		format.RestoreNameBackQuotes
	if !m.noBackslash {
		m.restoreFlags |= format.RestoreStringEscapeBackslash
	}
	return m
}

// parsers pools parser instances: a parser is not safe for concurrent use
// and costs a few kilobytes to build. A parser that panicked is dropped.
var parsers = sync.Pool{New: func() any { return parser.New() }}

// parse does the work of Parse. Panics in the parser, or in restoring its
// AST, become a *ParseError: the user's program must not crash on a query.
func parse(query string, m *mode) (stmts []Statement, err error) {
	p := parsers.Get().(*parser.Parser)
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, newParseError(query, panicError{r})
			return // p is dropped: its state is unknown
		}
		parsers.Put(p)
	}()
	marks := scanMarks(query, m.ansiQuotes, m.noBackslash)
	if marks.nul >= 0 {
		return nil, newParseError(query, fmt.Errorf("NUL byte outside a string literal at offset %d", marks.nul))
	}
	p.SetSQLMode(m.sqlMode)
	// The parser knows no RETURNING: it parses the query with those
	// clauses blanked (offsets kept), and each statement gets its clause
	// back below.
	parsed := query
	if len(marks.returning) > 0 {
		blank := []byte(query)
		for _, r := range marks.returning {
			for i := r.start; i < r.end; i++ {
				blank[i] = ' '
			}
		}
		parsed = string(blank)
	}
	nodes, _, perr := p.ParseSQL(parsed)
	if perr != nil {
		return nil, newParseError(query, perr)
	}
	if len(nodes) == 0 {
		if len(marks.at) > 0 {
			return nil, newParseError(query, errLocate)
		}
		return nil, nil
	}
	b := &builder{query: query, parsed: parsed, mode: m, marks: marks}
	stmts = make([]Statement, 0, len(nodes))
	pos, rets := 0, marks.returning
	for _, n := range nodes {
		text := n.OriginalText()
		start, ok := locate(parsed, pos, text)
		if !ok {
			return nil, newParseError(query, errLocate)
		}
		end := start + len(text)
		// A RETURNING clause inside the statement, or after it with only
		// the blanks of other clauses in between, is the statement's.
		var ret span
		if len(rets) > 0 && rets[0].start >= start &&
			(rets[0].start <= end || strings.TrimSpace(parsed[end:rets[0].start]) == "") {
			ret, rets = rets[0], rets[1:]
			end = max(end, ret.end)
		}
		pos = end
		stmts = append(stmts, b.statement(n, start, end, ret))
	}
	if len(rets) > 0 {
		return nil, newParseError(query, errLocate)
	}
	if len(b.marks.at) > 0 && b.marks.at[len(b.marks.at)-1] >= pos {
		return nil, newParseError(query, errLocate)
	}
	return stmts, nil
}

var errLocate = errors.New("statement boundaries do not match the placeholders")

// locate finds text, which the parser sliced from query at pos or, after a
// newline it skips, at pos+1.
func locate(query string, pos int, text string) (int, bool) {
	for _, at := range [2]int{pos, pos + 1} {
		if at <= len(query) && strings.HasPrefix(query[at:], text) {
			return at, true
		}
	}
	return 0, false
}

// builder turns the AST of one query into Statements.
type builder struct {
	query string
	// parsed is query as the parser saw it, RETURNING clauses blanked:
	// clauses are cut from it (the same offsets and bytes otherwise).
	parsed string
	mode   *mode
	marks  lexMarks
	// lo and tally belong to the statement being bound: its first arg
	// index and a per-arg counter for checking placeholders.
	lo    int
	tally []int8
	// Reused for every statement and fragment of the query.
	binder  binder
	count   markerCount
	writer  fragmentWriter
	ctx     *format.RestoreCtx
	scratch lexMarks
}

// statement builds the Statement for n, which spans query[start:end].
func (b *builder) statement(n ast.StmtNode, start, end int, ret span) Statement {
	lo, hi := b.marks.rangeOf(start, end)
	text := trimStatement(b.query[start:end])
	var returning string
	if ret.end > ret.start {
		returning = strings.TrimSpace(trimStatement(b.query[ret.start+len("RETURNING") : ret.end]))
		if returning == "" {
			return &Other{stmt: stmt{text: text, lo: lo, hi: hi}, Class: ClassUnsupported, Reason: "RETURNING without a select list"}
		}
		if plo, _ := b.marks.rangeOf(ret.start, ret.end); plo < hi {
			return &Other{stmt: stmt{text: text, lo: lo, hi: hi}, Class: ClassUnsupported, Reason: "a placeholder in RETURNING"}
		}
	}
	var s Statement
	var err error
	switch n := n.(type) {
	case *ast.InsertStmt:
		s, err = b.insert(n, start, end, lo, hi)
	case *ast.UpdateStmt:
		s, err = b.update(n, start, end, lo, hi)
	case *ast.DeleteStmt:
		s, err = b.delete(n, start, end, lo, hi)
		if err == nil && returning != "" && s.(*Delete).Multi {
			err = unsupported("multi-table DELETE ... RETURNING")
		}
	case *ast.SelectStmt:
		s, err = b.selectStmt(n, start, end, lo, hi)
	default:
		s = classify(n)
	}
	if err != nil {
		s = &Other{Class: ClassUnsupported, Reason: err.Error()}
	}
	*s.base() = stmt{text: text, lo: lo, hi: hi, returning: returning}
	return s
}

// trimStatement removes surrounding white space, the terminating ';', and
// the ';' of empty statements before it (the parser gives the UPDATE of
// "SELECT 1;; UPDATE t ..." the text "; UPDATE t ...").
func trimStatement(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ";")
	s = strings.TrimSpace(s)
	// Skip white space, comments and ';' at the start; cut after the last
	// ';' found there.
	cut := 0
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ';':
			i++
			cut = i
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (strings.HasPrefix(s[i:], "--") && (len(s) == i+2 || unicode.IsSpace(rune(s[i+2])))):
			i = skipLine(s, i)
		case strings.HasPrefix(s[i:], "/*") && !strings.HasPrefix(s[i:], "/*!") && !strings.HasPrefix(s[i:], "/*M!"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return strings.TrimSpace(s[cut:])
			}
			i += 2 + end + 2
		default:
			return strings.TrimSpace(s[cut:])
		}
	}
	return strings.TrimSpace(s[cut:])
}

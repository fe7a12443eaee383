package sqlparse

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrParserPanic is wrapped by the *ParseError returned when the underlying
// parser panicked on the input (it does on some malformed input, e.g. a
// numeric literal of more than 81 digits). The panic is contained: the
// caller gets an error, the parser instance is discarded.
var ErrParserPanic = errors.New("atcc/sqlparse: parser panicked")

// maxErrorSQL is how much of the query a ParseError keeps.
const maxErrorSQL = 256

// ParseError is returned when a query cannot be parsed.
type ParseError struct {
	// SQL is the query, cut to its first 256 bytes (on a character
	// boundary) followed by "..." when longer.
	SQL string
	// Err is the parser's error (or ErrParserPanic with the panic value).
	Err error
}

func (e *ParseError) Error() string {
	return "atcc/sqlparse: cannot parse " + strconv.Quote(e.SQL) + ": " + e.Err.Error()
}

// Unwrap returns the parser's error.
func (e *ParseError) Unwrap() error { return e.Err }

func newParseError(query string, err error) *ParseError {
	return &ParseError{SQL: truncateSQL(query), Err: err}
}

// panicError is the error of a recovered panic; it matches ErrParserPanic.
type panicError struct{ value any }

func (e panicError) Error() string { return fmt.Sprintf("parser panicked: %v", e.value) }

func (e panicError) Unwrap() error { return ErrParserPanic }

func truncateSQL(s string) string {
	if len(s) <= maxErrorSQL {
		return s
	}
	n := maxErrorSQL
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

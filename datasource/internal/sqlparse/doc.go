// Package sqlparse recognises the SQL an AT-mode data source sees and
// extracts what the executor needs to image and lock rows, without a
// database and without re-parsing.
//
// Parse (or Parser.Parse, which caches) turns a query string, which may
// hold several statements, into Statements:
//
//   - *Insert: INSERT, REPLACE, INSERT IGNORE, with VALUES rows or SET,
//     and ON DUPLICATE KEY UPDATE. Each value is a placeholder, a decoded
//     literal, DEFAULT, or a restored expression.
//   - *Update and *Delete, single- and multi-table: the tables, the SET
//     assignments, and the table references, WHERE, ORDER BY and LIMIT as
//     Fragments, ready for "SELECT ... FROM <refs> WHERE <where> ORDER BY
//     <order> LIMIT <limit> FOR UPDATE".
//   - *SelectForUpdate: a locking read, with the same fragments.
//   - *Other: everything else, with a Class (read, session, transaction
//     control, DDL, or unsupported with a reason).
//
// # Placeholders
//
// A Fragment is restored by the parser (names backquoted, strings quoted
// and escaped, placeholders as "?") and carries, for each "?" in order, the
// index of the arg it binds: the position of that placeholder among all
// the placeholders of the whole query string. Placeholders are found by a
// lexical scan that follows the server's rules ("?" in string literals,
// quoted names and comments is not a placeholder; "?" in /*! */ is); the
// parser's placeholders must match that scan exactly, or the statement is
// reported as unsupported rather than bound to the wrong values.
//
// # Limits
//
// The parser is TiDB's MySQL parser. Syntax it does not know is a
// *ParseError even where MySQL or MariaDB accept it: notably MySQL's INSERT
// row alias ("VALUES (...) AS new"), HANDLER and XA statements. MariaDB's
// RETURNING clause of INSERT, REPLACE and DELETE, which the parser does not
// know either, is found by the lexical scan, blanked before parsing, and
// given back as Statement.Returning. Statements it knows but AT mode cannot image
// are ClassUnsupported: UPDATE and DELETE with a WITH clause, INSERT ...
// SELECT / TABLE, SELECT ... FOR UPDATE OF, locking clauses in subqueries,
// and any statement holding a "/*M!" or "/*T!" comment (the servers and the
// parser disagree on its content). A TRIM remove-string written as the
// literal NULL is restored as if absent (a parser quirk); with a placeholder
// it is kept.
//
// # Concurrency and memory
//
// The underlying parser is not safe for concurrent use; this package keeps
// a sync.Pool of parser instances, so Parse and Parser.Parse may be called
// from any number of goroutines. A Parser caches results by query text in a
// bounded cache (Config.CacheSize entries, CLOCK eviction); the Statements
// it returns are shared between callers and must be treated as read-only.
//
// The parser panics on some malformed input (for example a numeric literal
// of more than 81 digits); Parse recovers and returns a *ParseError wrapping
// ErrParserPanic.
//
// # Dependencies
//
// This package imports github.com/pingcap/tidb/pkg/parser/test_driver, the
// value-expression driver shipped inside the parser module; its init
// function registers the literal and placeholder constructors the parser
// needs (the parser cannot run without one).
package sqlparse

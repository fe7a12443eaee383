package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/internal/schema"
)

// The current database is tracked per connection, so that a table named
// without a database is the one the server resolves it to: USE changes it
// for the rest of the session, inside or outside a global transaction, in
// a query of its own or among the statements of a multi-statement one.
//
// In a global transaction (or GlobalLock mode) every statement is parsed,
// so a USE there sets session.db exactly. Outside one, queries go to the
// target unparsed; a cheap lexical check (mayUse) marks the connection's
// database unknown when a query may hold a USE, and the next global
// statement on the connection reads it back with SELECT DATABASE(). Plans
// are made for the current database (plan's key holds it), so images,
// the statement, undo records and lock keys all name the same table.

// used records the current database after statements holding a USE
// ran: db, the one the last USE named, or unknown when they failed (a USE
// among them may or may not have run).
func (s *session) used(db string, err error) {
	if err != nil {
		s.dbUnknown = true
		return
	}
	s.setDB(db)
}

// setDB records db as current. The server binds a prepared statement to
// the database current when it was prepared (MariaDB and MySQL alike), so
// the connection's cached statements are dropped when it changes.
func (s *session) setDB(db string) {
	if db != s.db {
		_ = s.stmts.drop() // the server discards them with the session anyway
	}
	s.db, s.dbUnknown = db, false
}

// currentDB returns the connection's current database, "" for the data
// source's default, reading it from the server when a query outside a
// global transaction may have changed it.
func (s *session) currentDB(ctx context.Context) (string, error) {
	if !s.dbUnknown {
		return s.db, nil
	}
	env, err := s.res.sessionEnv(ctx)
	if err != nil {
		return "", err
	}
	db, err := s.readDB(ctx)
	if err != nil {
		return "", err
	}
	if db == env.defaultDB {
		db = ""
	}
	s.setDB(db)
	return db, nil
}

// readDB reads DATABASE() through the text protocol: a prepared
// statement answers with the database current when it was prepared.
func (s *session) readDB(ctx context.Context) (string, error) {
	if s.queryer == nil {
		return "", errors.New("atcc/datasource: the target driver cannot run a query without preparing it")
	}
	rows, err := s.queryer.QueryContext(ctx, "SELECT DATABASE()", nil)
	if err != nil {
		return "", fmt.Errorf("atcc/datasource: read the current database: %w", err)
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return "", fmt.Errorf("atcc/datasource: read the current database: %w", err)
	}
	switch v := dest[0].(type) {
	case nil:
		return "", nil
	case []byte:
		return string(v), nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("atcc/datasource: read the current database: got %T", dest[0])
}

// inDefaultDB runs fn with the data source's default database current
// (the undo log table is the default database's), switching to it and
// back when a USE made another one current.
func (s *session) inDefaultDB(ctx context.Context, fn func() (driver.Result, error)) (driver.Result, error) {
	back, err := s.useDefault(ctx)
	if err != nil {
		return nil, err
	}
	res, err := fn()
	if uerr := s.useAgain(ctx, back); uerr != nil {
		return nil, errors.Join(err, uerr)
	}
	return res, err
}

// useDefault makes the data source's default database current if a USE
// made another one current, and returns that one ("" when it switched
// nothing), for useAgain.
func (s *session) useDefault(ctx context.Context) (back string, err error) {
	if s.db == "" && !s.dbUnknown {
		return "", nil
	}
	db, err := s.currentDB(ctx)
	if err != nil || db == "" {
		return "", err
	}
	env, err := s.res.sessionEnv(ctx)
	if err != nil {
		return "", err
	}
	if _, err := s.exec(ctx, statement{text: "USE " + schema.QuoteIdent(env.defaultDB)}); err != nil {
		s.dbUnknown = true
		return "", err
	}
	return db, nil
}

// useAgain makes db current again after useDefault; "" does nothing.
func (s *session) useAgain(ctx context.Context, db string) error {
	if db == "" {
		return nil
	}
	if _, err := s.exec(ctx, statement{text: "USE " + schema.QuoteIdent(db)}); err != nil {
		s.dbUnknown = true
		return err
	}
	return nil
}

// mayUse reports whether query may hold a USE statement: some statement of
// it (the text at its start, or after any ';') begins, after white space
// and comments, with the word USE. It errs on the side of yes (a ';' in a
// string literal followed by "use"), which costs one SELECT DATABASE().
func mayUse(query string) bool {
	for i := 0; i < len(query); {
		i = skipSpaceAndComments(query, i)
		if len(query)-i >= 3 && strings.EqualFold(query[i:i+3], "use") &&
			(len(query)-i == 3 || !isIdentByte(query[i+3])) {
			return true
		}
		j := strings.IndexByte(query[i:], ';')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// skipSpaceAndComments returns the offset of the first byte from i on that
// is not white space or in a comment. An executable comment's opening
// ("/*!50000", "/*M!") counts as space: its content runs.
func skipSpaceAndComments(q string, i int) int {
	for i < len(q) {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(q[i:], "--") && (len(q) == i+2 || q[i+2] <= ' ')):
			if n := strings.IndexByte(q[i:], '\n'); n >= 0 {
				i += n + 1
			} else {
				return len(q)
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*!"), c == '/' && strings.HasPrefix(q[i:], "/*M!"):
			i += 3
			if q[i-1] != '!' {
				i++
			}
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			n := strings.Index(q[i+2:], "*/")
			if n < 0 {
				return len(q)
			}
			i += 2 + n + 2
		default:
			return i
		}
	}
	return i
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

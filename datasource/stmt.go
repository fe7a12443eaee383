package datasource

import (
	"context"
	"database/sql/driver"
)

// stmt wraps a prepared statement of the target. Each execution looks at
// its context (and at the connection's transaction) as conn's methods do:
// outside a global transaction it runs the target statement directly.
type stmt struct {
	c      *conn
	target driver.Stmt
	query  string
	// db is the database current when the statement was prepared ("" for
	// the default, see session.db), to which the server bound its table
	// names; dbKnown is false when that is not known.
	db      string
	dbKnown bool
}

// checkDB refuses to run s in a global transaction when the current
// database is not the one s was prepared in: the server runs s against the
// tables of that one, which the plan would not name.
func (s *stmt) checkDB(ctx context.Context) error {
	cur, err := s.c.s.currentDB(ctx)
	if err != nil {
		return err
	}
	if !s.dbKnown || cur != s.db {
		return unsupported(s.query, "the statement was prepared with another current database (USE ran since)", ErrDatabaseChanged)
	}
	return nil
}

var (
	_ driver.Stmt              = (*stmt)(nil)
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
	_ driver.ColumnConverter   = (*stmt)(nil) //nolint:staticcheck // mysql's statements implement it
)

// Close implements driver.Stmt.
func (s *stmt) Close() error { return s.target.Close() }

// NumInput implements driver.Stmt.
func (s *stmt) NumInput() int { return s.target.NumInput() }

// Exec implements driver.Stmt.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

// Query implements driver.Stmt.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

// ExecContext implements driver.StmtExecContext.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	c := s.c
	c.checked = ""
	at, ok, err := c.route(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return stmtExec(ctx, s.target, args)
	}
	if err := s.checkDB(ctx); err != nil {
		return nil, err
	}
	return c.at.exec(ctx, at, statement{text: s.query, args: args, prepared: s.target})
}

// QueryContext implements driver.StmtQueryContext. A locking read whose
// global locks the connection's QueryContext just checked (see
// conn.checked) runs as it is.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	c := s.c
	checked := c.checked == s.query
	c.checked = ""
	at, ok, err := c.route(ctx)
	if err != nil {
		return nil, err
	}
	if !ok || checked {
		return stmtQuery(ctx, s.target, args)
	}
	if err := s.checkDB(ctx); err != nil {
		return nil, err
	}
	rows, done, err := c.at.query(ctx, at, statement{text: s.query, args: args, prepared: s.target})
	if done || err != nil {
		return rows, err
	}
	return conflictResult(stmtQuery(ctx, s.target, args))
}

// CheckNamedValue implements driver.NamedValueChecker: the target
// statement's, else the connection's, else database/sql's default.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.target.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return s.c.CheckNamedValue(nv)
}

// ColumnConverter implements driver.ColumnConverter: the target
// statement's, else driver.DefaultParameterConverter.
func (s *stmt) ColumnConverter(idx int) driver.ValueConverter {
	if cc, ok := s.target.(driver.ColumnConverter); ok { //nolint:staticcheck // see above
		return cc.ColumnConverter(idx)
	}
	return driver.DefaultParameterConverter
}

package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
)

// stmtCacheSize bounds the statements a connection keeps prepared for its
// own SQL (images, undo log inserts, intercepted DML). Each one is a
// server-side prepared statement, which the server caps per instance
// (max_prepared_stmt_count).
const stmtCacheSize = 32

// stmtCache keeps prepared statements of one connection by query text,
// evicting the oldest when full. It belongs to its connection, which
// database/sql uses from one goroutine at a time.
type stmtCache struct {
	m     map[string]driver.Stmt
	order []string // insertion order, oldest first
}

// cachedStmt returns the prepared statement of query on the target.
func (s *session) cachedStmt(ctx context.Context, query string) (driver.Stmt, error) {
	sc := &s.stmts
	if st, ok := sc.m[query]; ok {
		return st, nil
	}
	st, err := s.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if sc.m == nil {
		sc.m = make(map[string]driver.Stmt, stmtCacheSize)
	}
	if len(sc.order) >= stmtCacheSize {
		old := sc.order[0]
		sc.order = append(sc.order[:0], sc.order[1:]...)
		if err := sc.m[old].Close(); err != nil {
			s.res.cfg.Logger.Debug("atcc/datasource: closing a cached statement", "err", err)
		}
		delete(sc.m, old)
	}
	sc.m[query] = st
	sc.order = append(sc.order, query)
	return st, nil
}

// drop closes every cached statement.
func (sc *stmtCache) drop() error {
	var errs []error
	for _, st := range sc.m {
		errs = append(errs, st.Close())
	}
	sc.m, sc.order = nil, nil
	return errors.Join(errs...)
}

// execCached runs query with args as a cached prepared statement.
func (s *session) execCached(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, err := s.cachedStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmtExec(ctx, st, args)
}

// stmtExec executes st as database/sql would.
func stmtExec(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Result, error) {
	if se, ok := st.(driver.StmtExecContext); ok {
		return se.ExecContext(ctx, args)
	}
	vals, err := plainValues(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return st.Exec(vals) //nolint:staticcheck // the fallback database/sql itself uses
}

// stmtQuery queries st as database/sql would.
func stmtQuery(ctx context.Context, st driver.Stmt, args []driver.NamedValue) (driver.Rows, error) {
	if sq, ok := st.(driver.StmtQueryContext); ok {
		return sq.QueryContext(ctx, args)
	}
	vals, err := plainValues(args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return st.Query(vals) //nolint:staticcheck // the fallback database/sql itself uses
}

// plainValues turns positional named values into values, for drivers
// without the context interfaces.
func plainValues(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, fmt.Errorf("atcc/datasource: the driver does not support named parameter %q", a.Name)
		}
		vals[i] = a.Value
	}
	return vals, nil
}

// undoConn is the connection handed to undo.Manager.Insert: it runs the
// insert through the session's statement cache, in its open transaction,
// with the data source's default database current: the undo log table is
// that database's. It holds a pointer, so that passing it as a
// driver.ExecerContext does not allocate.
type undoConn struct{ e *executor }

// ExecContext runs an undo log statement.
func (u undoConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return u.e.q.execDefault(ctx, statement{text: query, args: args})
}

package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/undo"
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

// insertUndoCommit writes a branch's undo log and commits the open
// transaction in one query (undo.Manager.InsertCommit), with the data
// source's default database current. A USE that makes the database of the
// statements current again after a commit is not the commit's failure:
// the connection's database is then unknown, and read again when a global
// statement next needs it.
func (s *session) insertUndoCommit(ctx context.Context, l *undo.BranchLog) (insertErr, commitErr error) {
	back, err := s.useDefault(ctx)
	if err != nil {
		return err, nil
	}
	insertErr, commitErr = s.res.insertUndoCommit(ctx, multiConn{s}, l)
	if err := s.useAgain(ctx, back); err != nil && insertErr != nil {
		insertErr = errors.Join(insertErr, err)
	}
	return insertErr, commitErr
}

// multiConn is the connection handed to undo.Manager.InsertCommit:
// statements run through the session (a prepared INSERT through its
// statement cache), queries straight on the target. It holds a pointer, so
// that passing it as a driver.ExecerContext does not allocate.
type multiConn struct{ s *session }

// ExecContext runs an undo log statement.
func (m multiConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return m.s.exec(ctx, statement{text: query, args: args})
}

// QueryContext runs InsertCommit's query on the target, which Connect
// checked can (checkMultiStatements).
func (m multiConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if m.s.queryer == nil {
		return nil, errors.New("atcc/datasource: the target driver cannot run a query without preparing it")
	}
	return m.s.queryer.QueryContext(ctx, query, args)
}

package datasource

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/atcc-go/atcc/undo"
)

// session is the target driver's connection as the wrapper uses it: its
// optional interfaces (nil when it lacks them), the statements it keeps
// prepared for the wrapper's own SQL (stmtcache.go) and its current
// database (database.go). It runs statements for the adapter (conn) and
// is the querier of the AT executor. Like its connection it is used by one
// goroutine at a time.
type session struct {
	res    *resource
	target driver.Conn

	execer    driver.ExecerContext
	queryer   driver.QueryerContext
	preparer  driver.ConnPrepareContext
	beginner  driver.ConnBeginTx
	checker   driver.NamedValueChecker
	resetter  driver.SessionResetter
	pinger    driver.Pinger
	validator driver.Validator

	stmts stmtCache

	// db is the current database, "" for the data source's default;
	// dbUnknown is set when a query run unparsed may have changed it
	// (see database.go).
	db        string
	dbUnknown bool
}

var _ querier = (*session)(nil)

func newSession(res *resource, target driver.Conn) session {
	s := session{res: res, target: target}
	s.execer, _ = target.(driver.ExecerContext)
	s.queryer, _ = target.(driver.QueryerContext)
	s.preparer, _ = target.(driver.ConnPrepareContext)
	s.beginner, _ = target.(driver.ConnBeginTx)
	s.checker, _ = target.(driver.NamedValueChecker)
	s.resetter, _ = target.(driver.SessionResetter)
	s.pinger, _ = target.(driver.Pinger)
	s.validator, _ = target.(driver.Validator)
	return s
}

// exec runs st on the target: through its prepared statement when it has
// one, else directly, or as a cached prepared statement when the target
// asks for one.
func (s *session) exec(ctx context.Context, st statement) (driver.Result, error) {
	if st.prepared != nil {
		return stmtExec(ctx, st.prepared, st.args)
	}
	if s.execer != nil {
		res, err := s.execer.ExecContext(ctx, st.text, st.args)
		if !errors.Is(err, driver.ErrSkip) {
			return res, err
		}
	}
	return s.execCached(ctx, st.text, st.args)
}

// query runs st, a statement that returns rows, on the target as exec
// does.
func (s *session) query(ctx context.Context, st statement) (driver.Rows, error) {
	if st.prepared != nil {
		return stmtQuery(ctx, st.prepared, st.args)
	}
	if s.queryer != nil {
		rows, err := s.queryer.QueryContext(ctx, st.text, st.args)
		if !errors.Is(err, driver.ErrSkip) {
			return rows, err
		}
	}
	cst, err := s.cachedStmt(ctx, st.text)
	if err != nil {
		return nil, err
	}
	return stmtQuery(ctx, cst, st.args)
}

// image reads the rows of query with args as an undo image, through a
// cached prepared statement (the binary protocol, which carries every type
// exactly).
func (s *session) image(ctx context.Context, query string, args []driver.NamedValue) (img undo.Image, err error) {
	st, err := s.cachedStmt(ctx, query)
	if err != nil {
		return undo.Image{}, err
	}
	rows, err := stmtQuery(ctx, st, args)
	if err != nil {
		return undo.Image{}, err
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return undo.ReadImage(rows)
}

// begin begins a transaction on the target.
func (s *session) begin(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if s.beginner != nil {
		return s.beginner.BeginTx(ctx, opts)
	}
	// What database/sql does for drivers without ConnBeginTx.
	if opts.Isolation != driver.IsolationLevel(0) {
		return nil, errors.New("sql: driver does not support non-default isolation level")
	}
	if opts.ReadOnly {
		return nil, errors.New("sql: driver does not support read-only transactions")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.target.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

// prepare prepares query on the target.
func (s *session) prepare(ctx context.Context, query string) (driver.Stmt, error) {
	if s.preparer != nil {
		return s.preparer.PrepareContext(ctx, query)
	}
	st, err := s.target.Prepare(query)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// execDefault runs st with the data source's default database current:
// the undo log table is that database's.
func (s *session) execDefault(ctx context.Context, st statement) (driver.Result, error) {
	return s.inDefaultDB(ctx, func() (driver.Result, error) { return s.exec(ctx, st) })
}

// close closes the statements the session prepared for itself, then the
// target. The statements' errors are dropped: the server discards them
// with the session anyway.
func (s *session) close() error {
	_ = s.stmts.drop()
	return s.target.Close()
}

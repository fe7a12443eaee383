package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/undo"
)

// statement is SQL to run on the target: its text and arguments, and the
// target's prepared statement of that text when the user prepared it (nil
// otherwise: the text runs directly, or as a cached prepared statement).
type statement struct {
	text     string
	args     []driver.NamedValue
	prepared driver.Stmt
}

// querier is what the AT executor needs of the target connection (session
// implements it).
type querier interface {
	// exec runs a statement; query runs one that returns rows.
	exec(ctx context.Context, s statement) (driver.Result, error)
	query(ctx context.Context, s statement) (driver.Rows, error)
	// image reads the rows of query with args as an undo image.
	image(ctx context.Context, query string, args []driver.NamedValue) (undo.Image, error)
	// begin begins a local transaction on the connection.
	begin(ctx context.Context, opts driver.TxOptions) (driver.Tx, error)
	// currentDB is the current database ("" for the default); used
	// records the one a USE made current, or unknown after err.
	currentDB(ctx context.Context) (string, error)
	used(db string, err error)
	// execDefault runs a statement with the default database current.
	execDefault(ctx context.Context, s statement) (driver.Result, error)
	// insertUndoCommit writes an undo log and commits the open
	// transaction in one query (Config.MultiStatements).
	insertUndoCommit(ctx context.Context, l *undo.BranchLog) (insertErr, commitErr error)
}

// atRoute is where a statement runs in AT mode: in br, the branch of the
// open transaction, or, when br is nil, autocommit in the global
// transaction xid (or in GlobalLock mode, xid "").
type atRoute struct {
	br  *branch
	xid string
}

// executor is the AT engine of one connection: it plans each statement,
// reads its before images, runs it on exactly the imaged rows, and records
// undo records and lock keys in the branch; at COMMIT it registers the
// branch and writes the undo log (finish, in tx.go). It runs SQL only
// through its querier, and is used by one goroutine at a time, as its
// connection.
type executor struct {
	res *resource
	q   querier

	autoIncStep int64 // @@auto_increment_increment, 0 until read
	autoIncMode int8  // @@innodb_autoinc_lock_mode + 1, 0 until read

	brBuf  branch              // storage of the connection's branch, reused (see branch.reset)
	argBuf []driver.NamedValue // see argsBuf
	imgBuf []undo.Image        // the before images of the statement running (beforeImages)
	sel    selectCache         // see selectByKeys
	// keyText holds the row keys of completeAfterImages while it runs.
	keyText []byte
	// boxes are the bind values writeImaged made of image cells in the
	// transaction, which readHoles binds again at COMMIT (see arg).
	boxes []cellBox
	// registered carries the answer of the branch registration that runs
	// beside the COMMIT read (registerWhileImaging); capacity 1, made on
	// first use.
	registered chan registration
}

// cellBox is an image cell and its value as a bind argument.
type cellBox struct {
	cell *undo.Value
	arg  driver.Value
}

// maxBoxes bounds executor.boxes.
const maxBoxes = 64

// arg returns (*cell).Arg(), or an equal value of the statement's
// arguments from. An int64 from 256 up (or a string) boxes into an
// allocation of its own. The primary key an UPDATE is bound to (by
// writeImaged) is usually one of its arguments (WHERE id = ?), and is bound
// again by the COMMIT read (readHoles), so arg reuses the argument, and
// keeps the first boxes of a transaction (keep) to hand them out again: 4
// allocations per AT transaction of two one-row UPDATEs fewer (atcc-bench).
// Image cells never change once read, and a cell e.boxes holds cannot be
// another.
func (e *executor) arg(cell *undo.Value, keep bool, from []driver.NamedValue) driver.Value {
	for i := range e.boxes {
		if e.boxes[i].cell == cell {
			return e.boxes[i].arg
		}
	}
	var v driver.Value
	for _, a := range from {
		if sameArg(cell, a.Value) {
			v = a.Value
			break
		}
	}
	if v == nil {
		v = cell.Arg()
	}
	if keep && len(e.boxes) < maxBoxes {
		e.boxes = append(e.boxes, cellBox{cell, v})
	}
	return v
}

// sameArg reports whether v is what (*cell).Arg() returns: an int64,
// uint64 or string of the same value and type.
func sameArg(cell *undo.Value, v driver.Value) bool {
	switch x := v.(type) {
	case int64:
		w, err := undo.ValueOf("BIGINT", v)
		return cell.Kind() == undo.KindInt && err == nil && w == *cell
	case uint64:
		w, err := undo.ValueOf("UNSIGNED BIGINT", v)
		return cell.Kind() == undo.KindUint && err == nil && w == *cell
	case string:
		switch cell.Kind() {
		case undo.KindString, undo.KindDecimal, undo.KindTime:
			return cell.String() == x
		}
	}
	return false
}

// dropBoxes forgets e.boxes (and the images they point into).
func (e *executor) dropBoxes() {
	clear(e.boxes)
	e.boxes = e.boxes[:0]
}

// selectCache is the statement selectByKeys built last.
type selectCache struct {
	t    *schema.Table // whose metadata it was built from
	all  bool          // every column (cols nil)
	cols []string      // a copy of the columns
	keys int
	sql  string
}

// selectByKeys is t.SelectByPrimaryKey(cols, keys, true), remembering the
// last statement: a connection's COMMIT reads (readHoles) select the same
// columns of as many rows transaction after transaction, as a rule. 1
// allocation per AT transaction fewer (atcc-bench).
func (e *executor) selectByKeys(t *schema.Table, cols []string, keys int) (string, error) {
	c := &e.sel
	if c.sql != "" && c.t == t && c.keys == keys && c.all == (cols == nil) && slices.Equal(c.cols, cols) {
		return c.sql, nil
	}
	q, err := t.SelectByPrimaryKey(cols, keys, true)
	if err != nil {
		return "", err
	}
	*c = selectCache{t: t, all: cols == nil, cols: append(c.cols[:0], cols...), keys: keys, sql: q}
	return q, nil
}

// maxReusedArgs bounds the argument list argsBuf keeps.
const maxReusedArgs = 64

// argsBuf returns an empty argument list with room for n, for SQL of the
// executor's own (images, writes on imaged keys): the executor's storage,
// reused by the next call, since a driver keeps no argument of a statement
// once the call that ran it returned (database/sql builds a new list per
// call for the same reason). 2 allocations less per UPDATE (its before
// image's and its own) and 1 per COMMIT read (BenchmarkGlobalTransfer/global,
// -memprofile: bind 2 to 0, writeImaged 2 to 0 per transaction).
func (e *executor) argsBuf(n int) []driver.NamedValue {
	if n > maxReusedArgs {
		return make([]driver.NamedValue, 0, n)
	}
	clear(e.argBuf[:cap(e.argBuf)]) // let the last statement's values go
	if cap(e.argBuf) < n {
		e.argBuf = make([]driver.NamedValue, 0, max(n, 8))
	}
	e.argBuf = e.argBuf[:0]
	return e.argBuf[:0:cap(e.argBuf)]
}

// branch returns the connection's branch, empty, for a transaction begun
// with ctx in xid. A connection has at most one transaction at a time, so
// the one it returned before is done.
func (e *executor) branch(ctx context.Context, xid string) *branch {
	e.brBuf.reset(ctx, xid)
	e.dropBoxes()
	return &e.brBuf
}

// exec runs s, a statement routed to AT mode, through Exec.
func (e *executor) exec(ctx context.Context, at atRoute, s statement) (driver.Result, error) {
	if at.br == nil {
		return conflictResult(e.execAuto(ctx, at.xid, s))
	}
	return conflictResult(e.execIn(ctx, at.br, s))
}

// query runs s, a statement routed to AT mode, through Query: locking
// reads check global locks first; a write runs as exec would and yields
// the rows of its RETURNING clause, or none. done is false for a read,
// which the caller then runs as it is (marking its error with
// markConflict).
func (e *executor) query(ctx context.Context, at atRoute, s statement) (driver.Rows, bool, error) {
	rows, done, err := e.queryGlobal(ctx, at, s)
	return rows, done, markConflict(err)
}

// plan returns the plan of query for the connection's current database.
func (e *executor) plan(ctx context.Context, query string) (*plan, error) {
	db, err := e.q.currentDB(ctx)
	if err != nil {
		return nil, err
	}
	return e.res.plan(ctx, db, query)
}

// ran records the current database after p ran, when a statement of p is
// USE.
func (e *executor) ran(p *plan, err error) {
	if p.changes {
		e.q.used(p.useDB, err)
	}
}

// execAuto runs an autocommit statement whose context carries an XID (or
// GlobalLock mode): a query that writes runs in a local transaction of its
// own, committed as a branch; one that does not runs as it is, after the
// global lock check of its locking reads.
func (e *executor) execAuto(ctx context.Context, xid string, s statement) (res driver.Result, err error) {
	p, err := e.plan(ctx, s.text)
	if err != nil {
		return nil, err
	}
	defer func() { e.ran(p, err) }()
	if !p.writes {
		if err := e.lockReads(ctx, xid, p, s.args); err != nil {
			return nil, err
		}
		return e.q.exec(ctx, s)
	}
	ttx, err := e.q.begin(ctx, driver.TxOptions{})
	if err != nil {
		return nil, err
	}
	br := e.branch(ctx, xid)
	res, err = e.execPlan(ctx, br, p, s)
	if err != nil && len(p.stmts) > 1 && br.failed == nil && !br.locks.empty() {
		// Several statements in autocommit: the server commits each one,
		// so the statements before the failing one stay, as without AT.
		// The failing one changed nothing (the server rolled it back, or
		// br failed), and its error is the query's.
		if ferr := e.finish(br, ttx); ferr != nil {
			return nil, errors.Join(err, ferr)
		}
		return nil, err
	}
	if err != nil {
		return nil, errors.Join(err, ttx.Rollback())
	}
	if err := e.finish(br, ttx); err != nil {
		return nil, err
	}
	return res, nil
}

// execIn runs a statement in the open transaction br.
func (e *executor) execIn(ctx context.Context, br *branch, s statement) (_ driver.Result, err error) {
	if br.failed != nil {
		return nil, fmt.Errorf("%w: %w", ErrTxAborted, br.failed)
	}
	p, err := e.plan(ctx, s.text)
	if err != nil {
		return nil, err
	}
	defer func() { e.ran(p, err) }()
	if !p.writes && !p.locks {
		return e.q.exec(ctx, s)
	}
	return e.execPlan(ctx, br, p, s)
}

// queryGlobal is query before its conflict marking.
func (e *executor) queryGlobal(ctx context.Context, at atRoute, s statement) (_ driver.Rows, done bool, err error) {
	br := at.br
	if br != nil && br.failed != nil {
		return nil, true, fmt.Errorf("%w: %w", ErrTxAborted, br.failed)
	}
	p, err := e.plan(ctx, s.text)
	if err != nil {
		return nil, true, err
	}
	defer func() { e.ran(p, err) }()
	if !p.writes {
		return nil, false, e.lockReads(ctx, at.xid, p, s.args)
	}
	if len(p.stmts) > 1 {
		return nil, true, unsupported(s.text, "several statements that write, through Query", nil)
	}
	var res driver.Result
	if br != nil {
		res, err = e.execPlan(ctx, br, p, s)
	} else {
		res, err = e.execAuto(ctx, at.xid, s)
	}
	if err != nil {
		return nil, true, err
	}
	if rows, ok := res.(*returnedRows); ok { // RETURNING
		return rows, true, nil
	}
	return emptyRows{}, true, nil
}

// execPlan runs the statements of p, planned from s, in br. Every
// statement is checked against its arguments before the first one runs.
func (e *executor) execPlan(ctx context.Context, br *branch, p *plan, s statement) (driver.Result, error) {
	args := s.args
	var runs []*insertRun
	for i := range p.stmts {
		sp := &p.stmts[i]
		if _, hi := sp.stmt.ArgRange(); hi > len(args) {
			return nil, fmt.Errorf("%w: %d placeholders, %d arguments", errArgCount, hi, len(args))
		}
		if sp.kind != kindInsert {
			continue
		}
		run, err := sp.insert.resolve(sp.stmt.(*sqlparse.Insert), args)
		if err != nil {
			return nil, err
		}
		if runs == nil {
			runs = make([]*insertRun, len(p.stmts))
		}
		runs[i] = run
	}
	run := func(i int) *insertRun {
		if runs == nil {
			return nil
		}
		return runs[i]
	}
	switch len(p.stmts) {
	case 0:
		return e.q.exec(ctx, s)
	case 1:
		return e.execStatement(ctx, br, &p.stmts[0], run(0), s, args)
	}
	results := make(multiResult, 0, len(p.stmts))
	for i := range p.stmts {
		sp := &p.stmts[i]
		lo, hi := sp.stmt.ArgRange()
		sub := make([]driver.NamedValue, hi-lo)
		for j := range sub {
			sub[j] = driver.NamedValue{Ordinal: j + 1, Value: args[lo+j].Value}
		}
		res, err := e.execStatement(ctx, br, sp, run(i), statement{text: sp.stmt.Text(), args: sub}, args)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// execStatement runs one statement of a plan: s, with all being the
// arguments of the whole query (which the plan's argument indexes refer
// to; s's own when the query is one statement).
func (e *executor) execStatement(ctx context.Context, br *branch, sp *stmtPlan, ir *insertRun, s statement, all []driver.NamedValue) (driver.Result, error) {
	switch sp.kind {
	case kindLockRead:
		if err := e.lockRead(ctx, br.xid, sp.lockRead, all); err != nil {
			return nil, err
		}
	case kindUpdate, kindDelete:
		return e.execWrite(ctx, br, sp, all)
	case kindInsert:
		return e.execInsert(ctx, br, sp.insert, ir, s)
	}
	res, err := e.q.exec(ctx, s)
	if sp.changes {
		// USE: the statements after it are planned for its database,
		// and must not reuse statements prepared in the one before.
		e.q.used(sp.use, err)
	}
	return res, err
}

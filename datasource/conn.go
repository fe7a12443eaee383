package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/tm"
)

// conn wraps a connection of the target driver. Outside a global
// transaction (no XID in the context, no WithGlobalLock) every call goes
// straight to the target after a context lookup. Inside one, DML is
// imaged and recorded (see exec.go) and the local COMMIT registers the
// branch (tx.go).
//
// It implements every optional interface go-sql-driver/mysql's connection
// does, each falling back to what database/sql does when the target lacks
// it. Like any driver connection it is used by one goroutine at a time.
type conn struct {
	res    *resource
	target driver.Conn

	// The target's optional interfaces, nil when it lacks them.
	execer    driver.ExecerContext
	queryer   driver.QueryerContext
	preparer  driver.ConnPrepareContext
	beginner  driver.ConnBeginTx
	checker   driver.NamedValueChecker
	resetter  driver.SessionResetter
	pinger    driver.Pinger
	validator driver.Validator

	tx    *tx // the open transaction, nil if none
	txBuf tx  // storage for tx, reused

	stmts       stmtCache
	autoIncStep int64 // @@auto_increment_increment, 0 until read
	autoIncMode int8  // @@innodb_autoinc_lock_mode + 1, 0 until read

	// db is the current database, "" for the data source's default;
	// dbUnknown is set when a query run unparsed may have changed it
	// (see database.go).
	db        string
	dbUnknown bool

	// checked is the query of a locking read whose global locks were just
	// checked by QueryContext before the target answered driver.ErrSkip:
	// database/sql then prepares it and queries the statement at once,
	// which must not check again.
	checked string

	onClose func() // called once by Close, may be nil
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

func newConn(res *resource, target driver.Conn) *conn {
	c := &conn{res: res, target: target}
	c.execer, _ = target.(driver.ExecerContext)
	c.queryer, _ = target.(driver.QueryerContext)
	c.preparer, _ = target.(driver.ConnPrepareContext)
	c.beginner, _ = target.(driver.ConnBeginTx)
	c.checker, _ = target.(driver.NamedValueChecker)
	c.resetter, _ = target.(driver.SessionResetter)
	c.pinger, _ = target.(driver.Pinger)
	c.validator, _ = target.(driver.Validator)
	return c
}

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext. The statement
// decides at each execution whether it runs in a global transaction.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.prepareTarget(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, target: st, query: query, db: c.db, dbKnown: !c.dbUnknown}, nil
}

// Close implements driver.Conn. The statements the connection prepared for
// itself are closed; their errors are dropped, as the server discards them
// with the session anyway.
func (c *conn) Close() error {
	_ = c.stmts.drop()
	err := c.target.Close()
	if c.onClose != nil {
		c.onClose()
		c.onClose = nil
	}
	return err
}

// Begin implements driver.Conn.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx. A transaction begun with an XID in
// ctx is a branch of that global transaction; with WithGlobalLock and no
// XID, it runs in GlobalLock mode; otherwise it is a plain local
// transaction.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.checked = ""
	xid, global := tm.XID(ctx)
	lockMode := !global && hasGlobalLock(ctx)
	ttx, err := c.beginTarget(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.txBuf = tx{c: c, target: ttx}
	if global || lockMode {
		c.txBuf.br = &branch{ctx: ctx, xid: xid}
	}
	c.tx = &c.txBuf
	return c.tx, nil
}

func (c *conn) beginTarget(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.beginner != nil {
		return c.beginner.BeginTx(ctx, opts)
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
	return c.target.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

// mismatch is the error of a statement whose context does not match the
// open transaction.
func mismatch(what string) error {
	return fmt.Errorf("%w: %s", ErrTxMismatch, what)
}

// check verifies that a statement with ctx may run in b.
func (b *branch) check(ctx context.Context) error {
	if xid, ok := tm.XID(ctx); ok && xid != b.xid {
		if b.xid == "" {
			return mismatch("statement with XID " + xid + " in a GlobalLock transaction")
		}
		return mismatch("statement with XID " + xid + " in a branch of " + b.xid)
	}
	return nil
}

// ExecContext implements driver.ExecerContext.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.checked = ""
	if c.tx == nil || c.tx.br == nil {
		xid, global := tm.XID(ctx)
		if !global && !hasGlobalLock(ctx) {
			if c.execer == nil {
				return nil, driver.ErrSkip
			}
			if mayUse(query) {
				c.dbUnknown = true
			}
			return c.execer.ExecContext(ctx, query, args)
		}
		if c.tx != nil {
			return nil, mismatch("global statement in a local transaction begun without an XID or WithGlobalLock")
		}
		return conflictResult(c.execAuto(ctx, xid, query, args, nil))
	}
	if err := c.tx.br.check(ctx); err != nil {
		return nil, err
	}
	return conflictResult(c.execIn(ctx, c.tx.br, query, args, nil))
}

// QueryContext implements driver.QueryerContext.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.checked = ""
	if c.tx == nil || c.tx.br == nil {
		xid, global := tm.XID(ctx)
		if !global && !hasGlobalLock(ctx) {
			if c.queryer == nil {
				return nil, driver.ErrSkip
			}
			if mayUse(query) {
				c.dbUnknown = true
			}
			return c.queryer.QueryContext(ctx, query, args)
		}
		if c.tx != nil {
			return nil, mismatch("global statement in a local transaction begun without an XID or WithGlobalLock")
		}
		return conflictResult(c.queryGlobal(ctx, nil, xid, query, args, nil))
	}
	br := c.tx.br
	if err := br.check(ctx); err != nil {
		return nil, err
	}
	return conflictResult(c.queryGlobal(ctx, br, br.xid, query, args, nil))
}

// CheckNamedValue implements driver.NamedValueChecker: the target's, or
// database/sql's default conversion.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c.checker == nil {
		return driver.ErrSkip
	}
	return c.checker.CheckNamedValue(nv)
}

// ResetSession implements driver.SessionResetter: the wrapper forgets any
// transaction state first, then the target resets if it can.
func (c *conn) ResetSession(ctx context.Context) error {
	c.tx, c.checked = nil, ""
	if c.resetter == nil {
		return nil
	}
	return c.resetter.ResetSession(ctx)
}

// Ping implements driver.Pinger. Without a target Pinger it succeeds, as
// database/sql's Ping does for such drivers.
func (c *conn) Ping(ctx context.Context) error {
	if c.pinger == nil {
		return nil
	}
	return c.pinger.Ping(ctx)
}

// IsValid implements driver.Validator; a target without it is valid.
func (c *conn) IsValid() bool {
	return c.validator == nil || c.validator.IsValid()
}

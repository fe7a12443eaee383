package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/tm"
)

// conn is the database/sql driver connection the wrapper hands out: an
// adapter over a connection of the target (its session) that decides once
// per statement, in route, where the statement runs. Outside a global
// transaction (no XID in the context, no WithGlobalLock) every call goes
// straight to the target after a context lookup. Inside one, DML runs
// through the AT executor, which images and records it, and the local
// COMMIT registers the branch (tx.go).
//
// It implements every optional interface go-sql-driver/mysql's connection
// does, each falling back to what database/sql does when the target lacks
// it. Like any driver connection it is used by one goroutine at a time.
type conn struct {
	s  session
	at executor

	tx    *tx // the open transaction, nil if none
	txBuf tx  // storage for tx, reused

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
	c := &conn{s: newSession(res, target)}
	c.at = executor{res: res, q: &c.s}
	return c
}

// route decides where a statement with ctx runs: ok is false for the
// target directly (no XID, no GlobalLock mode); otherwise at says where in
// AT mode. A statement whose context does not match the open transaction
// is an error.
func (c *conn) route(ctx context.Context) (at atRoute, ok bool, err error) {
	if c.tx == nil || c.tx.br == nil {
		xid, global := tm.XID(ctx)
		if !global && !hasGlobalLock(ctx) {
			return atRoute{}, false, nil
		}
		if c.tx != nil {
			return atRoute{}, false, mismatch("global statement in a local transaction begun without an XID or WithGlobalLock")
		}
		return atRoute{xid: xid}, true, nil
	}
	br := c.tx.br
	if err := br.check(ctx); err != nil {
		return atRoute{}, false, err
	}
	return atRoute{br: br, xid: br.xid}, true, nil
}

// Prepare implements driver.Conn.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext. The statement
// decides at each execution whether it runs in a global transaction.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.s.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{c: c, target: st, query: query, db: c.s.db, dbKnown: !c.s.dbUnknown}, nil
}

// Close implements driver.Conn (see session.close).
func (c *conn) Close() error {
	err := c.s.close()
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
	ttx, err := c.s.begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.txBuf = tx{c: c, target: ttx}
	if global || lockMode {
		c.txBuf.br = c.at.branch(ctx, xid)
	}
	c.tx = &c.txBuf
	return c.tx, nil
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
	at, ok, err := c.route(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		if c.s.execer == nil {
			return nil, driver.ErrSkip
		}
		if mayUse(query) {
			c.s.dbUnknown = true
		}
		return c.s.execer.ExecContext(ctx, query, args)
	}
	return c.at.exec(ctx, at, statement{text: query, args: args})
}

// QueryContext implements driver.QueryerContext.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.checked = ""
	at, ok, err := c.route(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		rows, done, err := c.at.query(ctx, at, statement{text: query, args: args})
		if done || err != nil {
			return rows, err
		}
		// a read whose locks are checked: it runs as it is
	}
	if c.s.queryer == nil {
		if ok {
			c.checked = query
		}
		return nil, driver.ErrSkip
	}
	if !ok && mayUse(query) {
		c.s.dbUnknown = true
	}
	rows, err := c.s.queryer.QueryContext(ctx, query, args)
	if !ok {
		return rows, err
	}
	if errors.Is(err, driver.ErrSkip) {
		c.checked = query
	}
	return conflictResult(rows, err)
}

// CheckNamedValue implements driver.NamedValueChecker: the target's, or
// database/sql's default conversion.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if c.s.checker == nil {
		return driver.ErrSkip
	}
	return c.s.checker.CheckNamedValue(nv)
}

// ResetSession implements driver.SessionResetter: the wrapper forgets any
// transaction state first, then the target resets if it can.
func (c *conn) ResetSession(ctx context.Context) error {
	c.tx, c.checked = nil, ""
	if c.s.resetter == nil {
		return nil
	}
	return c.s.resetter.ResetSession(ctx)
}

// Ping implements driver.Pinger. Without a target Pinger it succeeds, as
// database/sql's Ping does for such drivers.
func (c *conn) Ping(ctx context.Context) error {
	if c.s.pinger == nil {
		return nil
	}
	return c.s.pinger.Ping(ctx)
}

// IsValid implements driver.Validator; a target without it is valid.
func (c *conn) IsValid() bool {
	return c.s.validator == nil || c.s.validator.IsValid()
}

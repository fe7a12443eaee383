package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// Connector is a driver.Connector whose connections take part in AT
// global transactions. Open a database with sql.OpenDB(connector); DB.Close
// closes the connector.
//
// A Connector is safe for concurrent use. Its connections share the data
// source's table metadata, statement plans and undo log manager.
type Connector struct {
	target driver.Connector
	res    *resource
	drv    driver.Driver

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	release   func() error // frees the resource when the connector closes
}

var _ driver.Connector = (*Connector)(nil)

// NewConnector wraps target, a connector of go-sql-driver/mysql (or of a
// driver that behaves like it), so that its connections join the global
// transactions of client. It registers the data source with client's
// resource manager under cfg.ResourceID (required), which announces it to
// the coordinator when the client is connected; it does no other I/O.
// Metadata, phase two and undo log deletes go through a pool of target's own
// connections (sql.OpenDB(target)).
func NewConnector(target driver.Connector, client *atcc.Client, cfg Config) (*Connector, error) {
	if target == nil {
		return nil, fmt.Errorf("%w: nil target connector", ErrInvalidConfig)
	}
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidConfig)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	raw := sql.OpenDB(target)
	res, err := newResource(raw, client, cfg)
	if err != nil {
		raw.Close()
		return nil, err
	}
	c := &Connector{target: target, res: res, release: res.close}
	c.drv = connectorDriver{c}
	return c, nil
}

// Connect implements driver.Connector: a connection of the target,
// wrapped.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	tc, err := c.target.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return wrapConn(ctx, c.res, tc)
}

// wrapConn wraps tc, a new connection of the target, after checking that
// it accepts several statements in one query when Config.MultiStatements
// asks for it (closing it if not).
func wrapConn(ctx context.Context, res *resource, tc driver.Conn) (driver.Conn, error) {
	if res.cfg.MultiStatements {
		if err := checkMultiStatements(ctx, tc); err != nil {
			tc.Close()
			return nil, err
		}
	}
	return newConn(res, tc), nil
}

// checkMultiStatements runs a query shaped like undo.Manager.InsertCommit's
// on tc: several statements, the rows of the middle one returned by
// QueryContext, the last one's result read with NextResultSet. A server
// refusing it as a syntax error (multiStatements is off) or a connection
// that cannot run it is ErrNoMultiStatements.
func checkMultiStatements(ctx context.Context, tc driver.Conn) (err error) {
	qc, ok := tc.(driver.QueryerContext)
	if !ok {
		return fmt.Errorf("%w: the target connection does not implement driver.QueryerContext", ErrNoMultiStatements)
	}
	rows, err := qc.QueryContext(ctx, multiStatementsProbe, nil)
	if err != nil {
		if mysqlerr.Is(err, mysqlerr.ParseError) {
			return fmt.Errorf("%w: %w", ErrNoMultiStatements, err)
		}
		return fmt.Errorf("atcc/datasource: checking that the connection accepts several statements in one query: %w", err)
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("atcc/datasource: checking that the connection accepts several statements in one query: %w", cerr)
		}
	}()
	next, ok := rows.(driver.RowsNextResultSet)
	if !ok || !next.HasNextResultSet() {
		return fmt.Errorf("%w: %q answered with one result", ErrNoMultiStatements, multiStatementsProbe)
	}
	if err := next.NextResultSet(); err != io.EOF {
		return fmt.Errorf("%w: %q: reading its last result: %v", ErrNoMultiStatements, multiStatementsProbe, err)
	}
	return nil
}

// multiStatementsProbe is checkMultiStatements' query.
const multiStatementsProbe = "DO 1; SELECT 1; DO 1"

// Driver implements driver.Connector. Its Open opens a connection with
// the target's driver and wraps it as Connect does.
func (c *Connector) Driver() driver.Driver { return c.drv }

// Close unregisters the data source from the resource manager, deletes the
// undo logs still queued for deletion (waiting up to 10 s) and closes the
// connector's own pool. database/sql calls it from DB.Close. It is
// idempotent; connections already open keep working, Connect fails.
func (c *Connector) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = c.release()
	})
	return c.closeErr
}

// ResourceID returns the id the data source is registered under.
func (c *Connector) ResourceID() string { return c.res.id }

// RefreshSchema reloads table metadata after DDL: of the named tables
// ("table" in the default database, or "schema.table"), or, with no names,
// of every table the data source has used; and forgets the statement plans
// built from the old metadata. A table that no longer exists is forgotten.
// Changes are also noticed without it (see Config.SchemaRefreshInterval);
// calling it after changing a table's columns or keys while the
// application runs makes them seen at once.
func (c *Connector) RefreshSchema(ctx context.Context, tables ...string) error {
	return c.res.refreshSchema(ctx, tables)
}

// connectorDriver is the driver.Driver of a Connector.
type connectorDriver struct{ c *Connector }

// Open opens a connection by name with the target's driver and wraps it.
func (d connectorDriver) Open(name string) (driver.Conn, error) {
	if d.c.closed.Load() {
		return nil, ErrClosed
	}
	tc, err := d.c.target.Driver().Open(name)
	if err != nil {
		return nil, err
	}
	return wrapConn(context.Background(), d.c.res, tc)
}

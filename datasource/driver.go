package datasource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sync"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
)

// registerMu serialises Register's check of the name and sql.Register.
var registerMu sync.Mutex

// Register makes the name a database/sql driver for MySQL data sources
// taking part in client's global transactions, so that
//
//	db, err := sql.Open(name, "user:pass@tcp(host:3306)/orders")
//
// opens a wrapped go-sql-driver/mysql pool. The DSN is read with
// mysql.ParseDSN. When cfg.ResourceID is empty, each DSN's resource id is
// "mysql://" + address + "/" + database name. The pools of one name that
// share a resource id share one data source (metadata, undo log manager,
// registration); it is unregistered when the last of them closes.
//
// Register fails if the name is already a registered driver (sql.Register
// would panic). It is safe for concurrent use.
func Register(client *atcc.Client, name string, cfg Config) error {
	if client == nil {
		return fmt.Errorf("%w: nil client", ErrInvalidConfig)
	}
	if name == "" {
		return fmt.Errorf("%w: empty driver name", ErrInvalidConfig)
	}
	check := cfg
	if check.ResourceID == "" {
		check.ResourceID = "mysql://placeholder"
	}
	if err := check.check(); err != nil {
		return err
	}
	registerMu.Lock()
	defer registerMu.Unlock()
	if slices.Contains(sql.Drivers(), name) {
		return fmt.Errorf("%w: a driver named %q is already registered", ErrInvalidConfig, name)
	}
	sql.Register(name, &namedDriver{client: client, cfg: cfg, shared: make(map[string]*sharedResource)})
	return nil
}

// namedDriver is the driver Register installs. It is safe for concurrent
// use.
type namedDriver struct {
	client *atcc.Client
	cfg    Config

	mu     sync.Mutex
	shared map[string]*sharedResource // by resource id
}

type sharedResource struct {
	res  *resource
	refs int
}

var _ driver.DriverContext = (*namedDriver)(nil)

// OpenConnector implements driver.DriverContext: it parses the DSN and
// returns a Connector over mysql.NewConnector.
func (d *namedDriver) OpenConnector(dsn string) (driver.Connector, error) {
	mcfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	target, err := mysql.NewConnector(mcfg)
	if err != nil {
		return nil, err
	}
	cfg := d.cfg
	if cfg.ResourceID == "" {
		cfg.ResourceID = "mysql://" + mcfg.Addr + "/" + mcfg.DBName
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	res, release, err := d.acquire(target, cfg)
	if err != nil {
		return nil, err
	}
	c := &Connector{target: target, res: res, release: release, drv: d}
	return c, nil
}

// Open implements driver.Driver: a single wrapped connection, holding the
// data source until it closes.
func (d *namedDriver) Open(dsn string) (driver.Conn, error) {
	dc, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	c := dc.(*Connector)
	dconn, err := c.Connect(context.Background())
	if err != nil {
		c.Close()
		return nil, err
	}
	wc := dconn.(*conn)
	wc.onClose = func() { c.Close() }
	return wc, nil
}

// acquire returns the data source of cfg.ResourceID, creating and
// registering it on first use, and the function that lets it go.
func (d *namedDriver) acquire(target driver.Connector, cfg Config) (*resource, func() error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.shared[cfg.ResourceID]
	if s == nil {
		raw := sql.OpenDB(target)
		res, err := newResource(raw, d.client, cfg)
		if err != nil {
			raw.Close()
			return nil, nil, err
		}
		s = &sharedResource{res: res}
		d.shared[cfg.ResourceID] = s
	}
	s.refs++
	release := func() error {
		d.mu.Lock()
		defer d.mu.Unlock()
		s.refs--
		if s.refs > 0 {
			return nil
		}
		delete(d.shared, cfg.ResourceID)
		return s.res.close()
	}
	return s.res, release, nil
}

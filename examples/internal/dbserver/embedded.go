package dbserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gsql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	driver "github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
)

// embedded is a running in-memory server (go-mysql-server). Its
// methods are safe for concurrent use.
type embedded struct {
	srv  *server.Server
	addr string
	done chan error
}

// startEmbedded listens on 127.0.0.1 at a free port and serves in the
// background. User root, no password. The server starts without databases.
//
// The engine logs through logrus' standard logger, which startEmbedded turns down
// to errors (it prints every connection at Info level, and warns about
// secure_file_priv, otherwise).
func startEmbedded() (*embedded, error) {
	logrus.SetLevel(logrus.ErrorLevel)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dbserver: listen: %w", err)
	}
	// Native primary key indexes make information_schema.STATISTICS list
	// PRIMARY, which AT mode reads to find a table's key.
	pro := memory.NewDBProviderWithOpts(memory.NativeIndexProvider(true)).(*memory.DbProvider)
	engine := sqle.NewDefault(pro)
	srv, err := server.NewServerWithHandler(server.Config{Protocol: "tcp", Listener: ln}, engine,
		gsql.NewContext, memory.NewSessionBuilder(pro), nil,
		func(h mysql.Handler) (mysql.Handler, error) { return &serialHandler{Handler: h}, nil })
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	s := &embedded{srv: srv, addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- srv.Start() }()
	return s, nil
}

// config returns a go-sql-driver/mysql configuration for the server,
// without a database.
func (s *embedded) config() *driver.Config {
	cfg := driver.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = s.addr
	return cfg
}

// close stops the server and waits until it has stopped serving.
func (s *embedded) close() error {
	err := s.srv.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// serialHandler runs the server's commands one at a time.
//
// The memory engine does not support concurrent sessions: a session copies
// each table it touches, reading included, and its commit writes those
// copies back. An autocommit SELECT that overlaps another session's DELETE
// could thus put the deleted rows back. Running each command alone makes
// autocommit statements atomic. Multi-statement transactions can still
// overwrite each other's changes to a table both touch, so concurrent
// writers to one table are out of scope (the examples have none: their
// steps run one after the other).
//
// A command holds the lock while it sends its result, so a client must not
// wait for a second command before reading the result of the first; the
// examples' results are small enough to sit in the socket buffers anyway.
type serialHandler struct {
	mysql.Handler
	mu sync.Mutex
}

func (h *serialHandler) ComInitDB(c *mysql.Conn, schemaName string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComInitDB(c, schemaName)
}

func (h *serialHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComQuery(ctx, c, query, callback)
}

func (h *serialHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComMultiQuery(ctx, c, query, callback)
}

func (h *serialHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComPrepare(ctx, c, query, prepare)
}

func (h *serialHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComStmtExecute(ctx, c, prepare, callback)
}

func (h *serialHandler) ComResetConnection(c *mysql.Conn) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.Handler.ComResetConnection(c)
}

func (h *serialHandler) ConnectionClosed(c *mysql.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.Handler.ConnectionClosed(c)
}

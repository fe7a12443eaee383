// Package dbserver gives the examples their MySQL-compatible server: the
// MySQL or MariaDB server a DSN names, or an in-memory server started inside
// the process (github.com/dolthub/go-mysql-server), so that an example runs
// on a machine with nothing but Go installed.
//
// The in-memory server is good enough for AT mode's statements: it has
// transactions that roll back, information_schema, prepared statements,
// SELECT ... FOR UPDATE and duplicate-key errors. It is no place for
// concurrent writers: it has no row locks (FOR UPDATE locks nothing), and
// two transactions that touch one table may overwrite each other's changes
// (it runs one command at a time, which makes single statements safe; see
// serialHandler). Its data is gone when it closes.
package dbserver

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Server is the server an example uses. Its methods are safe for concurrent
// use.
type Server struct {
	// Where describes the server for a report: its address, and whether it
	// is embedded.
	Where string

	cfg      *mysql.Config // without a database
	embedded *embedded     // nil for a server from a DSN
}

// Open returns the server dsn (a go-sql-driver/mysql DSN; its database name
// is ignored) names, or, when dsn is empty, starts an in-memory one, which
// Close stops. Open does no I/O for a DSN.
func Open(dsn string) (*Server, error) {
	if dsn != "" {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return nil, fmt.Errorf("dbserver: %w", err)
		}
		cfg.DBName = ""
		return &Server{Where: cfg.Addr, cfg: cfg}, nil
	}
	e, err := startEmbedded()
	if err != nil {
		return nil, err
	}
	return &Server{Where: e.addr + " (embedded go-mysql-server)", cfg: e.config(), embedded: e}, nil
}

// Embedded reports whether the server runs inside the process.
func (s *Server) Embedded() bool { return s.embedded != nil }

// Config returns a driver configuration for database on the server (none
// when database is empty). The caller may modify it.
func (s *Server) Config(database string) *mysql.Config {
	cfg := s.cfg.Clone()
	cfg.DBName = database
	return cfg
}

// CreateDatabase creates database name unless it exists and returns a pool
// connected to it, which the caller closes.
func (s *Server) CreateDatabase(ctx context.Context, name string) (*sql.DB, error) {
	if name == "" || strings.ContainsAny(name, "`/\\.") {
		return nil, fmt.Errorf("dbserver: bad database name %q", name)
	}
	admin, err := Pool(s.Config(""))
	if err != nil {
		return nil, err
	}
	_, err = admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"`")
	if cerr := admin.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("dbserver: create database %s: %w", name, err)
	}
	return Pool(s.Config(name))
}

// Pool opens a go-sql-driver/mysql pool with cfg.
func Pool(cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("dbserver: %w", err)
	}
	return sql.OpenDB(c), nil
}

// Close stops the embedded server; it does nothing for a server from a DSN.
func (s *Server) Close() error {
	if s.embedded == nil {
		return nil
	}
	return s.embedded.close()
}

// Package testdb gives tests a fresh, empty MySQL/MariaDB database.
//
// The server comes from ATCC_TEST_MYSQL_DSN (a go-sql-driver/mysql DSN; the
// database name in it is ignored) and defaults to root@tcp(127.0.0.1:3306)/.
// `make test` starts a local MariaDB when none answers. When the server
// cannot be reached the test fails if CI=true and is skipped otherwise, with
// a message that says how to provide one; a package whose TestMain ends
// with Run then prints how many of its tests were skipped that way.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultDSN is used when ATCC_TEST_MYSQL_DSN is unset.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/"

// Database is one freshly created database, dropped when the test ends.
type Database struct {
	// Name is the database (schema) name.
	Name   string
	config *mysql.Config // connects to Name; Config returns copies
	// DB is a pool connected to Name, closed when the test ends.
	DB *sql.DB
}

// Config returns a copy of the driver configuration for this database.
func (d *Database) Config() *mysql.Config { return d.config.Clone() }

// DSN returns the configuration as a DSN string.
func (d *Database) DSN() string { return d.config.FormatDSN() }

// Connector returns a go-sql-driver/mysql connector for this database.
func (d *Database) Connector(t testing.TB) driver.Connector {
	t.Helper()
	c, err := mysql.NewConnector(d.Config())
	if err != nil {
		t.Fatalf("testdb: connector: %v", err)
	}
	return c
}

// Exec runs each statement in order on d.DB and fails the test on error.
func (d *Database) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.DB.Exec(s); err != nil {
			t.Fatalf("testdb: %s: %v", s, err)
		}
	}
}

var (
	serverOnce sync.Once
	serverCfg  *mysql.Config
	serverErr  error
	skipped    atomic.Int64 // tests skipped for want of a server
)

// ServerConfig returns the configuration of the test server, without a
// database, or fails (CI) / skips the test when the server is unreachable.
func ServerConfig(t testing.TB) *mysql.Config {
	t.Helper()
	serverOnce.Do(func() {
		dsn := os.Getenv("ATCC_TEST_MYSQL_DSN")
		if dsn == "" {
			dsn = DefaultDSN
		}
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			serverErr = err
			return
		}
		cfg.DBName = ""
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			serverErr = err
			return
		}
		defer db.Close()
		if err := db.Ping(); err != nil {
			serverErr = err
			return
		}
		serverCfg = cfg
	})
	if serverErr != nil {
		msg := "testdb: no MySQL/MariaDB server: " + serverErr.Error() +
			" (run `make test`, which starts one, or set ATCC_TEST_MYSQL_DSN)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		skipped.Add(1)
		t.Skip(msg)
	}
	return serverCfg.Clone()
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

// Create makes a new empty database named after the test and registers its
// removal with t.Cleanup.
func Create(t testing.TB) *Database {
	t.Helper()
	cfg := ServerConfig(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	base := unsafeChars.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	name := "atcc_" + base + "_" + hex.EncodeToString(rnd[:])

	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	dbCfg := cfg.Clone()
	dbCfg.DBName = name
	db, err := sql.Open("mysql", dbCfg.FormatDSN())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		drop, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer drop.Close()
		if _, err := drop.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Logf("testdb: drop %s: %v", name, err)
		}
	})
	return &Database{Name: name, config: dbCfg, DB: db}
}

// Run runs the package's tests, like m.Run, and returns the exit code for
// os.Exit. When some of them were skipped because no server answered, it
// then prints one line that says how many, so that a local `go test ./...`
// without a database does not pass in silence:
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }
//
// go test shows a passing package's output only with -v (or when run in
// the package's directory without arguments), so without -v the line goes
// to the terminal (/dev/tty) when there is one.
func Run(m *testing.M) int {
	code := m.Run()
	n := skipped.Load()
	if n == 0 {
		return code
	}
	var out io.Writer = os.Stdout
	if !testing.Verbose() {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			out = tty
		}
	}
	pkg := ""
	if exe, err := os.Executable(); err == nil {
		pkg = strings.TrimSuffix(filepath.Base(exe), ".test") + ": "
	}
	fmt.Fprintf(out, "%s%d tests SKIPPED: no MySQL/MariaDB server (%v); `make test` starts one, or set ATCC_TEST_MYSQL_DSN\n",
		pkg, n, serverErr)
	return code
}

// Quickstart runs an AT-mode global transaction across two databases, with
// nothing to install but Go:
//
//	go run -C examples ./quickstart
//
// It starts atcc's coordinator and an in-memory MySQL-compatible server
// (go-mysql-server) inside the process, creates the databases bank_a and
// bank_b, each with an account table and an undo_log table, and opens one AT
// data source on each. Then it transfers money from alice (bank_a) to bob
// (bank_b) twice: the first transfer commits; the second fails with a
// business error after both databases were updated, and the coordinator
// rolls both updates back from their undo logs. After each step it prints the
// balances and the undo_log rows of both databases, and it exits with status 1
// if the balances are not what they should be.
//
// To use a real MySQL or MariaDB server instead, give its DSN (the databases
// are created there; the example drops and recreates its two tables in them
// on every run):
//
//	go run -C examples ./quickstart -dsn 'root@tcp(127.0.0.1:3306)/'
//
// -v prints the library's debug logs on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"strings"

	"github.com/atcc-go/atcc"
)

func main() {
	var (
		dsn       = flag.String("dsn", "", "go-sql-driver/mysql DSN of a MySQL/MariaDB server, e.g. 'root@tcp(127.0.0.1:3306)/' (default: an embedded in-memory server)")
		databases = flag.String("databases", "bank_a,bank_b", "the two databases to create and use, comma-separated")
		verbose   = flag.Bool("v", false, "print the library's debug logs on stderr")
	)
	flag.Parse()
	names := strings.Split(*databases, ",")
	if len(names) != 2 || names[0] == "" || names[1] == "" || names[0] == names[1] {
		fmt.Fprintln(os.Stderr, "quickstart: -databases wants two different names, e.g. bank_a,bank_b")
		os.Exit(2)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	atcc.SetGettyLogger(logger) // the transport's process-wide logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, options{dsn: *dsn, databases: [2]string{names[0], names[1]}, out: os.Stdout, logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// options configure run.
type options struct {
	dsn       string    // MySQL/MariaDB server; "" starts an embedded one
	databases [2]string // bank_a and bank_b
	out       io.Writer // the report
	logger    *slog.Logger
}

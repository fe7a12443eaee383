// Tcc books seats for a show with a TCC action, in global transactions
// coordinated by atcc's embedded coordinator:
//
//	go run -C examples ./tcc                                  # MariaDB/MySQL at 127.0.0.1:3306, user root
//	go run -C examples ./tcc -dsn 'user:pass@tcp(host:3306)/' # another server
//	go run -C examples ./tcc -embedded                        # in-memory server, nothing to install
//
// The action's Try reserves seats (available -> reserved), Confirm sells
// them (reserved -> sold) and Cancel releases them (reserved -> available).
// It runs with the TCC fence (Seata's tcc_fence_log): each phase's update
// commits together with its fence row, so a phase runs at most once per
// branch, and a Cancel whose Try did not commit does nothing.
//
// Three bookings run: one commits (Try, then Confirm), one fails with a
// business error after its Try (Cancel releases the seats), and one asks for
// more seats than are left, so its Try fails and the rollback finds nothing
// to cancel (an "empty rollback", recorded as suspended in the fence). After
// each step it prints the seat counts and the branch's fence status, and it
// exits with status 1 when they are not as expected.
//
// The example creates the database atcc_example_tcc (see -database) and
// recreates its two tables there on every run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/atcc-go/atcc"
)

func main() {
	var (
		dsn      = flag.String("dsn", "root@tcp(127.0.0.1:3306)/", "go-sql-driver/mysql DSN of a MySQL/MariaDB server")
		embedded = flag.Bool("embedded", false, "use an in-memory server in the process (go-mysql-server) instead of -dsn")
		database = flag.String("database", "atcc_example_tcc", "the database to create and use")
		verbose  = flag.Bool("v", false, "print the library's debug logs on stderr")
	)
	flag.Parse()
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o := options{dsn: *dsn, database: *database, out: os.Stdout, logger: logger}
	if *embedded {
		o.dsn = ""
	}
	atcc.SetGettyLogger(logger) // the transport's process-wide logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "tcc:", err)
		os.Exit(1)
	}
}

// options configure run.
type options struct {
	dsn      string // MySQL/MariaDB server; "" starts an embedded one
	database string
	out      io.Writer // the report
	logger   *slog.Logger
}

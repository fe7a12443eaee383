// Grpc-at runs an AT-mode global transaction across two gRPC services,
// each with its own database: account-a holds alice's account, account-b
// bob's. A caller begins the global transaction and calls both; the XID
// travels in the gRPC metadata (tm/grpcxid interceptors), and each service's
// update joins the transaction through its AT data source. The caller runs
// two transfers from alice to bob: the first commits; the second is rejected
// by the caller after both services updated their databases, and the
// coordinator rolls both back from their undo logs.
//
// In one process (the coordinator, both services and the caller), against
// MariaDB/MySQL at 127.0.0.1:3306 as root:
//
//	go run -C examples ./grpc-at -all
//
// As three processes (the caller runs the coordinator at -tc; start the
// services first, or within 30 s, and stop them with Ctrl-C):
//
//	go run -C examples ./grpc-at -role a        # account-a on 127.0.0.1:50051
//	go run -C examples ./grpc-at -role b        # account-b on 127.0.0.1:50052
//	go run -C examples ./grpc-at -role caller   # coordinator on 127.0.0.1:8091, then the transfers
//
// -dsn 'user:pass@tcp(host:port)/' selects another server; -embedded gives
// each service an in-memory server of its own instead (nothing to install).
// Each service creates its database (see -databases) and recreates its
// tables when it starts; the caller checks balances relative to those it
// finds, so it can run again against the same services. With -tc-external
// the caller uses a coordinator already running at -tc (cmd/atcc-tc or
// Apache Seata) instead of starting one.
//
// The caller prints the balances and undo_log rows after each step and
// exits with status 1 when they are not as expected.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tc"
)

// options configure the roles.
type options struct {
	dsn        string    // MySQL/MariaDB server; "" gives each service an embedded one
	databases  [2]string // account-a's and account-b's
	tc         string    // coordinator address
	externalTC bool      // the caller does not start the coordinator
	a, b       string    // the services' addresses
	out        io.Writer
	logger     *slog.Logger
}

func main() {
	var (
		role       = flag.String("role", "", "a, b or caller")
		all        = flag.Bool("all", false, "run the coordinator, both services and the caller in this process, on free ports")
		dsn        = flag.String("dsn", "root@tcp(127.0.0.1:3306)/", "go-sql-driver/mysql DSN of the MySQL/MariaDB server of the services")
		embedded   = flag.Bool("embedded", false, "give each service an in-memory server (go-mysql-server) instead of -dsn")
		databases  = flag.String("databases", "atcc_example_grpc_a,atcc_example_grpc_b", "account-a's and account-b's databases, comma-separated")
		tcAddr     = flag.String("tc", "127.0.0.1:8091", "coordinator address")
		externalTC = flag.Bool("tc-external", false, "caller: use the coordinator running at -tc instead of starting one")
		addrA      = flag.String("a", "127.0.0.1:50051", "account-a's gRPC address")
		addrB      = flag.String("b", "127.0.0.1:50052", "account-b's gRPC address")
		verbose    = flag.Bool("v", false, "print the library's debug logs on stderr")
	)
	flag.Parse()
	names := strings.Split(*databases, ",")
	if len(names) != 2 || names[0] == "" || names[1] == "" {
		fail(2, errors.New("-databases wants two names, e.g. bank_a,bank_b"))
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	atcc.SetGettyLogger(logger) // the transport's process-wide logger
	o := options{
		dsn: *dsn, databases: [2]string{names[0], names[1]}, tc: *tcAddr, externalTC: *externalTC,
		a: *addrA, b: *addrB, out: os.Stdout, logger: logger,
	}
	if *embedded {
		o.dsn = ""
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var err error
	switch {
	case *all:
		err = runAll(ctx, o)
	case *role == "a" || *role == "b":
		err = serve(ctx, o, *role)
	case *role == "caller":
		err = runCaller(ctx, o)
	default:
		fail(2, errors.New("give -all, or -role a, b or caller"))
	}
	if err != nil {
		fail(1, err)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "grpc-at:", err)
	os.Exit(code)
}

// accountFor returns the configuration of service role ("a" or "b").
func accountFor(o options, role string) accountConfig {
	if role == "a" {
		return accountConfig{app: "account-a", dsn: o.dsn, database: o.databases[0], owner: alice, balance: 100,
			tc: o.tc, listen: o.a, logger: o.logger}
	}
	return accountConfig{app: "account-b", dsn: o.dsn, database: o.databases[1], owner: bob, balance: 0,
		tc: o.tc, listen: o.b, logger: o.logger}
}

// serve runs service role until ctx ends.
func serve(ctx context.Context, o options, role string) error {
	cfg := accountFor(o, role)
	a, err := startAccount(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "%s serving on %s, database %s on %s, coordinator %s; Ctrl-C stops it\n",
		cfg.app, a.addr(), cfg.database, a.server.Where, cfg.tc)
	<-ctx.Done()
	return a.close()
}

// runCaller starts the coordinator at o.tc (unless o.externalTC) and runs
// the transfers against the services at o.a and o.b.
func runCaller(ctx context.Context, o options) error {
	if !o.externalTC {
		coord, err := startCoordinator(ctx, o.tc, o.logger)
		if err != nil {
			return err
		}
		defer coord.Close()
		fmt.Fprintf(o.out, "coordinator  %s (embedded)\n", coord.Addr())
	}
	fmt.Fprintf(o.out, "services     account-a %s, account-b %s\n\n", o.a, o.b)
	return transfers(ctx, o)
}

// runAll runs everything in this process, on free ports.
func runAll(ctx context.Context, o options) (err error) {
	coord, err := startCoordinator(ctx, "127.0.0.1:0", o.logger)
	if err != nil {
		return err
	}
	defer coord.Close()
	o.tc = coord.Addr().String()
	o.a, o.b = "127.0.0.1:0", "127.0.0.1:0"
	a, err := startAccount(ctx, accountFor(o, "a"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.close()) }()
	b, err := startAccount(ctx, accountFor(o, "b"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.close()) }()
	o.a, o.b = a.addr(), b.addr()

	fmt.Fprintf(o.out, "coordinator  %s (embedded)\n", o.tc)
	fmt.Fprintf(o.out, "account-a    %s, database %s on %s\n", o.a, o.databases[0], a.server.Where)
	fmt.Fprintf(o.out, "account-b    %s, database %s on %s\n\n", o.b, o.databases[1], b.server.Where)
	return transfers(ctx, o)
}

func startCoordinator(ctx context.Context, addr string, logger *slog.Logger) (*tc.Server, error) {
	coord, err := tc.New(tc.Config{Logger: logger})
	if err != nil {
		return nil, err
	}
	if err := coord.Start(ctx, addr); err != nil {
		return nil, fmt.Errorf("start coordinator: %w", err)
	}
	return coord, nil
}

// transfers connects the caller to the coordinator and the services and
// runs the transfers.
func transfers(ctx context.Context, o options) (err error) {
	client, err := atcc.New(atcc.Config{ApplicationID: "caller", Coordinators: []string{o.tc}, Logger: o.logger})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, client.Close()) }()
	c, err := newCaller(client, o.a, o.b, o.out)
	if err != nil {
		return err
	}
	defer c.close()
	return c.run(ctx)
}

// Command atcc-tc runs the atcc transaction coordinator: a Seata TC that
// Java Seata clients and atcc clients connect to (Seata RPC protocol v1).
//
// Usage:
//
//	atcc-tc [-listen :8091] [-store memory|mysql -dsn DSN [-init-schema]] [-log-level info]
//	        [-tls-cert FILE -tls-key FILE [-tls-client-ca FILE [-cert-apps cn=app,...]]]
//	        [-access-keys FILE] [-shared-ownership] [-max-tx-timeout 10m]
//	        [-etcd-endpoints host:2379,... [-registry-cluster default]]
//	        [-admin 127.0.0.1:7091 [-admin-insecure]]
//	atcc-tc admin list|show|retry|resolve -addr URL [-user KEY] ...
//
// With -store memory (the default) transactions live in the process and a
// restart loses those in flight. With -store mysql they live in the tables
// of the DSN's database (see tc.DDL); several atcc-tc processes may
// share one database, and a restart loses nothing. -init-schema creates the
// database and the tables that are missing (CREATE ... IF NOT EXISTS) and
// then serves;
// -print-schema prints the DDL and exits, for a DBA to apply.
//
// By default, as Apache Seata, the coordinator accepts every client that
// reaches its port. -access-keys requires Seata's access-key digest at
// registration, -tls-client-ca requires a client certificate, and
// -cert-apps binds certificates to application ids (README, Security).
//
// -etcd-endpoints registers the coordinator in etcd v3 as Seata's etcd3
// registry does (key registry-seata-<cluster>-<advertise address>, on a
// lease of 10 s kept alive while the process runs): clients with the
// service.vgroupMapping of their tx service group pointing to the cluster
// find it (atcc's discovery/etcd, or Java Seata clients). At shutdown the
// lease is revoked first, so clients drain this coordinator; if the
// process dies, the key goes when the lease expires.
//
// -admin serves the admin console on the address given (HTTP; off by
// default): /metrics (Prometheus text, from an OpenTelemetry MeterProvider),
// /healthz, /readyz, a JSON API to list and inspect transactions, retry
// phase two now and resolve a transaction stuck on a refused rollback, and
// a web page over it (see package tc/admin). It is protected like the RPC
// port: with -tls-cert it serves HTTPS with the same certificate (and
// requires client certificates with -tls-client-ca), with -access-keys it
// requires HTTP Basic authentication with an access key and its secret. On
// an address other machines can reach, one of the two is required, or
// -admin-insecure. "atcc-tc admin" is a command-line client of that API
// (atcc-tc admin -h).
//
// SIGINT or SIGTERM stops the coordinator gracefully: phase two in progress
// may finish for -shutdown-timeout, then the sessions are closed and, with
// the MySQL store, unfinished transactions are handed to the other
// coordinators or to the next start. A second signal stops at once.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atcc-go/atcc/discovery/etcd"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/otelatcc"
	"github.com/atcc-go/atcc/tc"
)

func main() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	if err := run(sig, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "atcc-tc:", err)
		os.Exit(1)
	}
}

// run runs the coordinator until the first value on stop, and stops
// waiting for phase two at the second.
func run(stop <-chan os.Signal, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "admin" {
		return runAdmin(args[1:], os.Getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("atcc-tc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8091", "`address` to listen on")
	advertise := fs.String("advertise", "", "`host:port` put in XIDs (default: the listen address, with a non-loopback IP for an unspecified host)")
	storeKind := fs.String("store", "memory", "transaction store: memory or mysql")
	dsn := fs.String("dsn", "", "go-sql-driver/mysql `DSN` of the store's database, e.g. user:pass@tcp(host:3306)/seata (-store mysql)")
	initSchema := fs.Bool("init-schema", false, "create the store's missing tables, then serve (-store mysql)")
	printSchema := fs.Bool("print-schema", false, "print the MySQL store's DDL and exit")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long phase two in progress may take to finish at shutdown")
	branchTimeout := fs.Duration("branch-timeout", 0, "timeout of a BranchCommit/BranchRollback call (default 15s)")
	maxCommitRetry := fs.Duration("max-commit-retry-timeout", 0, "stop retrying a commit this long after the transaction began (default: never)")
	maxRollbackRetry := fs.Duration("max-rollback-retry-timeout", 0, "stop retrying a rollback this long after the transaction began (default: never)")
	maxTimeout := fs.Duration("max-tx-timeout", 0, "longest global transaction timeout a client may ask for (default 10m)")
	etcdEndpoints := fs.String("etcd-endpoints", "", "register in etcd v3 at these comma-separated `endpoints` (Seata's etcd3 registry layout)")
	registryCluster := fs.String("registry-cluster", "default", "the `cluster` name to register under (-etcd-endpoints); clients map their tx service group to it")
	adminAddr := fs.String("admin", "", "serve the admin console (/metrics, /healthz, /readyz, JSON API, web page) on `address`, e.g. 127.0.0.1:7091; off by default")
	adminInsecure := fs.Bool("admin-insecure", false, "allow -admin on an address other machines can reach without TLS or access keys")
	security := addSecurityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *printSchema {
		_, err := fmt.Fprintln(stdout, tc.DDL+";")
		return err
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	rpc.SetGettyLogger(log)

	if *etcdEndpoints == "" && *registryCluster != "default" {
		return errors.New("-registry-cluster needs -etcd-endpoints")
	}

	cfg := tc.Config{
		AdvertiseAddr:           *advertise,
		BranchTimeout:           *branchTimeout,
		MaxCommitRetryTimeout:   *maxCommitRetry,
		MaxRollbackRetryTimeout: *maxRollbackRetry,
		Logger:                  log,
		Limits:                  tc.Limits{MaxTimeout: *maxTimeout},
		SharedOwnership:         *security.sharedOwnership,
	}
	if err := security.apply(&cfg.RPC); err != nil {
		return err
	}
	var meters *metrics
	if *adminAddr != "" {
		if err := checkAdminExposure(*adminAddr, &cfg.RPC, *adminInsecure); err != nil {
			return err
		}
		var err error
		if meters, err = newMetrics(); err != nil {
			return err
		}
		defer meters.shutdown(context.Background())
		// The coordinator's instruments, exported at the admin's /metrics.
		cfg.Observer = otelatcc.New(otelatcc.Config{MeterProvider: meters.provider})
	} else if *adminInsecure {
		return errors.New("-admin-insecure needs -admin")
	}
	switch *storeKind {
	case "memory":
		if *dsn != "" || *initSchema {
			return errors.New("-dsn and -init-schema need -store mysql")
		}
		log.Info(memoryStoreWarning)
	case "mysql":
		db, err := openDB(*dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = checkDatabase(ctx, *dsn, *initSchema, log)
		if err == nil && *initSchema {
			err = tc.CreateTables(ctx, db)
		}
		cancel()
		if err != nil {
			return err
		}
		cfg.DB = db
	default:
		return fmt.Errorf("-store %q: want memory or mysql", *storeKind)
	}

	srv, err := tc.New(cfg)
	if err != nil {
		return err
	}
	if o, ok := cfg.Observer.(*otelatcc.Observer); ok {
		stopGauges, err := o.ObserveCoordinator(srv)
		if err != nil {
			return err
		}
		defer stopGauges()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = srv.Start(ctx, *listen)
	cancel()
	if err != nil {
		return err
	}
	var adm *adminServer
	if *adminAddr != "" {
		if adm, err = startAdmin(*adminAddr, srv, meters, &cfg.RPC, log); err != nil {
			srv.Close()
			return err
		}
	}
	unregister := func() {}
	if *etcdEndpoints != "" {
		reg, err := register(strings.Split(*etcdEndpoints, ","), *registryCluster, srv.AdvertiseAddr(), log)
		if err != nil {
			if adm != nil {
				adm.shutdown(context.Background())
			}
			srv.Close()
			return err
		}
		unregister = func() { reg.close(log) }
	}

	sg := <-stop
	log.Info("atcc-tc: shutting down", slog.String("signal", sg.String()), slog.Duration("timeout", *shutdownTimeout))
	unregister()
	ctx, cancel = context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	go func() {
		select {
		case <-stop: // a second signal: stop waiting
			cancel()
		case <-ctx.Done():
		}
	}()
	err = srv.Shutdown(ctx)
	if adm != nil {
		// After the coordinator: /readyz answers "not ready" meanwhile.
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		if aerr := adm.shutdown(actx); aerr != nil {
			log.Warn("atcc-tc: admin console shutdown", slog.Any("error", aerr))
		}
		acancel()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		log.Warn("atcc-tc: stopped before phase two in progress finished; it is resumed by the next coordinator on the store (memory store: lost)")
		return nil
	}
	return err
}

// openDB opens the store's database with a pool sized for the coordinator.
func openDB(dsn string) (*sql.DB, error) {
	if dsn == "" {
		return nil, errors.New("-store mysql needs -dsn")
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("-dsn: %w", err)
	}
	if mc.DBName == "" {
		return nil, errors.New("-dsn names no database")
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("-dsn: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// memoryStoreWarning is logged once at startup with the memory store.
const memoryStoreWarning = "atcc-tc: memory store: a restart or crash loses every transaction in flight " +
	"(their branches are neither committed nor rolled back; AT changes and undo_log rows stay until repaired); " +
	"-store mysql keeps them"

// checkDatabase makes sure the DSN's database exists. With create it runs
// CREATE DATABASE IF NOT EXISTS on the server; without, a missing database
// is an error that says how to create it.
func checkDatabase(ctx context.Context, dsn string, create bool, log *slog.Logger) error {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	name := mc.DBName
	mc.DBName = ""
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return fmt.Errorf("-dsn: %w", err)
	}
	server := sql.OpenDB(conn)
	defer server.Close()
	var found string
	err = server.QueryRowContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&found)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("-dsn: cannot reach the store's server: %w", err)
	case !create:
		return fmt.Errorf("-dsn: database %q does not exist: create it (CREATE DATABASE `%s`) or add -init-schema, which creates the database and the tables", name, name)
	}
	if _, err := server.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(name, "`", "``")+"`"); err != nil {
		return fmt.Errorf("-init-schema: creating database %q: %w", name, err)
	}
	log.Info("atcc-tc: created the store's database", slog.String("database", name))
	return nil
}

// registration is the coordinator's etcd registration and its client.
type registration struct {
	cli    *clientv3.Client
	reg    *etcd.Registration
	closed chan struct{}
}

// register puts the coordinator's key in etcd, on a lease kept alive until
// close.
func register(endpoints []string, cluster, addr string, log *slog.Logger) (*registration, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("-etcd-endpoints: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := etcd.Register(ctx, cli, cluster, addr, etcd.DefaultTTL)
	if err != nil {
		cli.Close()
		return nil, err
	}
	log.Info("atcc-tc: registered in etcd", slog.String("key", reg.Key()))
	r := &registration{cli: cli, reg: reg, closed: make(chan struct{})}
	go func() {
		select {
		case <-reg.Lost():
			log.Error("atcc-tc: etcd lease lost: clients that resolve through etcd no longer find this coordinator", slog.String("key", reg.Key()))
		case <-r.closed:
		}
	}()
	return r, nil
}

// close revokes the lease (the key goes at once) and closes the client.
func (r *registration) close(log *slog.Logger) {
	close(r.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.reg.Close(ctx); err != nil {
		log.Warn("atcc-tc: etcd unregister failed; the key goes when its lease expires", slog.String("err", err.Error()))
	}
	r.cli.Close()
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/go-sql-driver/mysql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
	"github.com/atcc-go/atcc/tm/grpcxid"
	"github.com/atcc-go/atcc/undo"
)

// accountConfig configures one account service.
type accountConfig struct {
	app      string // the application id the coordinator sees
	dsn      string // MySQL/MariaDB server; "" starts an embedded one
	database string // created on the server
	owner    string // the one account, created with balance
	balance  int64
	tc       string // coordinator address
	listen   string // gRPC address, "127.0.0.1:0" for any port
	logger   *slog.Logger
}

// account is a running account service: a gRPC server whose Add joins the
// caller's global transaction through an AT data source. It is safe for
// concurrent use.
type account struct {
	name   string
	server *dbserver.Server
	client *atcc.Client
	at     *sql.DB // AT data source
	raw    *sql.DB // plain pool, to read the undo_log table
	grpc   *grpc.Server
	ln     net.Listener
	served chan error

	closeOnce sync.Once
	closeErr  error
}

// startAccount creates the service's database and tables (dropping
// existing ones), connects to the coordinator lazily and starts serving.
func startAccount(ctx context.Context, cfg accountConfig) (_ *account, err error) {
	a := &account{name: cfg.app, served: make(chan error, 1)}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("%s: %w", cfg.app, err), a.close())
		}
	}()
	if a.server, err = dbserver.Open(cfg.dsn); err != nil {
		return nil, err
	}
	if a.raw, err = a.server.CreateDatabase(ctx, cfg.database); err != nil {
		return nil, err
	}
	if err := createTables(ctx, a.raw, cfg.owner, cfg.balance); err != nil {
		return nil, err
	}
	a.client, err = atcc.New(atcc.Config{ApplicationID: cfg.app, Coordinators: []string{cfg.tc}, Logger: cfg.logger})
	if err != nil {
		return nil, err
	}
	target, err := mysql.NewConnector(a.server.Config(cfg.database))
	if err != nil {
		return nil, err
	}
	conn, err := datasource.NewConnector(target, a.client, datasource.Config{
		ResourceID: "mysql://" + a.server.Config("").Addr + "/" + cfg.database, // the same on every instance of the service
		Logger:     cfg.logger,
	})
	if err != nil {
		return nil, err
	}
	a.at = sql.OpenDB(conn)

	if a.ln, err = net.Listen("tcp", cfg.listen); err != nil {
		return nil, err
	}
	a.grpc = grpc.NewServer(
		grpc.ForceServerCodecV2(jsonCodec{}),
		// The XID of the caller's global transaction arrives in the
		// metadata; the interceptor puts it into the handler's context.
		grpc.ChainUnaryInterceptor(grpcxid.UnaryServerInterceptor()),
	)
	a.grpc.RegisterService(&accountServiceDesc, a)
	go func() { a.served <- a.grpc.Serve(a.ln) }()
	return a, nil
}

func createTables(ctx context.Context, db *sql.DB, owner string, balance int64) error {
	for _, q := range []string{
		"DROP TABLE IF EXISTS account",
		"CREATE TABLE account (id VARCHAR(32) NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)",
		"DROP TABLE IF EXISTS undo_log",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := undo.CreateTable(ctx, db, "undo_log"); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "INSERT INTO account (id, balance) VALUES (?, ?)", owner, balance)
	return err
}

// addr returns the address the service listens on.
func (a *account) addr() string { return a.ln.Addr().String() }

// Add adds req.Delta to the balance in a local transaction. When the call
// carries an XID (ctx has it, from the grpcxid interceptor), the transaction
// is a branch of the caller's global transaction: its commit registers the
// branch and writes the undo log, and the coordinator later commits it or
// rolls it back.
func (a *account) Add(ctx context.Context, req *addRequest) (*addReply, error) {
	tx, err := a.at.BeginTx(ctx, nil)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx,
		"UPDATE account SET balance = balance + ? WHERE id = ? AND balance + ? >= 0", req.Delta, req.Account, req.Delta)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: no account %q with enough money", a.name, req.Account)
	}
	rep := new(addReply)
	if err := tx.QueryRowContext(ctx, "SELECT balance FROM account WHERE id = ?", req.Account).Scan(&rep.Balance); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	if err := tx.Commit(); err != nil {
		return nil, status.Error(codes.Aborted, err.Error())
	}
	return rep, nil
}

// Balance reads a balance and counts the undo_log rows, outside any global
// transaction.
func (a *account) Balance(ctx context.Context, req *balanceRequest) (*balanceReply, error) {
	rep := new(balanceReply)
	err := a.raw.QueryRowContext(ctx, "SELECT balance FROM account WHERE id = ?", req.Account).Scan(&rep.Balance)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "%s: no account %q", a.name, req.Account)
	}
	if err == nil {
		err = a.raw.QueryRowContext(ctx, "SELECT COUNT(*) FROM undo_log").Scan(&rep.UndoLogRows)
	}
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return rep, nil
}

// close stops serving (letting calls in progress finish), then closes the
// client (waiting for phase-two calls in progress), the data source and the
// database server. Calls after the first return its result.
func (a *account) close() error {
	a.closeOnce.Do(func() { a.closeErr = a.shutdown() })
	return a.closeErr
}

func (a *account) shutdown() error {
	var errs []error
	if a.grpc != nil {
		a.grpc.GracefulStop()
		if err := <-a.served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			errs = append(errs, err)
		}
	}
	if a.client != nil {
		errs = append(errs, a.client.Close())
	}
	if a.at != nil {
		errs = append(errs, a.at.Close())
	}
	if a.raw != nil {
		errs = append(errs, a.raw.Close())
	}
	if a.server != nil {
		errs = append(errs, a.server.Close())
	}
	return errors.Join(errs...)
}

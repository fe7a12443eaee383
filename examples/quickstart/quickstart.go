package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
)

// errRejected is the business error that makes the second transfer fail
// after both databases have been updated.
var errRejected = errors.New("fraud check rejected the transfer")

// run starts what it needs, runs the two transfers and checks the outcome.
// It prints its report on o.out and returns an error when anything failed or
// a balance is not as expected.
func run(ctx context.Context, o options) (err error) {
	coord, err := tc.New(tc.Config{Logger: o.logger})
	if err != nil {
		return err
	}
	if err := coord.Start(ctx, "127.0.0.1:0"); err != nil {
		return fmt.Errorf("start coordinator: %w", err)
	}
	defer coord.Close()

	server, err := dbserver.Open(o.dsn)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, server.Close()) }()

	fmt.Fprintf(o.out, "coordinator  %s (embedded)\n", coord.Addr())
	fmt.Fprintf(o.out, "mysql        %s, databases %s and %s\n\n", server.Where, o.databases[0], o.databases[1])

	client, err := atcc.New(atcc.Config{
		ApplicationID: "quickstart",
		Coordinators:  []string{coord.Addr().String()},
		Logger:        o.logger,
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, client.Close()) }()

	a, err := openBank(ctx, server, o.databases[0], "alice", 100, client, o.logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, a.close()) }()
	b, err := openBank(ctx, server, o.databases[1], "bob", 0, client, o.logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.close()) }()

	r := &reporter{out: o.out, a: a, b: b}
	r.header()
	if err := r.expect(ctx, "start", state{100, 0, 0, 0}); err != nil {
		return err
	}

	// Transfer 30 and commit. Each local transaction commits at once, with
	// its undo log; the global commit then deletes the undo logs in the
	// background.
	err = transfer(ctx, client, a, b, 30, func(ctx context.Context) error {
		return r.expect(ctx, "transfer 30: both local transactions committed", state{70, 30, 1, 1})
	})
	if err != nil {
		return fmt.Errorf("transfer 30: %w", err)
	}
	if err := r.awaitUndoDeleted(ctx); err != nil {
		return err
	}
	if err := r.expect(ctx, "transfer 30: global commit, undo logs deleted", state{70, 30, 0, 0}); err != nil {
		return err
	}

	// Transfer 50 and fail after both updates: the global rollback restores
	// both rows from the undo logs before WithGlobalTx returns.
	terr := transfer(ctx, client, a, b, 50, func(ctx context.Context) error {
		if err := r.expect(ctx, "transfer 50: both local transactions committed", state{20, 80, 1, 1}); err != nil {
			return err
		}
		return errRejected
	})
	if !errors.Is(terr, errRejected) {
		return fmt.Errorf("transfer 50: want %q, got %v", errRejected, terr)
	}
	if err := r.expect(ctx, "transfer 50: "+errRejected.Error()+", rolled back", state{70, 30, 0, 0}); err != nil {
		return fmt.Errorf("%w (the transfer returned: %v)", err, terr)
	}
	fmt.Fprintf(o.out, "\nok: alice has 70 and bob 30, as expected\n")
	return nil
}

// transfer moves amount from from's owner to to's owner in one global
// transaction: one local transaction on each database, then check, whose
// error rolls everything back.
func transfer(ctx context.Context, client *atcc.Client, from, to *bank, amount int64, check func(context.Context) error) error {
	return client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer", Timeout: 30 * time.Second},
		func(ctx context.Context) error {
			if err := from.add(ctx, -amount); err != nil {
				return err
			}
			if err := to.add(ctx, amount); err != nil {
				return err
			}
			return check(ctx)
		})
}

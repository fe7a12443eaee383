package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

const show = "rock-night"

// errPaymentDeclined is the business error that rolls the second booking
// back after its Try.
var errPaymentDeclined = errors.New("payment declined")

// run starts the coordinator, prepares the database, runs the three
// bookings and checks the seat counts after each step. It prints its report
// on o.out.
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
	db, err := server.CreateDatabase(ctx, o.database)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := createTables(ctx, db); err != nil {
		return err
	}

	client, err := atcc.New(atcc.Config{
		ApplicationID: "tcc-example",
		Coordinators:  []string{coord.Addr().String()},
		Logger:        o.logger,
	})
	if err != nil {
		return err
	}
	defer client.Close()
	booking, err := tcc.Register(client, bookSeats{}, tcc.Config{Fence: db, Logger: o.logger})
	if err != nil {
		return err
	}
	defer booking.Close()

	fmt.Fprintf(o.out, "coordinator  %s (embedded)\n", coord.Addr())
	fmt.Fprintf(o.out, "mysql        %s, database %s\n\n", server.Where, o.database)
	r := &reporter{out: o.out, db: db}
	r.header()
	if err := r.expect(ctx, "start", "", seatCounts{10, 0, 0}, ""); err != nil {
		return err
	}

	// Book 3 seats and commit: Try reserves them, the commit confirms
	// (before WithGlobalTx returns: the coordinator commits TCC branches
	// before it answers).
	xid, err := book(ctx, client, booking, 3, func(ctx context.Context, xid string) error {
		return r.expect(ctx, "book 3: tried", xid, seatCounts{7, 3, 0}, "tried")
	})
	if err != nil {
		return fmt.Errorf("book 3: %w", err)
	}
	if err := r.expect(ctx, "book 3: committed, confirmed", xid, seatCounts{7, 0, 3}, "committed"); err != nil {
		return err
	}

	// Book 4 seats and fail after Try: the rollback cancels.
	xid, err = book(ctx, client, booking, 4, func(ctx context.Context, xid string) error {
		if err := r.expect(ctx, "book 4: tried", xid, seatCounts{3, 4, 3}, "tried"); err != nil {
			return err
		}
		return errPaymentDeclined
	})
	if !errors.Is(err, errPaymentDeclined) {
		return fmt.Errorf("book 4: want %q, got %v", errPaymentDeclined, err)
	}
	if err := r.expect(ctx, "book 4: "+errPaymentDeclined.Error()+", cancelled", xid, seatCounts{7, 0, 3}, "rollbacked"); err != nil {
		return err
	}

	// Book 20 seats: Try fails, its work and fence row roll back, and the
	// Cancel that the rollback sends finds no tried branch.
	xid, err = book(ctx, client, booking, 20, func(context.Context, string) error {
		return errors.New("the Try of 20 seats succeeded")
	})
	if !errors.Is(err, errSoldOut) {
		return fmt.Errorf("book 20: want %q, got %v", errSoldOut, err)
	}
	if err := r.expect(ctx, "book 20: "+errSoldOut.Error()+", empty rollback", xid, seatCounts{7, 0, 3}, "suspended"); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "\nok: 7 seats available, 3 sold, as expected\n")
	return nil
}

// book reserves seats for show in a global transaction and then runs then,
// whose error rolls the transaction back. It returns the transaction's XID.
func book(ctx context.Context, client *atcc.Client, p *tcc.Participant, seats int, then func(context.Context, string) error) (xid string, err error) {
	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "book", Timeout: 30 * time.Second},
		func(ctx context.Context) error {
			xid, _ = tm.XID(ctx)
			if err := p.Try(ctx, tcc.Params{"show": show, "seats": seats}); err != nil {
				return err
			}
			return then(ctx, xid)
		})
	return xid, err
}

func createTables(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		"DROP TABLE IF EXISTS seats",
		seatsTable,
		"DROP TABLE IF EXISTS " + tcc.DefaultFenceTable,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := tcc.CreateTable(ctx, db, ""); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, "INSERT INTO seats (show_id, available, reserved, sold) VALUES (?, 10, 0, 0)", show)
	return err
}

// reporter prints the seat counts and a branch's fence status after each
// step and compares them with the expected ones.
type reporter struct {
	out io.Writer
	db  *sql.DB
}

const rowFormat = "%-46s %9v %8v %4v   %v\n"

func (r *reporter) header() {
	fmt.Fprintf(r.out, rowFormat, "step", "available", "reserved", "sold", "fence")
}

// expect prints the seat counts and the fence status of the branch of
// global transaction xid ("" for none), and fails if they are not want and
// wantFence.
func (r *reporter) expect(ctx context.Context, label, xid string, want seatCounts, wantFence string) error {
	got, err := readSeats(ctx, r.db, show)
	if err != nil {
		return err
	}
	fence := ""
	if xid != "" {
		if fence, err = fenceStatus(ctx, r.db, xid); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.out, rowFormat, label, got.available, got.reserved, got.sold, fence)
	if got != want || fence != wantFence {
		return fmt.Errorf("%s: got %+v, fence %q; want %+v, fence %q", label, got, fence, want, wantFence)
	}
	return nil
}

// fenceStatus returns the status of the fence row of the one branch of xid.
func fenceStatus(ctx context.Context, db *sql.DB, xid string) (string, error) {
	var status int
	err := db.QueryRowContext(ctx, "SELECT status FROM "+tcc.DefaultFenceTable+" WHERE xid = ?", xid).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "none", nil
	}
	if err != nil {
		return "", err
	}
	switch status {
	case 1:
		return "tried", nil
	case 2:
		return "committed", nil
	case 3:
		return "rollbacked", nil
	case 4:
		return "suspended", nil
	}
	return fmt.Sprint(status), nil
}

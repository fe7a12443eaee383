package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/tcc"
)

// errSoldOut is Try's error when fewer seats are available than asked for.
var errSoldOut = errors.New("not enough seats left")

// seatsTable holds one row per show.
const seatsTable = `CREATE TABLE seats (
  show_id   VARCHAR(32) NOT NULL PRIMARY KEY,
  available INT         NOT NULL,
  reserved  INT         NOT NULL,
  sold      INT         NOT NULL
)`

// bookSeats is the TCC action. Its parameters are "show" (string) and
// "seats" (integer). Every method does its work in ac.Tx, the fence's
// local transaction, so the work commits or rolls back with the fence row;
// the Participant commits it. It holds no state: safe for concurrent use.
type bookSeats struct{}

func (bookSeats) Name() string { return "book-seats" }

// Try moves the seats from available to reserved, if there are enough.
func (bookSeats) Try(ctx context.Context, ac *tcc.ActionContext) error {
	return move(ctx, ac, "available = available - ?, reserved = reserved + ?", "available >= ?", errSoldOut)
}

// Confirm sells the reserved seats.
func (bookSeats) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	return move(ctx, ac, "reserved = reserved - ?, sold = sold + ?", "reserved >= ?", nil)
}

// Cancel makes the reserved seats available again.
func (bookSeats) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	return move(ctx, ac, "reserved = reserved - ?, available = available + ?", "reserved >= ?", nil)
}

// move runs UPDATE seats SET <set> WHERE show_id = ? AND <guard> with the
// branch's seat count for the three placeholders. When no row matches it
// returns short, or, if short is nil, an unretryable error: phase two
// found fewer reserved seats than its Try reserved, which the fence rules out
// unless someone changed the table by hand.
func move(ctx context.Context, ac *tcc.ActionContext, set, guard string, short error) error {
	show, err := ac.Params.String("show")
	if err != nil {
		return tcc.Unretryable(err)
	}
	n, err := ac.Params.Int64("seats")
	if err != nil {
		return tcc.Unretryable(err)
	}
	res, err := ac.Tx.ExecContext(ctx, "UPDATE seats SET "+set+" WHERE show_id = ? AND "+guard, n, n, show, n)
	if err != nil {
		return err
	}
	if rows, err := res.RowsAffected(); err != nil || rows == 1 {
		return err
	}
	if short != nil {
		return fmt.Errorf("%s: %w", show, short)
	}
	return tcc.Unretryable(fmt.Errorf("%s: %d reserved seats expected, not found", show, n))
}

// seatCounts is one show's row.
type seatCounts struct{ available, reserved, sold int }

func readSeats(ctx context.Context, db *sql.DB, show string) (seatCounts, error) {
	var c seatCounts
	err := db.QueryRowContext(ctx, "SELECT available, reserved, sold FROM seats WHERE show_id = ?", show).
		Scan(&c.available, &c.reserved, &c.sold)
	return c, err
}

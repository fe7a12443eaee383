package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// state is what the report shows after each step.
type state struct {
	alice, bob   int64 // balances
	undoA, undoB int   // undo_log rows in each database
}

// reporter prints the state of both banks after each step and compares it
// with the expected one.
type reporter struct {
	out  io.Writer
	a, b *bank
}

const rowFormat = "%-60s %6v %6v   %v\n"

func (r *reporter) header() {
	fmt.Fprintf(r.out, rowFormat, "step", "alice", "bob", "undo_log rows")
}

func (r *reporter) read(ctx context.Context) (state, error) {
	var s state
	var err error
	if s.alice, s.undoA, err = r.a.balance(ctx); err != nil {
		return s, err
	}
	if s.bob, s.undoB, err = r.b.balance(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// expect prints the current state under label and fails if it is not want.
func (r *reporter) expect(ctx context.Context, label string, want state) error {
	got, err := r.read(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, rowFormat, label, got.alice, got.bob,
		fmt.Sprintf("%s %d, %s %d", r.a.name, got.undoA, r.b.name, got.undoB))
	if got != want {
		return fmt.Errorf("%s: got alice %d, bob %d, undo_log rows %d and %d; want %d, %d, %d and %d", label,
			got.alice, got.bob, got.undoA, got.undoB, want.alice, want.bob, want.undoA, want.undoB)
	}
	return nil
}

// awaitUndoDeleted waits until both undo_log tables are empty: after a
// global commit, the coordinator tells each branch to delete its undo log
// in the background, a moment after the commit has returned.
func (r *reporter) awaitUndoDeleted(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := r.read(ctx)
		if err != nil {
			return err
		}
		if s.undoA == 0 && s.undoB == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("undo logs not deleted after the commit: %d and %d rows left", s.undoA, s.undoB)
		case <-tick.C:
		}
	}
}

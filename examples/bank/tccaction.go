package main

import (
	"context"
	"fmt"
	"time"

	"github.com/atcc-go/atcc/tcc"
)

// The TCC side of a transfer: the debit action freezes the amount on the
// payer's row in Try, drops the frozen amount in Confirm and gives it back
// in Cancel; the credit action announces the amount in the payee's
// incoming column in Try, moves it to the balance in Confirm and drops it
// in Cancel. Each runs its SQL in the fence's local transaction
// (ActionContext.Tx), so that the fence makes Confirm and Cancel run once
// whatever the coordinator resends, and turns a Cancel that overtakes its
// Try into an empty rollback that keeps the late Try out.
//
// Params: "id" (account), "amount", and "pause_ms", a pause inside Try
// (the timeout fault), during which the coordinator may time the
// transaction out and send Cancel.

// debitAction is the payer's side in bank database db. Its methods are
// safe for concurrent use.
type debitAction struct {
	db    int
	names bankDBs
}

func (a *debitAction) Name() string { return "debit_" + a.names.bank[a.db] }

func (a *debitAction) Try(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	if err := pause(ctx, ac); err != nil {
		return err
	}
	res, err := ac.Tx.ExecContext(ctx,
		"UPDATE tcc_account SET balance = balance - ?, frozen = frozen + ? WHERE id = ? AND balance >= ?",
		amount, amount, id, amount)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errInsufficient
	}
	return nil
}

func (a *debitAction) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	return execOne(ctx, ac, "UPDATE tcc_account SET frozen = frozen - ? WHERE id = ?", amount, id)
}

func (a *debitAction) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	return execOne(ctx, ac, "UPDATE tcc_account SET balance = balance + ?, frozen = frozen - ? WHERE id = ?", amount, amount, id)
}

// creditAction is the payee's side in bank database db. Its methods are
// safe for concurrent use.
type creditAction struct {
	db    int
	names bankDBs
}

func (a *creditAction) Name() string { return "credit_" + a.names.bank[a.db] }

func (a *creditAction) Try(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	if err := pause(ctx, ac); err != nil {
		return err
	}
	return execOne(ctx, ac, "UPDATE tcc_account SET incoming = incoming + ? WHERE id = ?", amount, id)
}

func (a *creditAction) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	return execOne(ctx, ac, "UPDATE tcc_account SET balance = balance + ?, incoming = incoming - ? WHERE id = ?", amount, amount, id)
}

func (a *creditAction) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	id, amount, err := transferParams(ac)
	if err != nil {
		return err
	}
	return execOne(ctx, ac, "UPDATE tcc_account SET incoming = incoming - ? WHERE id = ?", amount, id)
}

// transferParams reads a transfer's account and amount.
func transferParams(ac *tcc.ActionContext) (id, amount int64, err error) {
	if id, err = ac.Params.Int64("id"); err != nil {
		return 0, 0, err
	}
	if amount, err = ac.Params.Int64("amount"); err != nil {
		return 0, 0, err
	}
	return id, amount, nil
}

// pause sleeps for the Try's "pause_ms" parameter, if any.
func pause(ctx context.Context, ac *tcc.ActionContext) error {
	if !ac.Params.Has("pause_ms") {
		return nil
	}
	ms, err := ac.Params.Int64("pause_ms")
	if err != nil {
		return err
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// execOne runs an UPDATE of one account in the fence's transaction and
// fails unless it changed exactly one row.
func execOne(ctx context.Context, ac *tcc.ActionContext, query string, args ...any) error {
	res, err := ac.Tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%s: %d rows changed, want 1", query, n)
	}
	return nil
}

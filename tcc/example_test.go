package tcc_test

import (
	"context"
	"database/sql"
	"errors"
	"log"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

// debit freezes an amount of an account in Try, spends it in Confirm and
// unfreezes it in Cancel. With a fence, its SQL runs in ac.Tx, so each
// phase takes effect once.
type debit struct{}

func (debit) Name() string { return "account-debit" }

func (debit) Try(ctx context.Context, ac *tcc.ActionContext) error {
	account, amount, err := accountAmount(ac)
	if err != nil {
		return err
	}
	res, err := ac.Tx.ExecContext(ctx,
		"UPDATE account SET frozen = frozen + ? WHERE id = ? AND balance - frozen >= ?", amount, account, amount)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errors.New("insufficient funds")
	}
	return nil
}

func (debit) Confirm(ctx context.Context, ac *tcc.ActionContext) error {
	account, amount, err := accountAmount(ac)
	if err != nil {
		return tcc.Unretryable(err) // bad parameters never get better
	}
	_, err = ac.Tx.ExecContext(ctx,
		"UPDATE account SET balance = balance - ?, frozen = frozen - ? WHERE id = ?", amount, amount, account)
	return err // an error is retried by the coordinator
}

func (debit) Cancel(ctx context.Context, ac *tcc.ActionContext) error {
	account, amount, err := accountAmount(ac)
	if err != nil {
		return tcc.Unretryable(err)
	}
	_, err = ac.Tx.ExecContext(ctx, "UPDATE account SET frozen = frozen - ? WHERE id = ?", amount, account)
	return err
}

func accountAmount(ac *tcc.ActionContext) (account, amount int64, err error) {
	if account, err = ac.Params.Int64("account"); err != nil {
		return 0, 0, err
	}
	amount, err = ac.Params.Int64("amount")
	return account, amount, err
}

var (
	client *atcc.Client // from atcc.New
	db     *sql.DB      // the service's database, holding tcc_fence_log
)

func Example() {
	ctx := context.Background()
	if err := tcc.CreateTable(ctx, db, ""); err != nil {
		log.Fatal(err)
	}
	p, err := tcc.Register(client, debit{}, tcc.Config{Fence: db})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
		return p.Try(ctx, tcc.Params{"account": 17, "amount": 250})
	})
	if errors.Is(err, tcc.ErrSuspended) {
		log.Print("the purchase timed out before the debit was tried")
	}
}

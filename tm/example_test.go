package tm_test

import (
	"context"
	"errors"
	"log"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tm"
)

var client *atcc.Client // from atcc.New

func placeOrder(context.Context) error { return nil }
func writeAudit(context.Context) error { return nil }

func ExampleManager_WithGlobalTx() {
	err := client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "purchase"},
		func(ctx context.Context) error {
			// ctx carries the XID: AT statements and TCC actions run
			// with it join the transaction.
			return placeOrder(ctx) // nil commits, an error or a panic rolls back
		})
	var se *tm.StatusError
	switch {
	case errors.As(err, &se):
		log.Printf("the coordinator ended %s as %v", se.XID, se.Got)
	case err != nil:
		log.Print(err)
	}
}

func ExampleManager_Begin() {
	ctx, tx, err := client.TM().Begin(context.Background(), tm.TxOptions{Name: "purchase"})
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx) // does nothing once committed

	if err := placeOrder(ctx); err != nil {
		log.Print(err)
		return // the deferred Rollback ends the transaction
	}

	// The audit record must survive a rollback of the purchase: write it
	// in a transaction of its own. The outer one is suspended meanwhile
	// and resumes with ctx.
	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "audit", Propagation: tm.RequiresNew}, writeAudit)
	if err != nil {
		log.Print(err)
	}

	if err := tx.Commit(ctx); err != nil {
		log.Print(err)
	}
}

func sendConfirmationEmail(context.Context) error { return nil }

// WithGlobalTx runs fn again when it loses a conflict with another global
// transaction, so fn may run more than once: keep side effects that the
// rollback cannot undo out of it, after the commit, or turn the retries
// off for it.
func ExampleTxOptions_conflictRetries() {
	err := client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "purchase"}, placeOrder)
	if err == nil {
		err = sendConfirmationEmail(context.Background()) // once, after the commit
	}
	var conflict *tm.ConflictError
	if errors.As(err, &conflict) {
		log.Printf("still conflicting after %d attempts: %v", conflict.Attempts, err)
	}

	// A transaction whose fn must not run twice.
	err = client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "audit", ConflictRetries: -1}, writeAudit)
	if errors.Is(err, tm.ErrConflict) {
		log.Print("lost a conflict; not retried: ", err)
	}
}

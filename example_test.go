package atcc_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tm"
)

// Begin a global transaction, do the work with the returned context, and
// commit; the deferred Rollback does nothing after Commit.
func Example() {
	client, err := atcc.New(atcc.Config{
		ApplicationID: "order-service",
		Coordinators:  []string{"127.0.0.1:8091"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, tx, err := client.TM().Begin(context.Background(), tm.TxOptions{Name: "purchase", Timeout: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback(ctx)

	// ... AT statements, TCC actions and calls to other services, all with ctx ...

	if err := tx.Commit(ctx); err != nil {
		var se *tm.StatusError
		if errors.As(err, &se) && se.RolledBack() {
			log.Printf("purchase %s was rolled back (%v)", se.XID, se.Got)
			return
		}
		log.Printf("purchase: outcome unknown: %v", err)
	}
}

// Commit when the function returns nil, roll back when it returns an error
// or panics.
func ExampleClient_TM() {
	client, err := atcc.New(atcc.Config{
		ApplicationID: "order-service",
		Coordinators:  []string{"127.0.0.1:8091"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	err = client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
		xid, _ := tm.XID(ctx)
		log.Printf("working in global transaction %s", xid)
		return nil // commit
	})
	if err != nil {
		log.Print(err)
	}
}

// Ping checks at startup that a coordinator is reachable and accepts the
// client.
func ExampleClient_Ping() {
	client, err := atcc.New(atcc.Config{
		ApplicationID: "order-service",
		Coordinators:  []string{"tc-1.internal:8091", "tc-2.internal:8091"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx); err != nil {
		log.Fatal(err)
	}
}

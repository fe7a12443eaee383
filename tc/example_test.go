package tc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
)

// A coordinator embedded in a program or a test, with the memory store, and
// a TM that begins and commits a global transaction through it.
func Example() {
	ctx := context.Background()
	srv, err := tc.New(tc.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	tm, err := rpc.NewClient(rpc.ClientConfig{Addresses: []string{srv.Addr().String()}, ApplicationID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer tm.Close()
	resp, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60_000, TransactionName: "example"})
	if err != nil {
		log.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	resp, err = tm.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: xid})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.(*protocol.GlobalCommitResponse).GlobalStatus)
	// Output: Committed
}

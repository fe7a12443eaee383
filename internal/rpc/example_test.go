package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// coordinator is a toy ServerHandler: it begins transactions and refuses
// every lock.
type coordinator struct{ addr string }

func (c *coordinator) HandleRequest(_ context.Context, _ *rpc.ServerSession, req protocol.Message) protocol.Message {
	switch req.(type) {
	case *protocol.GlobalBeginRequest:
		return &protocol.GlobalBeginResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, XID: c.addr + ":1001"}
	case *protocol.BranchRegisterRequest:
		return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultFailed,
			Msg: "row locked by another transaction", ExceptionCode: protocol.CodeLockKeyConflict}}
	}
	return nil // the server answers with a failure
}

func (c *coordinator) SessionRegistered(s *rpc.ServerSession) {}
func (c *coordinator) SessionClosed(s *rpc.ServerSession)     {}

// A client and a coordinator in one process: begin a global transaction,
// then fail to register a branch because of a lock conflict.
func Example() {
	ctx := context.Background()
	tc := &coordinator{}
	srv := rpc.NewServer(rpc.ServerConfig{}, tc)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	tc.addr = srv.Addr().String()

	client, err := rpc.NewClient(rpc.ClientConfig{
		Addresses:     []string{srv.Addr().String()},
		ApplicationID: "orders",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	resp, err := client.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "place-order"})
	if err != nil {
		log.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	fmt.Println("began", xid == tc.addr+":1001")

	_, err = client.Call(ctx, rpc.RoleRM, &protocol.BranchRegisterRequest{
		XID: xid, BranchType: protocol.BranchAT, ResourceID: "jdbc:mysql://db:3306/orders", LockKey: "orders:42",
	})
	fmt.Println("lock conflict:", errors.Is(err, protocol.ErrLockKeyConflict))
	fmt.Println("safe to resend as is:", rpc.IsRetryable(err))
	// Output:
	// began true
	// lock conflict: true
	// safe to resend as is: false
}

// A resource manager answers the coordinator's phase-two requests through a
// RequestHandler; the transport runs it on a worker pool and always sends an
// answer.
func ExampleRequestHandlerFunc() {
	handler := rpc.RequestHandlerFunc(func(ctx context.Context, req protocol.Message) protocol.Message {
		switch req.(type) {
		case *protocol.BranchCommitRequest:
			// Delete the branch's undo log here.
			return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess},
				BranchStatus: protocol.PhaseTwoCommitted}
		case *protocol.BranchRollbackRequest:
			// Apply the undo log here; on a transient error answer
			// PhaseTwoRollbackFailedRetryable so the coordinator retries.
			return &protocol.BranchRollbackResponse{Result: protocol.Result{Code: protocol.ResultSuccess},
				BranchStatus: protocol.PhaseTwoRollbacked}
		}
		return nil // UndoLogDelete is oneway
	})
	client, err := rpc.NewClient(rpc.ClientConfig{
		Addresses:     []string{"127.0.0.1:8091"},
		ApplicationID: "orders",
		Handler:       handler,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	// Resources are registered with every RM session, now and after each
	// reconnection.
	if err := client.AddResource(context.Background(), "jdbc:mysql://db:3306/orders"); err != nil {
		log.Fatal(err)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/tm/grpcxid"
)

// errRejected is the caller's business error that rolls the second transfer
// back after both services have updated their databases.
var errRejected = errors.New("fraud check rejected the transfer")

// The accounts the services create.
const (
	alice = "alice" // at account-a, starts with 100
	bob   = "bob"   // at account-b, starts with 0
)

// state is what the report shows after each step.
type state struct {
	alice, bob   int64 // balances
	undoA, undoB int   // undo_log rows of each service
}

func (s state) plus(delta int64, undo int) state {
	return state{s.alice - delta, s.bob + delta, s.undoA + undo, s.undoB + undo}
}

// caller begins the global transactions and calls both services in them.
type caller struct {
	client *atcc.Client
	a, b   accountClient
	out    io.Writer
	conns  []*grpc.ClientConn
}

// newCaller connects (lazily) to the services at addrA and addrB.
func newCaller(client *atcc.Client, addrA, addrB string, out io.Writer) (*caller, error) {
	c := &caller{client: client, out: out}
	for _, addr := range []string{addrA, addrB} {
		cc, err := grpc.NewClient(addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(jsonCodec{})),
			// Sends the XID of the call's context in the metadata.
			grpc.WithUnaryInterceptor(grpcxid.UnaryClientInterceptor()),
		)
		if err != nil {
			c.close()
			return nil, err
		}
		c.conns = append(c.conns, cc)
	}
	c.a, c.b = accountClient{c.conns[0]}, accountClient{c.conns[1]}
	return c, nil
}

func (c *caller) close() {
	for _, cc := range c.conns {
		cc.Close()
	}
}

// run runs the two transfers and checks the balances after each step,
// relative to those it finds at the start (a previous run may have moved
// money already).
func (c *caller) run(ctx context.Context) error {
	start, err := c.awaitServices(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, rowFormat, "step", "alice", "bob", "undo_log rows (a, b)")
	if err := c.expect(ctx, "start", start); err != nil {
		return err
	}

	err = c.transfer(ctx, 30, func(ctx context.Context) error {
		return c.expect(ctx, "transfer 30: both services updated", start.plus(30, 1))
	})
	if err != nil {
		return fmt.Errorf("transfer 30: %w", err)
	}
	if err := c.awaitUndo(ctx, start); err != nil {
		return err
	}
	committed := start.plus(30, 0)
	if err := c.expect(ctx, "transfer 30: committed, undo logs deleted", committed); err != nil {
		return err
	}

	terr := c.transfer(ctx, 20, func(ctx context.Context) error {
		if err := c.expect(ctx, "transfer 20: both services updated", committed.plus(20, 1)); err != nil {
			return err
		}
		return errRejected
	})
	if !errors.Is(terr, errRejected) {
		return fmt.Errorf("transfer 20: want %q, got %v", errRejected, terr)
	}
	if err := c.expect(ctx, "transfer 20: "+errRejected.Error()+", rolled back", committed); err != nil {
		return fmt.Errorf("%w (the transfer returned: %v)", err, terr)
	}
	fmt.Fprintf(c.out, "\nok: alice has %d and bob %d, as expected\n", committed.alice, committed.bob)
	return nil
}

// transfer moves amount from alice to bob in one global transaction, one
// call to each service, then runs check, whose error rolls back.
func (c *caller) transfer(ctx context.Context, amount int64, check func(context.Context) error) error {
	return c.client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer", Timeout: 30 * time.Second},
		func(ctx context.Context) error {
			if _, err := c.a.Add(ctx, &addRequest{Account: alice, Delta: -amount}); err != nil {
				return err
			}
			if _, err := c.b.Add(ctx, &addRequest{Account: bob, Delta: amount}); err != nil {
				return err
			}
			return check(ctx)
		})
}

// awaitServices waits up to 30 s for both services to answer (they may
// still be starting) and returns the state they report.
func (c *caller) awaitServices(ctx context.Context) (state, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return c.read(ctx, grpc.WaitForReady(true))
}

// read asks both services for their balance and undo_log rows. The calls
// carry no XID: ctx may belong to a global transaction, but reading the
// state is no part of it.
func (c *caller) read(ctx context.Context, opts ...grpc.CallOption) (state, error) {
	ctx = tm.WithoutXID(ctx)
	var s state
	ra, err := c.a.Balance(ctx, &balanceRequest{Account: alice}, opts...)
	if err != nil {
		return s, fmt.Errorf("account-a: %w", err)
	}
	rb, err := c.b.Balance(ctx, &balanceRequest{Account: bob}, opts...)
	if err != nil {
		return s, fmt.Errorf("account-b: %w", err)
	}
	return state{ra.Balance, rb.Balance, ra.UndoLogRows, rb.UndoLogRows}, nil
}

const rowFormat = "%-60s %6v %6v   %v\n"

// expect prints the current state under label and fails if it is not want.
func (c *caller) expect(ctx context.Context, label string, want state) error {
	got, err := c.read(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, rowFormat, label, got.alice, got.bob, fmt.Sprintf("%d, %d", got.undoA, got.undoB))
	if got != want {
		return fmt.Errorf("%s: got %+v, want %+v", label, got, want)
	}
	return nil
}

// awaitUndo waits until the services' undo_log tables are back to what
// start had: after a global commit the coordinator tells each branch to
// delete its undo log in the background, a moment after the commit returned.
func (c *caller) awaitUndo(ctx context.Context, start state) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := c.read(ctx)
		if err != nil {
			return err
		}
		if s.undoA == start.undoA && s.undoB == start.undoB {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("undo logs not deleted after the commit: %d and %d rows", s.undoA, s.undoB)
		case <-tick.C:
		}
	}
}

package atcc_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/tm"
)

// TestCoordinatorDown is issue 13's first point: with nothing listening,
// Begin, WithGlobalTx and Ping fail within DialTimeout + 2 s (a bound, not
// a speed assertion; it took 3 min 02 s) with an error that names the
// address and the cause.
func TestCoordinatorDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const dialTimeout = 2 * time.Second
	c, err := atcc.New(atcc.Config{ApplicationID: "app", Coordinators: []string{addr}, DialTimeout: dialTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	check := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		err := f()
		if took := time.Since(start); took > dialTimeout+2*time.Second {
			t.Errorf("%s failed after %v, want within DialTimeout %v + 2 s", what, took, dialTimeout)
		}
		if !errors.Is(err, rpc.ErrNoSession) || !errors.Is(err, syscall.ECONNREFUSED) ||
			!strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v, want the refused dial to %s", what, err, addr)
		}
	}
	check("Begin", func() error {
		_, _, err := c.TM().Begin(context.Background(), tm.TxOptions{})
		return err
	})
	ran := false
	check("WithGlobalTx", func() error {
		return c.TM().WithGlobalTx(context.Background(), tm.TxOptions{}, func(context.Context) error {
			ran = true
			return nil
		})
	})
	if ran {
		t.Error("WithGlobalTx ran its function without a transaction")
	}
	check("Ping", func() error { return c.Ping(context.Background()) })
}

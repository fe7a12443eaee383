package tm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type otherKey struct{}

// TestLaunchedContext: the context Begin returns for a launcher carries the
// XID and is its parent in every other respect.
func TestLaunchedContext(t *testing.T) {
	m := newTestManager(newFakeTC())
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), otherKey{}, "v"), time.Now().Add(time.Hour))
	ctx, tx, err := m.Begin(parent, TxOptions{Name: "launched"})
	if err != nil {
		t.Fatal(err)
	}
	if xid, ok := XID(ctx); !ok || xid != tx.XID() {
		t.Fatalf("XID = %q, %v; want %q", xid, ok, tx.XID())
	}
	if _, ok := XID(WithoutXID(ctx)); ok {
		t.Fatal("WithoutXID kept the XID")
	}
	if ctx.Value(otherKey{}) != "v" {
		t.Fatal("the parent's value is lost")
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(mustDeadline(t, parent)) {
		t.Fatalf("Deadline = %v, %v", d, ok)
	}
	if s := ctx.(interface{ String() string }).String(); !strings.Contains(s, "WithDeadline") || !strings.HasSuffix(s, tx.XID()+")") {
		t.Fatalf("String = %q", s)
	}
	child, stop := context.WithCancel(ctx)
	defer stop()
	if ctx.Err() != nil || child.Err() != nil {
		t.Fatal("done before its parent")
	}
	cancel()
	<-ctx.Done()
	<-child.Done()
	if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("Err = %v, child %v", ctx.Err(), child.Err())
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func mustDeadline(t *testing.T, ctx context.Context) time.Time {
	t.Helper()
	d, ok := ctx.Deadline()
	if !ok {
		t.Fatal("no deadline")
	}
	return d
}

// TestBeginCommitAllocations pins the Manager's own allocations of a
// launcher's Begin and Commit: one (BenchmarkBeginCommit: 4 when the
// context, the GlobalTx and the requests were apart).
func TestBeginCommitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := NewManager(instantTC{}, Config{})
	ctx := context.Background()
	n := testing.AllocsPerRun(100, func() {
		txCtx, tx, err := m.Begin(ctx, TxOptions{Name: "bench"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(txCtx); err != nil {
			t.Fatal(err)
		}
	})
	if n != 1 {
		t.Fatalf("Begin and Commit: %v allocations, want 1", n)
	}
}

package rm

import (
	"context"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestInflightWaitsForFinalPhaseTwo(t *testing.T) {
	f := newInflight()
	if n := f.wait(context.Background()); n != 0 {
		t.Fatalf("empty table: %d left", n)
	}
	f.add(1)
	f.add(2)
	f.done(1, protocol.PhaseTwoCommitFailedRetryable) // the coordinator sends it again
	f.done(2, protocol.PhaseTwoRollbacked)
	f.done(99, protocol.PhaseTwoCommitted) // not ours
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n := f.wait(ctx); n != 1 {
		t.Fatalf("%d left, want branch 1", n)
	}
	released := make(chan int, 1)
	go func() { released <- f.wait(context.Background()) }()
	f.done(1, protocol.PhaseTwoCommitted)
	select {
	case n := <-released:
		if n != 0 {
			t.Fatalf("%d left", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait not released by the last phase two")
	}
	f.add(3) // the table empties and fills again
	if n := f.wait(ctx); n != 1 {
		t.Fatalf("%d left after refill", n)
	}
}

func TestInflightForgetsOldBranches(t *testing.T) {
	f := newInflight()
	f.add(1)
	f.mu.Lock()
	f.branches[1] = time.Now().Add(-2 * inflightMaxAge)
	f.nextPrune = 2
	f.mu.Unlock()
	f.add(2) // reaches nextPrune: branch 1 is forgotten
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.branches[1]; ok || len(f.branches) != 1 {
		t.Fatalf("branches %v", f.branches)
	}
}

package rm

import (
	"context"
	"sync"
	"sync/atomic"
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

// A phase two that finishes before its BranchRegister has returned (the
// coordinator sends a rollback right after the registration's answer, and
// a worker runs it first) leaves nothing to wait for.
func TestInflightPhaseTwoBeforeRegistration(t *testing.T) {
	f := newInflight()
	f.done(5, protocol.PhaseTwoRollbacked) // overtook its registration
	f.done(6, protocol.PhaseTwoRollbackFailedRetryable)
	f.add(5)
	f.add(6) // its phase two will come again
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if n := f.wait(ctx); n != 1 {
		t.Fatalf("%d left, want branch 6 only", n)
	}
	f.add(5) // a note serves once
	f.mu.Lock()
	_, waiting := f.branches[5]
	f.mu.Unlock()
	if !waiting {
		t.Fatal("a second registration of branch 5 was not recorded")
	}
}

func TestInflightEarlyNotesAge(t *testing.T) {
	f := newInflight()
	f.done(1, protocol.PhaseTwoCommitted)
	f.mu.Lock()
	f.rotated = time.Now().Add(-2 * earlyMaxAge)
	f.mu.Unlock()
	f.done(2, protocol.PhaseTwoCommitted) // rotates: 1 is old, 2 young
	f.mu.Lock()
	_, old1 := f.older[1]
	_, young2 := f.early[2]
	f.rotated = time.Now().Add(-2 * earlyMaxAge)
	f.mu.Unlock()
	if !old1 || !young2 {
		t.Fatalf("after one rotation: older %v, early %v", f.older, f.early)
	}
	f.done(3, protocol.PhaseTwoCommitted) // rotates again: 1 is gone
	f.add(1)
	f.add(2) // still noted: not waited for
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.branches[1]; !ok || len(f.branches) != 1 {
		t.Fatalf("branches %v: want 1 only (its note aged out)", f.branches)
	}
	for range maxEarly + 1 {
		f.noteEarly(9)
	}
	if len(f.early) > maxEarly || len(f.older) > maxEarly {
		t.Fatalf("notes grew to %d and %d", len(f.early), len(f.older))
	}
}

// Phase two races phase one: the coordinator answers BranchRegister and
// sends the branch's rollback at once; the worker running it and the
// goroutine returning from BranchRegister go in either order. Every branch
// ends up finished, so WaitPhaseTwo has nothing to wait for.
func TestPhaseTwoRacingRegistration(t *testing.T) {
	m, f, _ := newTestManager(t, Config{})
	if err := m.Register(t.Context(), answer(status(protocol.PhaseTwoRollbacked, nil))); err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	var workers sync.WaitGroup
	f.respond = func(req protocol.Message) (protocol.Message, error) {
		r := req.(*protocol.BranchRegisterRequest)
		id := next.Add(1)
		rollback := &protocol.BranchRollbackRequest{XID: r.XID, BranchID: id, BranchType: r.BranchType, ResourceID: r.ResourceID}
		if id%2 == 0 { // surely before BranchRegister returns
			m.HandleRequest(context.Background(), rollback)
		} else { // in a race with it
			workers.Go(func() { m.HandleRequest(context.Background(), rollback) })
		}
		return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchID: id}, nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := m.BranchRegister(t.Context(), Branch{XID: "127.0.0.1:8091:1", BranchType: protocol.BranchAT, ResourceID: "db1"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	workers.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if n := m.WaitPhaseTwo(ctx); n != 0 {
		t.Fatalf("%d branches waited for after their phase two finished", n)
	}
}

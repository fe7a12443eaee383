package rm

import (
	"context"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// inflight tracks the branches a Manager registered whose phase two has not
// run here yet, so that a process about to exit can wait for them (see
// Manager.WaitPhaseTwo). It is safe for concurrent use.
//
// The coordinator may run a branch's phase two on another instance of the
// same resource, or never reach this process; an entry is therefore
// forgotten after inflightMaxAge, so that the table of a long-running
// process stays small.
//
// Phase two may also finish here before BranchRegister has returned: the
// coordinator can send a rollback as soon as it has sent the registration's
// answer, and a worker may run it before the registering goroutine is
// scheduled. done then leaves a note, which the branch's add finds, so
// that the branch is not waited for. Notes are kept in two generations:
// every earlyMaxAge (or when the young one is full) the old one is
// dropped and the young one becomes old, so a note lives between one and
// two earlyMaxAge, without scanning.
type inflight struct {
	mu        sync.Mutex
	branches  map[int64]time.Time // branch id -> registration time; guarded by mu
	empty     chan struct{}       // closed while branches is empty; guarded by mu
	nextPrune int                 // prune branches when it reaches this size; guarded by mu

	early, older map[int64]struct{} // ids whose phase two found no registration; guarded by mu
	rotated      time.Time          // when older was last replaced; guarded by mu
}

const (
	// inflightMaxAge is how long a branch is waited for at most.
	inflightMaxAge = 10 * time.Minute
	// earlyMaxAge is how long the note of a phase two that found no
	// registration is kept at least: far longer than the time between the
	// coordinator's answer to BranchRegister and its caller running.
	earlyMaxAge = time.Minute
	// maxEarly caps a generation of notes. A flood of phase-two requests
	// for branches of other instances rotates the generations sooner; a
	// branch whose note is lost that way is waited for in vain, up to
	// atcc.Config.CloseTimeout.
	maxEarly = 1 << 14
)

func newInflight() *inflight {
	e := make(chan struct{})
	close(e)
	return &inflight{
		branches: make(map[int64]time.Time), empty: e, nextPrune: 1024,
		early: make(map[int64]struct{}), older: make(map[int64]struct{}), rotated: time.Now(),
	}
}

// add records a branch this Manager registered, unless its phase two has
// already finished here.
func (f *inflight) add(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.early[id]; ok {
		delete(f.early, id)
		return
	}
	if _, ok := f.older[id]; ok {
		delete(f.older, id)
		return
	}
	if len(f.branches) == 0 {
		f.empty = make(chan struct{})
	}
	now := time.Now()
	f.branches[id] = now
	if len(f.branches) >= f.nextPrune {
		for b, at := range f.branches {
			if now.Sub(at) > inflightMaxAge {
				delete(f.branches, b)
			}
		}
		f.nextPrune = max(1024, 2*len(f.branches))
	}
}

// done forgets a branch whose phase two ended with status st here, unless
// st asks the coordinator to send it again.
func (f *inflight) done(id int64, st protocol.BranchStatus) {
	switch st {
	case protocol.PhaseTwoCommitted, protocol.PhaseTwoRollbacked,
		protocol.PhaseTwoCommitFailedUnretryable, protocol.PhaseTwoRollbackFailedUnretryable:
	default:
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.branches[id]; !ok {
		f.noteEarly(id)
		return
	}
	delete(f.branches, id)
	if len(f.branches) == 0 {
		close(f.empty)
	}
}

// noteEarly records that the phase two of a branch not (yet) registered
// here has finished. f.mu is held.
func (f *inflight) noteEarly(id int64) {
	if now := time.Now(); now.Sub(f.rotated) > earlyMaxAge || len(f.early) >= maxEarly {
		f.older, f.early, f.rotated = f.early, make(map[int64]struct{}), now
	}
	f.early[id] = struct{}{}
}

// wait blocks until no branch is left or ctx ends, and returns how many
// are left.
func (f *inflight) wait(ctx context.Context) int {
	for {
		f.mu.Lock()
		n, empty := len(f.branches), f.empty
		f.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-empty:
		case <-ctx.Done():
			f.mu.Lock()
			defer f.mu.Unlock()
			return len(f.branches)
		}
	}
}

// WaitPhaseTwo waits until every branch registered through this Manager in
// the last 10 minutes has had its phase two (commit or rollback) run here,
// or until ctx ends, and returns the number of branches still waiting.
//
// A process that exits right after its global transactions end would
// otherwise leave their phase two to the coordinator, which finishes an AT
// branch's asynchronous commit (deleting its undo_log rows) or a TCC
// branch's confirm only once an instance of the same resource connects
// again. atcc.Client.Close calls it, bounded by Config.CloseTimeout. Safe
// for concurrent use.
func (m *Manager) WaitPhaseTwo(ctx context.Context) int {
	return m.inflight.wait(ctx)
}

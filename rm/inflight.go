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
type inflight struct {
	mu        sync.Mutex
	branches  map[int64]time.Time // branch id -> registration time; guarded by mu
	empty     chan struct{}       // closed while branches is empty; guarded by mu
	nextPrune int                 // prune when len(branches) reaches it; guarded by mu
}

// inflightMaxAge is how long a branch is waited for at most.
const inflightMaxAge = 10 * time.Minute

func newInflight() *inflight {
	e := make(chan struct{})
	close(e)
	return &inflight{branches: make(map[int64]time.Time), empty: e, nextPrune: 1024}
}

func (f *inflight) add(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
		return
	}
	delete(f.branches, id)
	if len(f.branches) == 0 {
		close(f.empty)
	}
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

package tcc

import "sync"

// attemptsKept is how many phase-two calls a Participant remembers for
// ActionContext.Retry.
const attemptsKept = 4096

// attemptKey names one phase-two method of one branch.
type attemptKey struct {
	xid      string
	branchID int64
	commit   bool
}

// attempts remembers the last attemptsKept phase-two calls, oldest
// forgotten first. It is safe for concurrent use.
type attempts struct {
	mu   sync.Mutex
	seen map[attemptKey]struct{} // guarded by mu
	ring []attemptKey            // guarded by mu; insertion order
	next int                     // guarded by mu; the ring slot to fill
}

func newAttempts() *attempts {
	return &attempts{seen: make(map[attemptKey]struct{})}
}

// mark records a call of k and reports whether one was recorded before.
func (a *attempts) mark(k attemptKey) (before bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[k]; ok {
		return true
	}
	if len(a.ring) < attemptsKept {
		a.ring = append(a.ring, k)
	} else {
		delete(a.seen, a.ring[a.next])
		a.ring[a.next] = k
		a.next = (a.next + 1) % attemptsKept
	}
	a.seen[k] = struct{}{}
	return false
}

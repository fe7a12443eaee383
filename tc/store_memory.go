package tc

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// maxRememberedEnds bounds how many successfully ended transactions the
// memory store remembers (Config.EndedRetention bounds how long).
const maxRememberedEnds = 100_000

// memStore keeps everything in process memory, under one mutex: every
// operation is a few map operations, so a single lock is both simplest and
// fast enough. Nothing survives the process.
type memStore struct {
	ids timeIDs

	mu      sync.Mutex
	globals map[string]*memGlobal // active, in phase two, or failed
	due     dueHeap               // globals with dueAt > 0
	locks   map[string]lockHolder // row key -> holder
	ended   map[string]globalTx   // successful ends, remembered until dueAt
	endedQ  []string              // ended keys, oldest first (a FIFO)

	// The largest sizes globals and locks reached since they were last
	// rebuilt: Go maps never give back memory, so a map that shrinks to
	// a quarter of its peak is copied into a new one (shrinkMaps).
	globalsPeak, locksPeak int
}

type memGlobal struct {
	g          globalTx
	branches   []memBranch  // registration order; first[:0] at first
	first      [1]memBranch // room for the first branch: 1 allocation per transaction fewer (atcc-bench)
	registered bool         // a branch was registered (some may be removed)
	heapIdx    int          // index in memStore.due, -1 if absent
}

type memBranch struct {
	b     branchTx
	locks []rowLock // the row locks this branch holds: its registration's
}

type lockHolder struct {
	xid      string
	branchID int64
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{
		ids:     timeIDs{now: now},
		globals: make(map[string]*memGlobal),
		locks:   make(map[string]lockHolder),
		ended:   make(map[string]globalTx),
	}
}

func (s *memStore) nextID(context.Context) (int64, error) { return s.ids.next(), nil }

func (s *memStore) insertGlobal(_ context.Context, g globalTx) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := &memGlobal{g: g, heapIdx: -1}
	mg.branches = mg.first[:0]
	s.globals[g.xid] = mg
	s.globalsPeak = max(s.globalsPeak, len(s.globals))
	s.setDue(mg, g.dueAt)
	return nil
}

func (s *memStore) global(_ context.Context, xid string) (globalTx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mg := s.globals[xid]; mg != nil {
		return mg.g, nil
	}
	if g, ok := s.ended[xid]; ok {
		return g, nil
	}
	return globalTx{}, errNoGlobal
}

func (s *memStore) branches(_ context.Context, xid string) ([]branchTx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil {
		return nil, nil
	}
	return mg.branchList(), nil
}

func (mg *memGlobal) branchList() []branchTx {
	bs := make([]branchTx, len(mg.branches))
	for i := range mg.branches {
		bs[i] = mg.branches[i].b
	}
	return bs
}

func (s *memStore) registerBranch(_ context.Context, b branchTx, locks []rowLock) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[b.xid]
	if mg == nil {
		if g, ok := s.ended[b.xid]; ok {
			return &notActiveError{status: g.status}
		}
		return errNoGlobal
	}
	if mg.g.status != protocol.GlobalBegin {
		return &notActiveError{status: mg.g.status}
	}
	mine := 0 // locks the transaction holds already
	for _, l := range locks {
		h, held := s.locks[l.key]
		if !held {
			continue
		}
		mine++
		if h.xid != b.xid {
			e := &lockConflictError{rowKey: l.key, holderXID: h.xid}
			if hg := s.globals[h.xid]; hg != nil {
				e.holderRollingBack = isRollbackPhase(hg.g.status)
			}
			return e
		}
	}
	if mine > 0 { // they stay with the branch holding them
		locks = slices.DeleteFunc(locks, func(l rowLock) bool { _, held := s.locks[l.key]; return held })
	}
	for _, l := range locks {
		s.locks[l.key] = lockHolder{xid: b.xid, branchID: b.branchID}
		s.locksPeak = max(s.locksPeak, len(s.locks))
	}
	// The branch keeps the caller's slice rather than a copy of its keys:
	// 1 allocation per registration fewer (atcc-bench).
	mg.branches = append(mg.branches, memBranch{b: b, locks: locks})
	mg.registered = true
	return nil
}

func (s *memStore) reportBranch(_ context.Context, xid string, branchID int64, status protocol.BranchStatus, appData string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil {
		if _, ok := s.ended[xid]; ok {
			return errNoBranch
		}
		return errNoGlobal
	}
	for i := range mg.branches {
		if b := &mg.branches[i].b; b.branchID == branchID {
			b.status = status
			if appData != "" {
				b.appData = appData
			}
			return nil
		}
	}
	return errNoBranch
}

func (s *memStore) lockable(_ context.Context, xid string, locks []rowLock) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range locks {
		if h, held := s.locks[l.key]; held && h.xid != xid {
			return false, nil
		}
	}
	return true, nil
}

func (s *memStore) endGlobal(_ context.Context, xid string, r endRule) (globalTx, endVerdict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil {
		if g, ok := s.ended[xid]; ok {
			_, v := r.decide(&g, branchSummary{}) // an ended transaction: no change
			return g, v, nil
		}
		return globalTx{}, endVerdict{}, errNoGlobal
	}
	bs := branchSummary{onlyAT: true}
	for i := range mg.branches {
		bs.add(&mg.branches[i].b)
	}
	d, v := r.decide(&mg.g, bs)
	if !d.apply {
		return mg.g, v, nil
	}
	if d.releaseLocks {
		for i := range mg.branches {
			s.unlock(&mg.branches[i])
		}
	}
	s.apply(mg, d.change)
	return mg.g, v, nil
}

func (s *memStore) endEmpty(_ context.Context, xid string, now int64, c change) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil || mg.g.status != protocol.GlobalBegin || mg.registered || mg.g.dueAt <= now ||
		c.ifApp != "" && mg.g.appID != c.ifApp {
		return false, nil
	}
	s.apply(mg, c)
	return true, nil
}

func (s *memStore) transition(_ context.Context, xid string, from protocol.GlobalStatus, owner string, c change) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil || mg.g.status != from || mg.g.owner != owner {
		return false, nil
	}
	s.apply(mg, c)
	return true, nil
}

// apply writes c to mg; s.mu is held.
func (s *memStore) apply(mg *memGlobal, c change) {
	mg.g.status, mg.g.owner, mg.g.attempts = c.status, c.owner, c.attempts
	if !isSuccessEnd(c.status) {
		mg.g.dueAt = c.dueAt
		s.setDue(mg, c.dueAt)
		return
	}
	for i := range mg.branches {
		s.unlock(&mg.branches[i])
	}
	mg.branches, mg.first = nil, [1]memBranch{}
	s.setDue(mg, 0)
	delete(s.globals, mg.g.xid)
	s.shrinkMaps()
	if c.dueAt == 0 {
		return
	}
	mg.g.dueAt = c.dueAt
	s.ended[mg.g.xid] = mg.g
	s.endedQ = append(s.endedQ, mg.g.xid)
	if len(s.ended) > maxRememberedEnds {
		s.forgetOldest()
	}
}

func (s *memStore) unlock(mb *memBranch) {
	for _, l := range mb.locks {
		if h := s.locks[l.key]; h.xid == mb.b.xid && h.branchID == mb.b.branchID {
			delete(s.locks, l.key)
		}
	}
	mb.locks = nil
}

func (s *memStore) removeBranch(_ context.Context, xid string, branchID int64, _ bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil {
		return nil
	}
	for i := range mg.branches {
		if mg.branches[i].b.branchID == branchID {
			s.unlock(&mg.branches[i])
			mg.branches = slices.Delete(mg.branches, i, i+1)
			return nil
		}
	}
	return nil
}

func (s *memStore) claimDue(_ context.Context, now int64, owner string, leaseUntil int64, limit int) ([]globalTx, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []globalTx
	for len(out) < limit && len(s.due) > 0 && s.due[0].g.dueAt <= now {
		mg := s.due[0]
		if !isDrivable(mg.g.status) { // cannot happen: only drivable statuses have a due time
			s.setDue(mg, 0)
			continue
		}
		st := mg.g.status
		if st == protocol.GlobalBegin {
			st = protocol.GlobalTimeoutRollbacking
		}
		s.apply(mg, change{status: st, owner: owner, dueAt: leaseUntil, attempts: mg.g.attempts})
		out = append(out, mg.g)
	}
	return out, nil
}

func (s *memStore) makeDue(_ context.Context, xids []string, now int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, xid := range xids {
		mg := s.globals[xid]
		if mg == nil || mg.g.owner != "" || !(isCommitPhase(mg.g.status) || isRollbackPhase(mg.g.status)) || mg.g.dueAt <= now {
			continue
		}
		mg.g.dueAt = now
		s.setDue(mg, now)
	}
	return nil
}

func (s *memStore) releaseOwner(_ context.Context, owner string, now int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, mg := range s.globals {
		if mg.g.owner == owner {
			mg.g.owner = ""
			mg.g.dueAt = now
			s.setDue(mg, now)
		}
	}
	return nil
}

func (s *memStore) purge(_ context.Context, now int64, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < limit && len(s.endedQ) > 0 {
		g, ok := s.ended[s.endedQ[0]]
		if ok && g.dueAt > now {
			break
		}
		s.forgetOldest()
		n++
	}
	return n, nil
}

// forgetOldest drops the oldest remembered end; s.mu is held.
func (s *memStore) forgetOldest() {
	delete(s.ended, s.endedQ[0])
	s.endedQ[0] = ""
	s.endedQ = s.endedQ[1:]
	if cap(s.endedQ) > 1024 && len(s.endedQ) < cap(s.endedQ)/4 {
		s.endedQ = slices.Clone(s.endedQ)
	}
}

func (s *memStore) close() error { return nil }

// setDue keeps mg's position in the due heap in line with dueAt; s.mu is
// held.
func (s *memStore) setDue(mg *memGlobal, dueAt int64) {
	mg.g.dueAt = dueAt
	switch {
	case dueAt == 0 && mg.heapIdx >= 0:
		heap.Remove(&s.due, mg.heapIdx)
	case dueAt != 0 && mg.heapIdx >= 0:
		heap.Fix(&s.due, mg.heapIdx)
	case dueAt != 0:
		heap.Push(&s.due, mg)
	}
}

// dueHeap orders transactions by due time.
type dueHeap []*memGlobal

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].g.dueAt < h[j].g.dueAt }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *dueHeap) Push(x any) {
	mg := x.(*memGlobal)
	mg.heapIdx = len(*h)
	*h = append(*h, mg)
}
func (h *dueHeap) Pop() any {
	old := *h
	mg := old[len(old)-1]
	old[len(old)-1] = nil
	mg.heapIdx = -1
	*h = old[:len(old)-1]
	return mg
}

// shrinkMaps rebuilds globals, locks and the due heap when they hold less
// than a quarter of their peak (after a burst, e.g. a flood of GlobalBegin
// that timed out), so that their memory returns. The copy is paid for by
// the deletions since the peak. s.mu is held.
func (s *memStore) shrinkMaps() {
	const minPeak = 4096
	if s.globalsPeak >= minPeak && len(s.globals) < s.globalsPeak/4 {
		m := make(map[string]*memGlobal, len(s.globals))
		for k, v := range s.globals {
			m[k] = v
		}
		s.globals, s.globalsPeak = m, len(m)
	}
	if cap(s.due) >= minPeak && len(s.due) < cap(s.due)/4 {
		s.due = append(make(dueHeap, 0, 2*len(s.due)), s.due...) // heapIdx stays valid
	}
	if s.locksPeak >= minPeak && len(s.locks) < s.locksPeak/4 {
		m := make(map[string]lockHolder, len(s.locks))
		for k, v := range s.locks {
			m[k] = v
		}
		s.locks, s.locksPeak = m, len(m)
	}
}

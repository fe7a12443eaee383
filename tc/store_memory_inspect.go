package tc

import (
	"context"
	"slices"
	"strings"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// The memory store's operations for operators (Server.Transactions and the
// others in operator.go): rare, so they favour simplicity over speed, and
// hold the store's lock only to copy what they need.

func (s *memStore) branchFailed(_ context.Context, xid string, branchID int64, status protocol.BranchStatus, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mg := s.globals[xid]
	if mg == nil {
		return nil
	}
	for i := range mg.branches {
		if b := &mg.branches[i].b; b.branchID == branchID {
			b.attempts++
			b.lastError = msg
			if status != 0 {
				b.status = status
			}
			return nil
		}
	}
	return nil
}

func (s *memStore) listGlobals(_ context.Context, f listFilter, limit int) ([]globalTx, error) {
	var out []globalTx
	s.mu.Lock()
	for _, mg := range s.globals {
		if f.matches(&mg.g) {
			out = append(out, mg.g)
		}
	}
	for _, g := range s.ended {
		if f.matches(&g) {
			out = append(out, g)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b globalTx) int {
		if a.beginTime != b.beginTime {
			return int(max(-1, min(1, a.beginTime-b.beginTime)))
		}
		return strings.Compare(a.xid, b.xid)
	})
	if len(out) > limit {
		out = slices.Clip(out[:limit])
	}
	return out, nil
}

func (s *memStore) locksOf(_ context.Context, xid string, limit int) ([]heldLock, error) {
	var out []heldLock
	s.mu.Lock()
	if mg := s.globals[xid]; mg != nil {
		for _, mb := range mg.branches {
			for _, l := range mb.locks {
				out = append(out, heldLock{rowLock: l, branchID: mb.b.branchID})
			}
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b heldLock) int { return strings.Compare(a.key, b.key) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) ping(context.Context) error { return nil }

package tc

import (
	"sync/atomic"
	"time"
)

// timeIDs generates the transaction and branch ids of the memory store:
// milliseconds since the Unix epoch shifted left by 22 bits, plus a counter
// for ids handed out in the same millisecond. The ids only grow, within a
// process and across restarts (a restarted process starts from the current
// time, past every id of its previous life unless the clock went back),
// so an RM never sees an old id again: a stale undo-log marker for a reused
// XID would block a new transaction.
//
// 41 bits of milliseconds last until 2109; 22 bits allow 4 million ids per
// millisecond before the generator runs ahead of the clock. It is safe for
// concurrent use.
type timeIDs struct {
	last atomic.Int64
	now  func() time.Time
}

func (g *timeIDs) next() int64 {
	t := g.now().UnixMilli() << 22
	for {
		last := g.last.Load()
		v := max(t, last+1)
		if g.last.CompareAndSwap(last, v) {
			return v
		}
	}
}

package datasource

import (
	"sync"
	"sync/atomic"
)

// planCacheSize bounds the plans kept per data source.
const planCacheSize = 1024

// maxPlanQuery is the longest query text whose plan is kept.
const maxPlanQuery = 16 << 10

// planCache maps query text to plan, keeping at most planCacheSize plans.
// When it is full, adding a plan evicts one other, chosen by the CLOCK
// algorithm (second chance): a hand sweeps the entries in a ring, clearing
// the "used" mark of each entry it passes and evicting the first it finds
// unmarked; a hit sets the mark. Plans used since the hand last passed stay,
// and texts that are never used again (an ORM's IN (?,?,...) lists of every
// length, say) go first, since an entry starts unmarked. A hit takes a read
// lock and sets the mark with an atomic store (only when it is not set
// already), so hits do not contend.
//
// It is safe for concurrent use.
type planCache struct {
	mu   sync.RWMutex
	m    map[string]*planEntry
	ring []*planEntry // the entries, in the order the hand visits them
	hand int          // the next entry the hand looks at
}

type planEntry struct {
	query string
	plan  *plan // written under the write lock
	used  atomic.Bool
}

func (c *planCache) get(query string) *plan {
	c.mu.RLock()
	e := c.m[query]
	var p *plan
	if e != nil {
		p = e.plan
		if !e.used.Load() {
			e.used.Store(true)
		}
	}
	c.mu.RUnlock()
	return p
}

func (c *planCache) put(query string, p *plan) {
	if len(query) > maxPlanQuery {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[query]; e != nil {
		e.plan = p
		return
	}
	if c.m == nil {
		c.m = make(map[string]*planEntry, planCacheSize)
	}
	e := &planEntry{query: query, plan: p}
	c.m[query] = e
	if len(c.ring) < planCacheSize {
		c.ring = append(c.ring, e)
		return
	}
	// Full: at most one full turn clears every mark, so the loop ends
	// within two turns.
	for {
		old := c.ring[c.hand]
		if old.used.Load() {
			old.used.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		delete(c.m, old.query)
		c.ring[c.hand] = e
		c.hand = (c.hand + 1) % len(c.ring)
		return
	}
}

// len returns the number of plans kept.
func (c *planCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *planCache) clear() {
	c.mu.Lock()
	c.m, c.ring, c.hand = nil, nil, 0
	c.mu.Unlock()
}

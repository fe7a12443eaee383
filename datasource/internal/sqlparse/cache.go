package sqlparse

import (
	"sync"
	"sync/atomic"
)

// cache is a bounded map from query text to parse result with CLOCK
// (second chance) eviction: a hit takes only the read lock and sets the
// entry's reference bit, so concurrent hits do not contend on a list.
type cache struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []*cacheEntry // len <= cap(ring) == size
	hand int
}

type cacheEntry struct {
	query string
	stmts []Statement
	ref   atomic.Bool
}

func newCache(size int) *cache {
	return &cache{
		m:    make(map[string]*cacheEntry, size),
		ring: make([]*cacheEntry, 0, size),
	}
}

func (c *cache) get(query string) ([]Statement, bool) {
	c.mu.RLock()
	e := c.m[query]
	c.mu.RUnlock()
	if e == nil {
		return nil, false
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	return e.stmts, true
}

// put stores stmts for query unless another goroutine stored it first, and
// returns the stored result (so that every caller shares one).
func (c *cache) put(query string, stmts []Statement) []Statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[query]; e != nil {
		return e.stmts
	}
	e := &cacheEntry{query: query, stmts: stmts}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, e)
	} else {
		for {
			old := c.ring[c.hand]
			if old.ref.Load() {
				old.ref.Store(false)
				c.hand = (c.hand + 1) % len(c.ring)
				continue
			}
			delete(c.m, old.query)
			c.ring[c.hand] = e
			c.hand = (c.hand + 1) % len(c.ring)
			break
		}
	}
	c.m[query] = e
	return stmts
}

// len returns the number of cached results.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Package clockcache is a bounded map from string keys to values that, when
// full, evicts one entry at a time by the CLOCK algorithm (second chance):
// a hand sweeps the entries in a ring, clearing the "used" mark of each
// entry it passes and evicting the first it finds unmarked; a hit sets the
// mark. Entries used since the hand last passed stay, and keys that are
// never asked for again (an ORM's IN (?,?,...) lists of every length, say)
// go first, since an entry starts unmarked.
//
// The SQL parser's statement cache and the AT data source's plan cache
// both use it: a hit takes a read lock and sets the mark with an atomic
// store, only when it is not set already, so hits do not contend.
package clockcache

import (
	"sync"
	"sync/atomic"
)

// Cache holds at most Size entries. It is safe for concurrent use; the
// zero value is not usable, New makes one.
type Cache[V any] struct {
	mu   sync.RWMutex
	m    map[string]*entry[V]
	ring []*entry[V] // the entries, in the order the hand visits them; cap is the size
	hand int         // the next entry the hand looks at
}

type entry[V any] struct {
	key  string
	val  V // written under the write lock
	used atomic.Bool
}

// New returns an empty cache of at most size (> 0) entries.
func New[V any](size int) *Cache[V] {
	return &Cache[V]{m: make(map[string]*entry[V], size), ring: make([]*entry[V], 0, size)}
}

// Get returns the value of key and marks it used.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.RLock()
	e := c.m[key]
	var v V
	if e != nil {
		v = e.val
		if !e.used.Load() {
			e.used.Store(true)
		}
	}
	c.mu.RUnlock()
	return v, e != nil
}

// Put sets the value of key, evicting another entry when the cache is
// full. A new entry starts unmarked.
func (c *Cache[V]) Put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil {
		e.val = v
		return
	}
	e := &entry[V]{key: key, val: v}
	c.m[key] = e
	if len(c.ring) < cap(c.ring) {
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
		delete(c.m, old.key)
		c.ring[c.hand] = e
		c.hand = (c.hand + 1) % len(c.ring)
		return
	}
}

// Len returns the number of entries.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// Size returns the most entries the cache holds.
func (c *Cache[V]) Size() int { return cap(c.ring) }

// Clear removes every entry.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	clear(c.m)
	clear(c.ring)
	c.ring, c.hand = c.ring[:0], 0
	c.mu.Unlock()
}

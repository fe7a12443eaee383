package schema

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache holds the metadata of the tables of one data source.
//
// A Cache is safe for concurrent use. A hit is a lock-free map read; a miss
// loads the table from information_schema once however many goroutines ask
// for it at the same time (they wait for the first one's result, each bounded
// by its own context). Failed loads are not cached. Entries expire after
// the age SetMaxAge sets (never by default); after DDL, call Refresh or
// Invalidate to see it at once.
//
// Table names are resolved as the server resolves them: an exact match
// first; if there is none and the server folds table names
// (lower_case_table_names 1 or 2), a case-insensitive match. On a
// case-sensitive server (lower_case_table_names=0, the Linux default) `ACCOUNT`
// and `account` are different tables, so only the exact name is found, as in
// SQL. Column names always match case-insensitively.
type Cache struct {
	db      *sql.DB
	entries sync.Map // cacheKey -> *entry

	dbName    atomic.Pointer[string] // the connection's default database, once known
	foldNames atomic.Pointer[bool]   // lower_case_table_names != 0, once known
	loads     atomic.Int64           // number of loads started (for tests)
	maxAge    atomic.Int64           // nanoseconds; 0: entries never expire
}

type cacheKey struct{ schema, name string }

// entry is one table's slot. table and err are written once, before ready is
// closed, and only read after.
type entry struct {
	ready  chan struct{}
	table  *Table
	err    error
	loaded time.Time
}

// NewCache returns an empty cache that loads metadata through db. It does no
// I/O. db should connect as the application does (same default database).
func NewCache(db *sql.DB) *Cache {
	return &Cache{db: db}
}

// Table returns the metadata of table name in schema; an empty schema means
// the connection's default database. A missing table yields a
// *TableNotFoundError (errors.Is(err, ErrTableNotFound)).
func (c *Cache) Table(ctx context.Context, schema, name string) (*Table, error) {
	k := cacheKey{schema, name}
	if v, ok := c.entries.Load(k); ok {
		e := v.(*entry)
		select {
		case <-e.ready:
			if e.err == nil {
				if age := c.maxAge.Load(); age > 0 && time.Since(e.loaded) > time.Duration(age) {
					// Expired: reload, unless another caller already did.
					if c.entries.CompareAndDelete(k, v) {
						return c.get(ctx, k, false)
					}
					return c.Table(ctx, schema, name)
				}
				return e.table, nil
			}
		default:
		}
	}
	return c.get(ctx, k, false)
}

// SetMaxAge makes entries older than d reload at their next lookup; d <= 0
// keeps them until Refresh or Invalidate (the default). It is safe to call
// at any time.
func (c *Cache) SetMaxAge(d time.Duration) {
	c.maxAge.Store(int64(max(d, 0)))
}

// Refresh reloads the metadata of a table from the server, replaces the
// cached copy and returns it. Lookups of the same table made while the
// refresh runs wait for it.
func (c *Cache) Refresh(ctx context.Context, schema, name string) (*Table, error) {
	return c.get(ctx, cacheKey{schema, name}, true)
}

// Invalidate drops the cached metadata of the table, under every name it was
// looked up by (names compared case-insensitively); the next lookup reloads
// it. An empty schema means the default database.
func (c *Cache) Invalidate(schema, name string) {
	if schema == "" {
		if p := c.dbName.Load(); p != nil {
			schema = *p
		}
	}
	c.entries.Range(func(key, v any) bool {
		k := key.(cacheKey)
		drop := strings.EqualFold(k.name, name) && (k.schema == "" || strings.EqualFold(k.schema, schema))
		if !drop {
			e := v.(*entry)
			select {
			case <-e.ready:
				drop = e.table != nil && strings.EqualFold(e.table.Name, name) &&
					(schema == "" || strings.EqualFold(e.table.Schema, schema))
			default:
			}
		}
		if drop {
			c.entries.CompareAndDelete(key, v)
		}
		return true
	})
}

func (c *Cache) get(ctx context.Context, k cacheKey, refresh bool) (*Table, error) {
	for {
		mine := &entry{ready: make(chan struct{})}
		e := mine
		if refresh {
			c.entries.Store(k, mine)
		} else if v, loaded := c.entries.LoadOrStore(k, mine); loaded {
			e = v.(*entry)
		}
		if e == mine {
			c.fill(ctx, k, mine)
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.table, nil
		}
		// Another caller's load failed because its context ended; ours is
		// still alive, so load again rather than return its error.
		if e != mine && ctx.Err() == nil &&
			(errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			refresh = false
			continue
		}
		return nil, e.err
	}
}

func (c *Cache) fill(ctx context.Context, k cacheKey, e *entry) {
	c.loads.Add(1)
	e.loaded = time.Now()
	e.table, e.err = c.load(ctx, k.schema, k.name)
	if e.err != nil {
		c.entries.CompareAndDelete(k, e)
	}
	close(e.ready)
}

package rpc

import (
	"sync"
	"sync/atomic"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// callKind says who, if anyone, waits for a pending entry.
type callKind uint8

const (
	kindCall  callKind = iota // a caller waits on done
	kindPing                  // a heartbeat; nobody waits
	kindBatch                 // the outer id of a MergedWarpMessage; inner holds the batched ids
)

// callResult is what a pending entry completes with: a response or an error.
type callResult struct {
	msg protocol.Message
	err error
}

// call is one entry of the pending table. Its fields are written before the
// entry is added and are read-only while it is in the table. Whoever removes
// the entry from the table (takeFrom, takeCall, failConn) completes it,
// exactly once.
type call struct {
	id     int32
	kind   callKind
	pooled bool              // from callPool: recycled once its result is taken (putCall)
	typ    protocol.TypeCode // the request's type
	cn     *conn             // the session the request was written to
	inner  []int32           // kindBatch: the inner request ids, in order
	done   chan callResult   // kindCall: capacity 1; receives exactly one result
}

// callPool recycles the entries of unbatched calls and heartbeats. It pays:
// without it BenchmarkATCalls (GlobalBegin, BranchRegister, GlobalCommit)
// makes 19 instead of 10 allocations per transaction on the client side
// (31 instead of 22 with the server), 3 per call (the entry and its
// channel). Only a pooled entry's owner (its caller, or the remover of a
// heartbeat) may touch it once it is completed, so nothing else keeps a
// pointer to one: entries handed to the batcher are allocated (newCall).
// Batched calls, which are opt-in, pay for that (BenchmarkCall
// callers=64/batch: 6 allocs/op instead of 3); in exchange the batcher
// compares and removes its entries by identity, with no argument about ids
// coming round again.
var callPool = sync.Pool{New: func() any { return &call{pooled: true, done: make(chan callResult, 1)} }}

// getCall returns a pooled kindCall entry with an empty done channel.
func getCall(cn *conn, typ protocol.TypeCode) *call {
	c := callPool.Get().(*call)
	c.kind, c.typ, c.cn = kindCall, typ, cn
	return c
}

// newCall returns a kindCall entry that is never recycled, for holders
// other than its caller (the batcher): they may compare it with the table's
// entry, or remove it, at any time.
func newCall(cn *conn, typ protocol.TypeCode) *call {
	return &call{kind: kindCall, typ: typ, cn: cn, done: make(chan callResult, 1)}
}

// putCall recycles c if it is pooled. Only the goroutine that received c's
// result, or that removed c from the table itself, may call it.
func putCall(c *call) {
	if !c.pooled {
		return
	}
	c.cn, c.inner = nil, nil
	callPool.Put(c)
}

const pendingShards = 32 // a power of two

// pendingTable holds the requests waiting for an answer, by request id. A
// Client has one for all its sessions, a Server one for all its sessions, so
// ids are unique across sessions.
//
// Ids come from one counter per table, as in Java (§8.4): a client's run
// 1, 2, ... masked to stay positive; a server's run -1, -2, ... so that they
// can never be confused with a client's. 0 is never used, and an id is never
// handed out while an entry with that id is pending.
//
// Every entry leaves the table exactly once, by one of three paths: its
// answer arrived (takeFrom), its caller gave up (takeCall), or its session
// closed (failConn). The remover completes it.
type pendingTable struct {
	negative bool          // immutable: server ids
	seq      atomic.Uint32 // the id counter
	late     atomic.Uint64 // answers that found no pending entry
	shards   [pendingShards]pendingShard
}

// pendingShard is not padded to a cache line: padding it to 64 bytes
// showed no gain on BenchmarkCall with 64 callers (medians of 6 interleaved
// runs on a loaded 2-core machine: 81 us/op padded, 42 us/op unpadded).
type pendingShard struct {
	mu sync.Mutex
	m  map[int32]*call // guarded by mu
}

func newPendingTable(negative bool) *pendingTable {
	p := &pendingTable{negative: negative}
	for i := range p.shards {
		p.shards[i].m = make(map[int32]*call)
	}
	return p
}

func (p *pendingTable) shard(id int32) *pendingShard {
	return &p.shards[uint32(id)&(pendingShards-1)]
}

// nextID returns the next id of the counter, skipping 0. It does not check
// the table: add does. Oneway requests, which are not tracked, use it
// directly.
func (p *pendingTable) nextID() int32 {
	for {
		n := p.seq.Add(1) & 0x7fffffff
		if n == 0 {
			continue
		}
		if p.negative {
			return -int32(n)
		}
		return int32(n)
	}
}

// add gives c a fresh id that no pending entry has, and inserts it.
func (p *pendingTable) add(c *call) int32 {
	for {
		id := p.nextID()
		sh := p.shard(id)
		sh.mu.Lock()
		if _, busy := sh.m[id]; !busy {
			c.id = id
			sh.m[id] = c
			sh.mu.Unlock()
			return id
		}
		sh.mu.Unlock()
	}
}

// takeCall removes c if it is still pending and reports whether it did. It
// compares the entry, not just the id, because once c has been completed its
// id may belong to a newer call.
func (p *pendingTable) takeCall(c *call) bool {
	sh := p.shard(c.id)
	sh.mu.Lock()
	ok := sh.m[c.id] == c
	if ok {
		delete(sh.m, c.id)
	}
	sh.mu.Unlock()
	return ok
}

// takeFrom removes and returns the entry with this id if an answer arriving
// on from may complete it: on a server, only an answer on the session the
// request went out on (§8.4); on a client, an answer on any session to the
// same coordinator address (J13: the TC may answer on another connection of
// the client). Otherwise it returns nil and counts a late reply.
func (p *pendingTable) takeFrom(id int32, from *conn) *call {
	sh := p.shard(id)
	sh.mu.Lock()
	c := sh.m[id]
	if c != nil && (c.cn == from || from.anyConnToAddr && c.cn.addr == from.addr) {
		delete(sh.m, id)
	} else {
		c = nil
	}
	sh.mu.Unlock()
	if c == nil {
		p.late.Add(1)
	}
	return c
}

// holds reports whether c is pending. c must not be pooled (see callPool):
// a pooled entry may have been recycled for a newer call.
func (p *pendingTable) holds(c *call) bool {
	sh := p.shard(c.id)
	sh.mu.Lock()
	ok := sh.m[c.id] == c
	sh.mu.Unlock()
	return ok
}

// peekBatch returns the kindBatch entry with this id, or nil. Batch entries
// are never recycled, so their immutable fields may be read.
func (p *pendingTable) peekBatch(id int32) *call {
	sh := p.shard(id)
	sh.mu.Lock()
	c := sh.m[id]
	if c != nil && c.kind != kindBatch {
		c = nil
	}
	sh.mu.Unlock()
	return c
}

// has reports whether an entry with this id is pending.
func (p *pendingTable) has(id int32) bool {
	sh := p.shard(id)
	sh.mu.Lock()
	_, ok := sh.m[id]
	sh.mu.Unlock()
	return ok
}

// failConn removes every entry of cn and completes it with
// &CallError{Sent: true, Err: err}.
func (p *pendingTable) failConn(cn *conn, err error) {
	var failed []*call
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		for id, c := range sh.m {
			if c.cn == cn {
				delete(sh.m, id)
				failed = append(failed, c)
			}
		}
		sh.mu.Unlock()
	}
	for _, c := range failed {
		c.complete(callResult{err: &CallError{Addr: cn.addr, Type: c.typ, Sent: true, Err: err}})
	}
}

// len returns the number of pending entries: calls, heartbeats and batches.
func (p *pendingTable) len() int {
	n := 0
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// complete hands r to whoever waits for c. The caller must have removed c
// from the table.
func (c *call) complete(r callResult) {
	switch c.kind {
	case kindCall:
		c.done <- r // never blocks: capacity 1, and only the remover sends
	case kindPing:
		c.cn.pingOut.Store(false)
		putCall(c)
	case kindBatch:
		// Nobody waits on the outer id: the inner calls are completed one
		// by one (conn.deliverBatch), or fail with the session.
	}
}

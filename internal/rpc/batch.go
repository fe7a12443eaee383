package rpc

import (
	"errors"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// maxBatch caps the requests in one MergedWarpMessage.
const maxBatch = 128

// batcher merges the requests written to one client session within a short
// window into MergedWarpMessages (§8.7), as Java clients do when batching is
// enabled. Each inner request keeps its own pending entry and id; the batch
// gets one more id, also pending (kindBatch), so that a MergeResultMessage,
// which carries only the outer id, can be paired with the inner calls by
// position. BatchResultMessage answers are matched by inner id.
//
// A flush goroutine exists only while requests wait: enqueue starts one when
// the queue was empty; it sleeps for the window, sends what has gathered and
// exits.
type batcher struct {
	cn     *conn         // immutable
	window time.Duration // immutable

	mu      sync.Mutex
	q       []batchItem // guarded by mu
	running bool        // a flush goroutine is scheduled; guarded by mu
	dead    bool        // the session's OnClose has run; guarded by mu
	outer   []int32     // outer ids of the batches sent and not yet swept; guarded by mu
}

type batchItem struct {
	c   *call // allocated by newCall, never recycled
	msg protocol.Message
}

// enqueue queues a request whose pending entry is c, made by newCall. It
// returns false if the session is gone.
func (b *batcher) enqueue(c *call, m protocol.Message) bool {
	b.mu.Lock()
	if b.dead || b.cn.closed.Load() {
		b.mu.Unlock()
		return false
	}
	b.q = append(b.q, batchItem{c, m})
	start := !b.running
	if start {
		b.running = true
		b.cn.wg.Add(1) // safe: the conn's own count is held until kill
	}
	b.mu.Unlock()
	if start {
		go b.flushAfterWindow()
	}
	return true
}

// failQueued fails the requests still waiting for a flush: none of their
// bytes was written. close calls it when the session ends.
func (b *batcher) failQueued() {
	b.mu.Lock()
	q := b.q
	b.q = nil
	b.mu.Unlock()
	for _, it := range q {
		if b.cn.pend.takeCall(it.c) {
			it.c.complete(callResult{err: &CallError{Addr: b.cn.addr, Type: it.msg.TypeCode(), Sent: false, Err: b.cn.lostErr()}})
		}
	}
}

// kill stops new flush goroutines; OnClose calls it before releasing the
// session's count in the wait group.
func (b *batcher) kill() {
	b.mu.Lock()
	b.dead = true
	b.mu.Unlock()
}

func (b *batcher) flushAfterWindow() {
	defer b.cn.wg.Done()
	t := time.NewTimer(b.window)
	select {
	case <-t.C:
	case <-b.cn.closing:
		t.Stop()
	}
	b.mu.Lock()
	q := b.q
	b.q = nil
	b.running = false
	b.mu.Unlock()
	for len(q) > 0 {
		n := min(len(q), maxBatch)
		b.send(q[:n])
		q = q[n:]
	}
}

// send writes one batch. Requests whose calls have already ended (context
// done, session failed) are left out. A lone request goes out as itself.
func (b *batcher) send(items []batchItem) {
	cn := b.cn
	live := items[:0]
	for _, it := range items {
		if cn.pend.holds(it.c) {
			live = append(live, it)
		}
	}
	if len(live) == 0 {
		return
	}
	var (
		n     int
		err   error
		outer *call
	)
	if len(live) == 1 {
		n, err = cn.writeFrame(&protocol.Frame{Type: protocol.RequestSync, Codec: protocol.CodecSeata,
			RequestID: live[0].c.id, Body: live[0].msg})
	} else {
		msgs := make([]protocol.Message, len(live))
		ids := make([]int32, len(live))
		for i, it := range live {
			msgs[i], ids[i] = it.msg, it.c.id
		}
		// Batch entries are allocated, not pooled: dropIfDone reads
		// them after they may have left the table.
		outer = &call{kind: kindBatch, typ: protocol.TypeMergedWarp, cn: cn, inner: ids}
		id := cn.pend.add(outer)
		b.mu.Lock()
		b.outer = append(b.outer, id)
		b.mu.Unlock()
		// Java sends batches as ONEWAY (§6.17); the coordinator answers
		// anyway (J7).
		n, err = cn.writeFrame(&protocol.Frame{Type: protocol.RequestOneway, Codec: protocol.CodecSeata,
			RequestID: id, Body: &protocol.MergedWarpMessage{Messages: msgs, MsgIDs: ids}})
		if n == 0 && errors.Is(err, ErrInvalidRequest) {
			// One request does not encode, or the batch is too large:
			// send them one by one, so that only a bad one fails.
			cn.pend.takeCall(outer)
			for _, it := range live {
				b.send([]batchItem{it})
			}
			return
		}
	}
	if err == nil {
		return
	}
	if outer != nil {
		cn.pend.takeCall(outer)
	}
	for _, it := range live {
		if cn.pend.takeCall(it.c) {
			it.c.complete(callResult{err: &CallError{Addr: cn.addr, Type: it.msg.TypeCode(), Sent: n > 0, Err: err}})
		}
	}
}

// sweep drops the outer entries of batches none of whose inner calls is
// still pending: they have been answered, or their callers gave up. It runs
// from conn.tick.
func (b *batcher) sweep() {
	b.mu.Lock()
	ids := b.outer
	b.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	var keep []int32
	for _, id := range ids {
		if !b.dropIfDone(id) {
			keep = append(keep, id)
		}
	}
	b.mu.Lock()
	// Batches sent while sweeping were appended after ids.
	b.outer = append(keep, b.outer[len(ids):]...)
	b.mu.Unlock()
}

// dropIfDone removes the outer entry of batch id if none of its inner calls
// is pending, and reports whether the entry is gone.
func (b *batcher) dropIfDone(id int32) bool {
	c := b.cn.pend.peekBatch(id)
	if c == nil {
		return true
	}
	for _, in := range c.inner {
		if b.cn.pend.has(in) {
			return false
		}
	}
	b.cn.pend.takeCall(c)
	return true
}

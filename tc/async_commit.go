package tc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Asynchronous commit. GlobalCommit of a transaction whose branches are all
// AT is answered at once (Committed, as the Java TC answers; the store says
// AsyncCommitting) and its branches are committed in the background, as the
// Java TC's asyncCommitting loop does. Here one committer goroutine takes
// every transaction queued during a period and commits them as one batch:
// the BranchCommit calls of the batch, ordered by resource so that each
// RM's undo-log deleter gets a run of its own rows, go out over a few
// goroutines, and a transaction whose branches all answered Committed ends
// with one store write (which deletes its branches) instead of one per
// branch. A transaction with a failed branch keeps the branches that
// failed and is retried by the scan loop, like any phase two.
//
// Protocol v1 has no batched BranchCommit, and Java RMs take none, so each
// branch of a Java or seata-go RM gets its own request; the RM batches the
// undo_log deletes (undo.Manager.Commit). An atcc RM announces at
// registration that it takes merged commits (rpc.ServerSession.
// MergesBranchCommits): the batch's commits for such a session go out as
// one MergedWarpMessage, answered with one MergeResultMessage, 2 frames
// instead of 2 per branch (mergingCaller). A failed merged request fails
// each of its branches, which are retried as any failed BranchCommit.
//
// Measured with atcc-bench -modes at -concurrency 8 -duration 5s under
// strace -f --seccomp-bpf -e trace=read,write -yy (the whole process: the
// in-process coordinator, the RM, the TM and the MySQL driver; the calls
// of the measuring period, its 300ms warmup and the setup, divided by the
// measuring period's transactions; 3 interleaved runs each; sockets told
// apart by port): writes on the coordinator's connections 8.65 / 8.12 /
// 8.79 -> 7.12 / 7.90 / 7.43 per transaction (the RM session's 2 + 2 fall
// to about 1.5 + 1.5), all writes 17.5 / 16.5 / 17.8 -> 15.6 / 17.5 /
// 16.2; reads 9.4 / 10.1 / 9.4 -> 9.1 / 10.4 / 10.6 on those connections,
// unchanged: the RM's BranchCommits and its answers arrived in bursts that
// one read took already, and the merge saves the writes. A merged request
// carried 3.6 to 3.9 commits on average without strace (2.9 to 3.1 under
// it, the process being slower), and 7% to 11% of the commits went alone
// (the only one of the batch for their session). allocs/tx 145-146 -> 144
// (5 interleaved runs without strace); rm's BenchmarkPhaseTwo: 11 allocs
// per commit with 64 in flight, 8 when merged 8 to a request.

const (
	// asyncCommitPeriod is how long the committer collects transactions
	// before it commits them.
	asyncCommitPeriod = 2 * time.Millisecond
	// maxAsyncQueue bounds the transactions waiting for the committer;
	// more go the way of any background phase two (driveInBackground).
	maxAsyncQueue = 4096
	// asyncCommitCallers bounds the BranchCommit calls in flight per batch.
	asyncCommitCallers = 32
)

// asyncCommitter batches the background commit of AT transactions. Its
// queue holds transactions this coordinator owns and has entered (inflight),
// so drain waits for them.
type asyncCommitter struct {
	c    *coordinator
	wake chan struct{} // one token: the queue is no longer empty
	done chan struct{} // closed when run returns

	// Buffers reused from batch to batch by run.
	spare []globalTx
	txs   []asyncTx
	calls []asyncCall
	units []asyncUnit
	xids  []string

	mu      sync.Mutex
	queue   []globalTx // guarded by mu
	running bool       // run was started; guarded by mu
	stopped bool       // run returned or will not start; guarded by mu
}

func newAsyncCommitter(c *coordinator) *asyncCommitter {
	return &asyncCommitter{c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// start launches the committer.
func (a *asyncCommitter) start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running || a.stopped {
		return
	}
	a.running = true
	go a.run()
}

// add queues g, which this coordinator owns and has entered; false when the
// committer does not run or its queue is full (the caller drives g another
// way, and still holds the entry).
func (a *asyncCommitter) add(g globalTx) bool {
	a.mu.Lock()
	if !a.running || a.stopped || len(a.queue) >= maxAsyncQueue {
		a.mu.Unlock()
		return false
	}
	a.queue = append(a.queue, g)
	first := len(a.queue) == 1
	a.mu.Unlock()
	if first {
		a.poke()
	}
	return true
}

// run commits batches until the coordinator's context ends, or until it is
// closing and the queue is empty.
func (a *asyncCommitter) run() {
	defer close(a.done)
	c := a.c
	t := time.NewTimer(asyncCommitPeriod)
	t.Stop()
	for {
		if c.ctx.Err() != nil {
			a.abandon()
			return
		}
		closing := c.isClosing()
		if !closing {
			select {
			case <-a.wake:
			case <-c.ctx.Done():
				a.abandon()
				return
			}
			closing = c.isClosing()
		}
		if !closing {
			// Let the period's transactions join the batch.
			t.Reset(asyncCommitPeriod)
			select {
			case <-t.C:
			case <-c.ctx.Done():
				t.Stop()
				a.abandon()
				return
			}
		}
		a.mu.Lock()
		batch := a.queue
		a.queue, a.spare = a.spare[:0], nil
		last := len(batch) == 0 && closing
		if last {
			a.stopped = true
		}
		a.mu.Unlock()
		if last {
			return
		}
		a.commit(c.ctx, batch)
		clear(batch)
		a.spare = batch[:0]
	}
}

// poke wakes the committer (drain: to finish the queue and return).
func (a *asyncCommitter) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// abandon stops the committer and leaves what is queued: its transactions
// stay owned by this coordinator, and stop hands them back to the store.
func (a *asyncCommitter) abandon() {
	a.mu.Lock()
	batch := a.queue
	a.queue, a.stopped = nil, true
	a.mu.Unlock()
	for _, g := range batch {
		a.c.leave(g.xid)
	}
}

// wait waits for run to return, after the coordinator's context is
// cancelled.
func (a *asyncCommitter) wait() {
	a.mu.Lock()
	running := a.running
	a.stopped = true
	a.mu.Unlock()
	if running {
		<-a.done
	}
}

// asyncCall is one BranchCommit of a batch.
type asyncCall struct {
	g   *asyncTx
	b   *branchTx
	ss  *rpc.ServerSession // where it is merged with others (mergingCaller.mergeTarget); nil: alone
	st  protocol.BranchStatus
	err error
}

// asyncUnit is one request of a batch: calls[lo:hi] of one session,
// merged, or a single call (hi == lo+1).
type asyncUnit struct {
	lo, hi int
}

// asyncTx is one transaction of a batch.
type asyncTx struct {
	g      globalTx
	bs     []branchTx
	ok     bool         // branches loaded and lease kept: its calls are made
	ended  bool         // ended by endCommitted
	failed []*asyncCall // the calls that did not commit their branch
}

// commit sends BranchCommit for every branch of batch, then ends each
// transaction, or leaves it for a retry.
func (a *asyncCommitter) commit(ctx context.Context, batch []globalTx) {
	c := a.c
	txs := slices.Grow(a.txs[:0], len(batch))[:len(batch)]
	calls := a.calls[:0]
	defer func() {
		clear(txs)
		clear(calls)
		a.txs, a.calls = txs[:0], calls[:0]
	}()
	for i := range batch {
		tx := &txs[i]
		tx.g = batch[i]
		bs, err := c.st.branches(ctx, tx.g.xid)
		if err != nil {
			c.retryLater(ctx, &tx.g, tx.g.status, fmt.Errorf("load branches: %w", err))
			continue
		}
		if !c.keepLease(ctx, &tx.g) {
			continue
		}
		tx.bs, tx.ok = bs, true
		for j := range tx.bs {
			if needsPhaseTwo(&tx.bs[j]) {
				calls = append(calls, asyncCall{g: tx, b: &tx.bs[j]})
			}
		}
	}
	// One resource's branches go out together, in registration order.
	slices.SortStableFunc(calls, func(x, y asyncCall) int { return strings.Compare(x.b.resourceID, y.b.resourceID) })
	a.call(ctx, calls, a.plan(calls))

	for i := range calls {
		if k := &calls[i]; k.err != nil || k.st != protocol.PhaseTwoCommitted {
			k.g.failed = append(k.g.failed, k)
		}
	}
	a.endCommitted(ctx, txs)
	for i := range txs {
		tx := &txs[i]
		if tx.ok && (len(tx.failed) > 0 || !tx.ended) {
			a.finish(ctx, tx, tx.failed)
		}
		c.leave(tx.g.xid)
	}
}

// endCommitted ends, with one store write, the transactions of the batch
// whose branches all committed, and marks them ended. On a store error
// nothing is marked: finish ends them one by one.
func (a *asyncCommitter) endCommitted(ctx context.Context, txs []asyncTx) {
	c := a.c
	xids := a.xids[:0]
	defer func() {
		clear(xids)
		a.xids = xids[:0]
	}()
	for i := range txs {
		if tx := &txs[i]; tx.ok && len(tx.failed) == 0 {
			xids = append(xids, tx.g.xid)
		}
	}
	if len(xids) < 2 {
		return // finish ends a lone transaction with transition, a statement fewer
	}
	ended, err := c.st.endAll(ctx, xids, protocol.GlobalAsyncCommitting, c.cfg.owner, c.endChange(protocol.GlobalCommitted, c.nowMs()))
	if err != nil {
		return
	}
	// Both lists follow txs' order; a transaction missing from ended was
	// taken over by another coordinator, which finishes it.
	for i, j := 0, 0; i < len(txs); i++ {
		tx := &txs[i]
		if !tx.ok || len(tx.failed) > 0 {
			continue
		}
		tx.ended = true
		if j < len(ended) && ended[j] == tx.g.xid {
			j++
			c.noteEnd(tx.g.xid, tx.g.name, protocol.GlobalCommitted, tx.g.beginTime)
		} else {
			tx.ok = false // not ours any more
		}
	}
}

// plan groups calls, sorted by resource, into the requests that make
// them: the calls whose sessions take merged commits are brought together
// by session (keeping their order otherwise) and merged, up to
// rpc.MaxMergedCommits a request; every other call is a request of its
// own.
func (a *asyncCommitter) plan(calls []asyncCall) []asyncUnit {
	units := a.units[:0]
	mc, ok := a.c.calls.(mergingCaller)
	if !ok {
		for i := range calls {
			units = append(units, asyncUnit{i, i + 1})
		}
		a.units = units
		return units
	}
	merged := false
	for i := range calls {
		calls[i].ss = mc.mergeTarget(calls[i].b)
		merged = merged || calls[i].ss != nil
	}
	if merged {
		slices.SortStableFunc(calls, func(x, y asyncCall) int { return compareUint64(sessionID(x.ss), sessionID(y.ss)) })
	}
	for lo := 0; lo < len(calls); {
		hi := lo + 1
		if ss := calls[lo].ss; ss != nil {
			for hi < len(calls) && calls[hi].ss == ss && hi-lo < rpc.MaxMergedCommits {
				hi++
			}
		}
		units = append(units, asyncUnit{lo, hi})
		lo = hi
	}
	a.units = units
	return units
}

// sessionID orders sessions for plan; 0 for none.
func sessionID(ss *rpc.ServerSession) uint64 {
	if ss == nil {
		return 0
	}
	return ss.ID()
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// call makes the requests of units with at most asyncCommitCallers in
// flight, the committer's goroutine being one of the callers.
func (a *asyncCommitter) call(ctx context.Context, calls []asyncCall, units []asyncUnit) {
	if len(units) == 1 {
		// A batch of one request (the rule at low load) makes it here,
		// without the shared counter, closure and wait group, which
		// escape: atcc-bench -modes at -concurrency 1, 123 -> 121 allocs/tx.
		a.callUnit(ctx, calls, units[0])
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(units) {
				return
			}
			a.callUnit(ctx, calls, units[i])
		}
	}
	var wg sync.WaitGroup
	for range min(len(units), asyncCommitCallers) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// callUnit makes the request of u: a BranchCommit, or a merged one.
func (a *asyncCommitter) callUnit(ctx context.Context, calls []asyncCall, u asyncUnit) {
	if k := &calls[u.lo]; u.hi-u.lo == 1 {
		k.st, k.err = a.c.calls.phaseTwo(ctx, true, &k.g.g, k.b)
	} else {
		a.c.calls.(mergingCaller).commitMerged(ctx, k.ss, calls[u.lo:u.hi]) // plan merges only then
	}
}

// finish ends tx when all its branches committed; otherwise it removes the
// branches that did and schedules a retry for the others (or ends the
// transaction CommitFailed when a branch cannot be committed).
func (a *asyncCommitter) finish(ctx context.Context, tx *asyncTx, failed []*asyncCall) {
	c := a.c
	g := &tx.g
	if len(failed) == 0 {
		c.end(ctx, g, protocol.GlobalCommitted, nil, "") // deletes the branches
		return
	}
	for _, k := range failed {
		if k.err == nil && k.st == protocol.PhaseTwoCommitFailedUnretryable {
			c.end(ctx, g, protocol.GlobalCommitFailed, k.b, "a branch cannot be committed (PhaseTwo_CommitFailed_Unretryable)")
			return
		}
	}
	var pending error
	for i := range tx.bs {
		b := &tx.bs[i]
		if slices.ContainsFunc(failed, func(k *asyncCall) bool { return k.b == b }) {
			continue
		}
		if err := c.st.removeBranch(ctx, g.xid, b.branchID, false); err != nil {
			pending = fmt.Errorf("remove branch %d: %w", b.branchID, err)
		}
	}
	for _, k := range failed {
		if k.err != nil {
			c.noteWaiting(g.xid, k.err)
			pending = fmt.Errorf("branch %d: %w", k.b.branchID, k.err)
		} else {
			pending = fmt.Errorf("branch %d: the RM answered %v", k.b.branchID, k.st)
		}
	}
	c.retryLater(ctx, g, g.status, pending)
}

package undo

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// branchKey names one undo log row.
type branchKey struct {
	xid    string
	branch int64
}

// deleter removes the undo logs of committed branches in the background, in
// batches. Entries leave the queue only once deleted, or, at Close, reported.
type deleter struct {
	m         *Manager
	fullBatch string // the statement for a full batch

	mu      sync.RWMutex // held for writing only to set closed
	closed  bool
	once    sync.Once
	started atomic.Bool

	queue  chan branchKey
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed by run when it returns
	ctx    context.Context
	cancel context.CancelFunc // aborts run's statements when Close's deadline passes
	left   []branchKey        // written by run before done is closed

	statements atomic.Int64 // DELETE statements completed, failed ones included (for tests)
	failures   atomic.Int64 // failed batch attempts (for tests)
}

func (d *deleter) init(m *Manager) {
	d.m = m
	d.fullBatch = m.sql.deleteBatch(m.cfg.DeleteBatchSize)
	d.queue = make(chan branchKey, m.cfg.DeleteQueueSize)
	d.stop = make(chan struct{})
	d.done = make(chan struct{})
	d.ctx, d.cancel = context.WithCancel(context.Background())
}

// Commit finishes branch branchID of global transaction xid after a global
// commit: its undo log is no longer needed. The delete is queued for the
// background deleter, which removes queued logs in batches and retries
// failed batches with backoff; Commit returns once it is queued. When the
// queue is full Commit deletes the log itself, bounded by ctx, so a stalled
// deleter slows callers down instead of dropping work. After Close, Commit
// returns ErrClosed. A delete still queued when the process dies loses
// nothing: the log of a committed branch is never read again, and
// DeleteOlderThan removes it in time.
func (m *Manager) Commit(ctx context.Context, xid string, branchID int64) error {
	if err := checkXID(xid); err != nil {
		return err
	}
	return m.del.enqueue(ctx, branchKey{xid, branchID})
}

func (d *deleter) enqueue(ctx context.Context, k branchKey) error {
	d.mu.RLock()
	if d.closed {
		d.mu.RUnlock()
		return ErrClosed
	}
	d.once.Do(func() {
		d.started.Store(true)
		go d.run()
	})
	select {
	case d.queue <- k:
		d.mu.RUnlock()
		return nil
	default:
	}
	d.mu.RUnlock()
	if _, err := d.exec(ctx, []branchKey{k}, nil); err != nil {
		return fmt.Errorf("atcc/undo: commit xid %s branch %d: delete undo log: %w", k.xid, k.branch, err)
	}
	return nil
}

// Close stops the background deleter after deleting every queued undo log,
// waiting at most until ctx ends. Logs it could not delete by then are
// logged at Error and counted in the returned error; they stay in the table
// until DeleteOlderThan removes them. Close is idempotent; Insert, Rollback
// and DeleteOlderThan keep working after it.
func (m *Manager) Close(ctx context.Context) error {
	return m.del.close(ctx)
}

func (d *deleter) close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	defer d.cancel()
	if !d.started.Load() {
		return nil
	}
	close(d.stop)
	select {
	case <-d.done:
	case <-ctx.Done():
		d.cancel()
		<-d.done
	}
	if len(d.left) == 0 {
		return nil
	}
	left := make([]string, len(d.left))
	for i, k := range d.left {
		left[i] = fmt.Sprintf("%s/%d", k.xid, k.branch)
	}
	d.m.log.ErrorContext(ctx, "atcc/undo: undo logs of committed branches not deleted before close", "count", len(left), "branches", left)
	cause := context.Cause(ctx)
	if cause == nil {
		cause = context.Canceled
	}
	return fmt.Errorf("atcc/undo: close: %d undo log(s) of committed branches not deleted: %w", len(left), cause)
}

func (d *deleter) run() {
	defer close(d.done)
	cfg := &d.m.cfg
	batch := make([]branchKey, 0, cfg.DeleteBatchSize)
	var args []any // exec's, reused
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	backoff := cfg.DeleteRetryBackoff
	retrying := false
	for {
		if len(batch) == 0 {
			select {
			case k := <-d.queue:
				batch = append(batch, k)
			case <-d.stop:
				d.flush(batch)
				return
			}
		}
		if !retrying && len(batch) < cfg.DeleteBatchSize {
			timer.Reset(cfg.DeleteMaxDelay)
		fill:
			for len(batch) < cfg.DeleteBatchSize {
				select {
				case k := <-d.queue:
					batch = append(batch, k)
				case <-timer.C:
					break fill
				case <-d.stop:
					timer.Stop()
					d.flush(batch)
					return
				}
			}
			timer.Stop()
		}
		var err error
		if args, err = d.exec(d.ctx, batch, args); err != nil {
			d.failures.Add(1)
			d.m.log.Warn("atcc/undo: deleting undo logs failed; will retry", "rows", len(batch), "retry_in", backoff, "err", err)
			retrying = true
			timer.Reset(backoff)
			select {
			case <-timer.C:
			case <-d.stop:
				timer.Stop()
				d.flush(batch)
				return
			}
			backoff = min(2*backoff, cfg.DeleteMaxBackoff)
			continue
		}
		retrying = false
		backoff = cfg.DeleteRetryBackoff
		batch = batch[:0]
	}
}

// flush deletes pending and everything still queued, retrying until Close's
// deadline cancels d.ctx; what is left is recorded in d.left. Close has set
// closed before closing stop, so nothing is added to the queue any more.
func (d *deleter) flush(pending []branchKey) {
	pending = append([]branchKey(nil), pending...)
	for drained := false; !drained; {
		select {
		case k := <-d.queue:
			pending = append(pending, k)
		default:
			drained = true
		}
	}
	cfg := &d.m.cfg
	backoff := cfg.DeleteRetryBackoff
	for len(pending) > 0 {
		n := min(len(pending), cfg.DeleteBatchSize)
		if _, err := d.exec(d.ctx, pending[:n], nil); err != nil {
			if d.ctx.Err() != nil {
				break
			}
			d.failures.Add(1)
			d.m.log.Warn("atcc/undo: deleting undo logs failed; will retry", "rows", n, "retry_in", backoff, "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-d.ctx.Done():
				t.Stop()
			}
			backoff = min(2*backoff, cfg.DeleteMaxBackoff)
			continue
		}
		pending = pending[n:]
	}
	d.left = pending
}

// exec deletes the undo logs of batch with one statement. It builds the
// arguments in args, which it returns emptied for the next call: run's
// batches reuse one list (database/sql keeps none of it), 1 allocation per
// batch fewer (atcc-bench).
func (d *deleter) exec(ctx context.Context, batch []branchKey, args []any) ([]any, error) {
	q := d.fullBatch
	switch {
	case len(batch) == 1:
		// MariaDB scans the whole table for a one-element row IN.
		q = d.m.sql.deleteOne
	case len(batch) != d.m.cfg.DeleteBatchSize:
		q = d.m.sql.deleteBatch(len(batch))
	}
	args = args[:0]
	for _, k := range batch {
		args = append(args, k.xid, k.branch)
	}
	_, err := d.m.db.ExecContext(ctx, q, args...)
	d.statements.Add(1)
	clear(args) // let the keys go
	return args[:0], err
}

// DeleteOlderThan deletes at most limit undo log rows created saveDays days
// ago or earlier by the server's clock, whatever their status, and returns
// how many it deleted: the RM's answer to the coordinator's
// UndoLogDeleteRequest (Seata sends one a day, with saveDays 7; its RM reads
// saveDays <= 0 as 7 and repeats the delete while a call removes limit
// rows). Like Seata, it also removes the log of a branch whose rollback has
// been waiting that long for a manual fix.
func (m *Manager) DeleteOlderThan(ctx context.Context, saveDays, limit int) (int64, error) {
	if saveDays < 1 || limit < 1 {
		return 0, fmt.Errorf("%w: DeleteOlderThan(saveDays=%d, limit=%d): both must be positive", ErrInvalid, saveDays, limit)
	}
	res, err := m.db.ExecContext(ctx, m.sql.deleteOld, saveDays, limit)
	if err != nil {
		return 0, fmt.Errorf("atcc/undo: delete old undo logs: %w", err)
	}
	return res.RowsAffected()
}

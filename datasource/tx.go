package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/undo"
)

// reportTimeout bounds the best-effort PhaseOneFailed report.
const reportTimeout = 5 * time.Second

// tx wraps a local transaction of the target. br is nil for a plain local
// transaction, whose Commit and Rollback go straight to the target.
type tx struct {
	c      *conn
	target driver.Tx
	br     *branch
}

// branch is the AT work of one local transaction: in a global transaction
// (xid set) the undo records and row keys of its writes, registered as a
// branch at COMMIT; in GlobalLock mode (xid "") the row keys only, checked at
// COMMIT.
type branch struct {
	ctx     context.Context // the context the transaction began with
	xid     string
	records []undo.Record
	pending []pendingAfter // UPDATE records whose After is still to read
	locks   lockSet
	failed  error // set when the transaction can only roll back

	// Scratch of completeAfterImages, kept empty between its calls and
	// across the connection's transactions (see after.go).
	reads []holeRead
	later []sighting
}

// keepRecords bounds the records (and pending after images) whose storage
// a branch keeps for the connection's next transaction.
const keepRecords = 64

// reset makes b the empty branch of a transaction begun with ctx in xid,
// reusing the storage of the connection's previous one (4 allocations less
// per transaction of two UPDATEs: the branch, the growth of its records and
// pending slices, and its lock set's tables; BenchmarkGlobalTransfer/global).
func (b *branch) reset(ctx context.Context, xid string) {
	records, pending := b.records, b.pending
	clear(records) // drop the images
	if cap(records) > keepRecords {
		records = nil
	}
	if cap(pending) > keepRecords {
		pending = nil
	}
	clear(pending)
	locks := b.locks
	locks.reset()
	*b = branch{ctx: ctx, xid: xid, records: records[:0], pending: pending[:0], locks: locks, reads: b.reads, later: b.later}
}

func (b *branch) fail(err error) {
	if b.failed == nil {
		b.failed = err
	}
}

// add records rec and the keys of the rows of img (the image that names
// its rows) under lockName.
func (b *branch) add(rec undo.Record, lockName string, img *undo.Image, pkIdx []int) {
	if len(img.Rows) == 0 {
		return
	}
	if b.xid != "" {
		b.records = append(b.records, rec)
	}
	b.locks.addImage(lockName, img, pkIdx)
}

// Commit implements driver.Tx. For a branch it registers the branch with
// the rows it changed (waiting while another global transaction holds one of
// them), writes the undo log, then commits; for GlobalLock mode it checks
// the rows' global locks, then commits. On any failure the local transaction
// is rolled back and the error returned.
func (t *tx) Commit() error {
	c := t.c
	c.tx, c.checked = nil, ""
	if t.br == nil {
		return t.target.Commit()
	}
	return markConflict(c.at.finish(t.br, t.target))
}

// Rollback implements driver.Tx: the local transaction rolls back; nothing
// was registered, so the coordinator has nothing to undo.
func (t *tx) Rollback() error {
	t.c.tx, t.c.checked = nil, ""
	return t.target.Rollback()
}

// finish ends a local transaction that has AT work (see tx.Commit).
func (e *executor) finish(br *branch, ttx driver.Tx) error {
	ctx := br.ctx
	clear(e.argBuf[:cap(e.argBuf)]) // the statements' values and images are not needed any more
	clear(e.imgBuf)
	if br.failed != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrTxAborted, br.failed), ttx.Rollback())
	}
	if br.locks.empty() {
		return ttx.Commit()
	}
	keys := br.locks.String()
	if br.xid == "" {
		if err := e.completeAfterImages(ctx, br); err != nil {
			return errors.Join(fmt.Errorf("%w: after image: %w", ErrTxAborted, err), ttx.Rollback())
		}
		if err := e.res.awaitLocks(ctx, "", keys); err != nil {
			return errors.Join(err, ttx.Rollback())
		}
		return ttx.Commit()
	}
	branchID, registered, err := e.registerWhileImaging(br, keys)
	if err != nil {
		rerr := ttx.Rollback()
		if registered && rerr == nil {
			e.res.reportFailed(ctx, br.xid, branchID)
		}
		return errors.Join(err, rerr)
	}
	if e.res.afterRegister != nil {
		e.res.afterRegister(br.xid, branchID)
	}
	blog := &undo.BranchLog{XID: br.xid, BranchID: branchID, Records: br.records}
	var commitErr error
	if e.res.cfg.MultiStatements {
		// The INSERT and the COMMIT in one query. ttx is not used again
		// unless to roll back after a failed INSERT: go-sql-driver/mysql's
		// driver.Tx holds its connection and nothing else, and only sends
		// COMMIT or ROLLBACK, so there is nothing to clean up in it.
		//
		// Measured (atcc-bench -modes at, two UPDATEs per transaction,
		// MariaDB 10.11 on the same 2-core machine, loaded: load average
		// 5-7): commands written to MariaDB per AT transaction on the AT
		// connection 8 -> 7 (strace -f -yy at concurrency 1, writes on its
		// fd over its START TRANSACTIONs;
		// TestMultiStatementsSavesARoundTrip: 6 -> 5 for one UPDATE), but
		// the client's wakeups for the INSERT and the COMMIT stay 2 -> 2:
		// MariaDB sends the RETURNING row and the COMMIT's OK apart, after
		// the COMMIT's log flush (3 with the SELECT 1 form). allocs/tx
		// 146-147 -> 144-145 (BenchmarkGlobalTransfer 138 -> 136; B/op
		// 7.5 KB -> 8.1 KB, the query text). Concurrency 8, 6 interleaved
		// pairs of 5 s runs, noisy: tx/s median 804 -> 759, Go CPU/tx
		// median 917 -> 950 us: no gain on the same host (probably the
		// text INSERT with its hex literal costs MariaDB more than the
		// prepared one, on the same two cores; not measured). What it saves is the client's turnaround
		// between the INSERT's answer and the COMMIT: one network round
		// trip per branch when the database is on another host. Measured
		// so with atcc-bench -db-delay 250us (a proxy adding 0.62-0.80 ms
		// to a SELECT 1 round trip), 6 interleaved pairs of 5 s runs,
		// medians of the per-run ratios: p50 AT/local at concurrency 1
		// 1.41 -> 1.30 (about 0.65 ms, one round trip of the hop), tx/s
		// AT/local at concurrency 8 0.66 -> 0.71 (runs 0.55-0.80: noise).
		err, commitErr = e.q.insertUndoCommit(ctx, blog)
	} else if err = e.res.insertUndo(ctx, undoConn{e}, blog); err == nil {
		commitErr = ttx.Commit()
	}
	if err != nil {
		rerr := ttx.Rollback()
		if rerr == nil && !errors.Is(err, undo.ErrGlobalFinished) {
			// Nothing of the branch is committed: the coordinator may
			// skip it at rollback.
			e.res.reportFailed(ctx, br.xid, branchID)
		}
		return errors.Join(err, rerr)
	}
	if err := commitErr; err != nil {
		// Not reported as failed: a commit whose answer was lost may have
		// committed, and a branch reported PhaseOneFailed is skipped at
		// rollback. Left registered, it is rolled back with its undo log
		// if the commit happened, or finds no undo log (and leaves the
		// GlobalFinished marker) if it did not.
		return err
	}
	if e.res.cfg.Logger.Enabled(ctx, slog.LevelDebug) { // the arguments cost 1.5 allocations per COMMIT even when disabled
		e.res.cfg.Logger.Debug("atcc/datasource: branch committed locally", "xid", br.xid, "branch", branchID, "records", len(br.records))
	}
	return nil
}

// registerWhileImaging registers br's branch with the rows of keys and
// completes br's after images, the two at once when there are images to
// read: the lock keys are final before the COMMIT read (an UPDATE that
// changes a primary key reads its after image when it runs), and neither
// needs the other's answer. The COMMIT thus waits for the slower of the
// coordinator's and the database's round trips instead of their sum.
//
// A first attempt that meets another transaction's global lock is repeated
// once the images are read, without register's pause: the read is the
// pause. With hot rows the holder is usually between its local COMMIT and
// its GlobalCommit; registering before the read and then pausing 5 ms
// (LockRetryInterval's default then) cut atcc-bench -hot's AT goodput from
// 474-773 to 349-440 tx/s.
//
// Measured (atcc-bench, in-process coordinator, MariaDB on the same 2
// cores, two UPDATEs per transaction, medians of interleaved runs before /
// after): p50 AT/local at concurrency 1 1.87 / 1.815 (16 pairs); at
// concurrency 8 1,901 / 1,876 tx/s and 451 / 458 us Go CPU per transaction
// (8 pairs, within the noise; the goroutine costs 1 allocation); -hot AT
// goodput 449-713 / 559-723 tx/s (4 pairs, each pair better).
//
// If the images fail after the branch registered, it returns the branch
// and registered true with the images' error: nothing of the branch will
// commit, and finish tells the coordinator so (PhaseOneFailed) once the
// local transaction has rolled back, as for a failed undo log INSERT.
func (e *executor) registerWhileImaging(br *branch, keys string) (branchID int64, registered bool, err error) {
	ctx := br.ctx
	if len(br.pending) == 0 {
		branchID, err = e.res.register(ctx, br.xid, keys)
		return branchID, err == nil, err
	}
	if e.registered == nil {
		e.registered = make(chan registration, 1)
	}
	go e.registerInto(ctx, br.xid, keys)
	imgErr := e.completeAfterImages(ctx, br)
	reg := <-e.registered
	if imgErr != nil {
		return reg.branchID, reg.err == nil, fmt.Errorf("%w: after image: %w", ErrTxAborted, imgErr)
	}
	if reg.conflict {
		reg.branchID, reg.err = e.res.registerAgain(ctx, br.xid, keys, reg.err, false)
	}
	return reg.branchID, reg.err == nil, reg.err
}

// registration is the outcome of registerInto.
type registration struct {
	branchID int64
	conflict bool // a lock conflict to ask about again
	err      error
}

// registerInto makes register's first attempt and sends its outcome on
// e.registered.
func (e *executor) registerInto(ctx context.Context, xid, keys string) {
	id, conflict, err := e.res.registerAttempt(ctx, xid, keys)
	e.registered <- registration{id, conflict, err}
}

// reportFailed tells the coordinator, best effort, that a registered
// branch's local transaction did not commit.
func (r *resource) reportFailed(ctx context.Context, xid string, branchID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	err := r.client.RM().BranchReport(ctx, rm.BranchStatusReport{
		XID: xid, BranchID: branchID, BranchType: protocol.BranchAT, ResourceID: r.id,
		Status: protocol.PhaseOneFailed,
	})
	if err != nil {
		r.cfg.Logger.Warn("atcc/datasource: reporting a failed phase one", "xid", xid, "branch", branchID, "err", err)
	}
}

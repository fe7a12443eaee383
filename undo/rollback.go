package undo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// maxRollbackAttempts bounds the restarts of a rollback whose transaction
// lost a race it can only learn about by starting over: a deadlock, a marker
// insert meeting a row another transaction just committed, or DDL that made
// the cached table metadata stale.
const maxRollbackAttempts = 3

// maxPlaceholders is the server's limit on placeholders in one prepared
// statement.
const maxPlaceholders = 65535

// Rollback undoes the branch branchID of the global transaction xid: phase
// two of a global rollback. In one local transaction it locks the branch's
// undo log row and:
//
//   - if there is none, inserts a marker row (log_status 1) so that a late
//     phase one of this branch fails with ErrGlobalFinished, and succeeds;
//     if another rollback or the late phase one inserts the row first, it
//     starts over and finds it;
//   - if the marker is there, succeeds: the branch is already finished, so
//     repeated rollbacks are harmless;
//   - otherwise folds the records into one net change per row, locks every
//     changed row (checking that the table's columns are still those of
//     the metadata, which is read again from the server if not) and
//     compares it with what the branch left (unless
//     Config.SkipDataValidation): rows as the branch left them are
//     restored, rows already as they were before the branch are left
//     alone, and anything else is a dirty write: the transaction is rolled
//     back, data and log stay as they are, and a *DirtyWriteError is
//     returned and logged at Error. Only when every row passed are they put
//     back, ordered so that unique keys never collide on the way (see
//     order.go), and the log deleted.
//
// Table and column names come from live metadata and must still match the
// log: a column the log names that the table lost, or a writable column the
// table gained that the image of a deleted row lacks, fails with
// ErrSchemaChanged. Values are always bound parameters. A restore the server
// refuses for good fails with a *RestoreError. Use Retryable to tell errors
// worth retrying (connections, deadlocks, lock wait timeouts) from the rest.
func (m *Manager) Rollback(ctx context.Context, xid string, branchID int64) error {
	if err := checkXID(xid); err != nil {
		return err
	}
	var err error
	last := maxRollbackAttempts
	for attempt := 1; ; attempt++ {
		var restart bool
		// A restart reads metadata fresh: it may be why the attempt failed.
		restart, err = m.rollbackOnce(ctx, xid, branchID, attempt > 1)
		if restart && mysqlerr.Is(err, mysqlerr.DupEntry) {
			// The marker insert met a row committed since: the next
			// attempt reads it, whatever the attempts before it lost.
			last = min(max(last, attempt+1), 2*maxRollbackAttempts)
		}
		if !restart || attempt >= last || ctx.Err() != nil {
			break
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errTableMoved) || mysqlerr.Is(err, mysqlerr.BadField, mysqlerr.NoSuchTable):
		err = fmt.Errorf("%w: %w", ErrSchemaChanged, err)
	}
	return fmt.Errorf("atcc/undo: rollback xid %s branch %d: %w", xid, branchID, err)
}

// restartable reports an error after which the rollback starts over with a
// new transaction: a deadlock, a marker insert meeting a row another
// transaction just committed, or DDL that ran since the metadata was read.
func restartable(err error) bool {
	return mysqlerr.Is(err, mysqlerr.Deadlock, mysqlerr.BadField, mysqlerr.NoSuchTable) || errors.Is(err, errTableMoved)
}

func (m *Manager) rollbackOnce(ctx context.Context, xid string, branchID int64, refresh bool) (restart bool, err error) {
	conn, err := m.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() // a no-op after Commit; otherwise the error returned says why
	var (
		uctx   string
		info   []byte
		status int64
	)
	err = tx.QueryRowContext(ctx, m.sql.selectForUpdate, xid, branchID).Scan(&uctx, &info, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return m.insertMarker(ctx, tx, xid, branchID)
	case err != nil:
		return restartable(err), err
	}
	switch status {
	case statusGlobalFinished:
		m.log.DebugContext(ctx, "atcc/undo: branch already finished", "xid", xid, "branch", branchID)
		return false, nil
	case statusNormal:
	default:
		return false, fmt.Errorf("%w: log_status %d", ErrCorrupt, status)
	}
	l, err := m.decodeUndoLog(ctx, uctx, info)
	if err != nil {
		return false, err
	}
	if l.XID != xid || l.BranchID != branchID {
		return false, fmt.Errorf("%w: the stored log belongs to xid %s branch %d", ErrCorrupt, l.XID, l.BranchID)
	}
	tables, err := m.collect(ctx, l, refresh)
	if err != nil {
		return restartable(err), err
	}
	r := &restorer{m: m, tx: tx, l: l, refreshed: refresh}
	defer r.close()
	defer func() {
		if r.fkOff {
			// foreign_key_checks may still be off: the connection must
			// not serve anyone else.
			tx.Rollback()
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	ops, err := r.check(ctx, tables)
	if err != nil {
		return restartable(err), err
	}
	if err := r.run(ctx, ops); err != nil {
		return restartable(err), err
	}
	if _, err := tx.ExecContext(ctx, m.sql.deleteOne, xid, branchID); err != nil {
		return restartable(err), err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	m.log.DebugContext(ctx, "atcc/undo: branch rolled back", "xid", xid, "branch", branchID,
		"records", len(l.Records), "rows", len(ops))
	return false, nil
}

// insertMarker leaves the global-finished marker for a branch without an
// undo log. A duplicate key means a phase one or another rollback wrote a row
// after our read: start over to see which.
func (m *Manager) insertMarker(ctx context.Context, tx *sql.Tx, xid string, branchID int64) (restart bool, err error) {
	payload, err := encodeLog(nil, &BranchLog{XID: xid, BranchID: branchID})
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, m.sql.insertMarker, branchID, xid, contextNone, payload); err != nil {
		return mysqlerr.Is(err, mysqlerr.DupEntry) || restartable(err), err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	m.log.DebugContext(ctx, "atcc/undo: no undo log, marker inserted", "xid", xid, "branch", branchID)
	return false, nil
}

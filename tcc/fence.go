package tcc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// DefaultFenceTable is the default of Config.FenceTable, Seata's name.
const DefaultFenceTable = "tcc_fence_log"

// DDL creates the fence table with Seata's tcc_fence_log layout, so an
// existing table made by Seata's scripts works as it is. status is 1 tried,
// 2 committed, 3 rolled back, 4 suspended (a rollback that found no try:
// any later try of the branch is refused). gmt_create and gmt_modified come
// from the client's clock, written in the connection's time zone
// (go-sql-driver/mysql's Config.Loc, UTC by default).
const DDL = "CREATE TABLE IF NOT EXISTS `" + DefaultFenceTable + "` (\n" +
	"  `xid` VARCHAR(128) NOT NULL COMMENT 'global transaction id',\n" +
	"  `branch_id` BIGINT NOT NULL COMMENT 'branch id',\n" +
	"  `action_name` VARCHAR(64) NOT NULL COMMENT 'action name',\n" +
	"  `status` TINYINT NOT NULL COMMENT 'status (tried:1; committed:2; rollbacked:3; suspended:4)',\n" +
	"  `gmt_create` DATETIME(3) NOT NULL COMMENT 'create time',\n" +
	"  `gmt_modified` DATETIME(3) NOT NULL COMMENT 'update time',\n" +
	"  PRIMARY KEY (`xid`, `branch_id`),\n" +
	"  KEY `idx_gmt_modified` (`gmt_modified`),\n" +
	"  KEY `idx_status` (`status`)\n" +
	") ENGINE = InnoDB DEFAULT CHARSET = utf8mb4"

// CreateTable creates the fence table named table (DefaultFenceTable
// when empty; "schema.table" is accepted) with DDL, unless it exists.
func CreateTable(ctx context.Context, db *sql.DB, table string) error {
	q, err := quoteTable(table)
	if err != nil {
		return err
	}
	ddl := strings.Replace(DDL, "`"+DefaultFenceTable+"`", q, 1)
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("atcc/tcc: create fence table %s: %w", q, err)
	}
	return nil
}

// quoteTable checks a table name, "table" or "schema.table", made of
// letters, digits, '_' and '$', and returns it quoted.
func quoteTable(table string) (string, error) {
	if table == "" {
		table = DefaultFenceTable
	}
	parts := strings.Split(table, ".")
	if len(parts) > 2 {
		return "", fmt.Errorf("%w: fence table %q", ErrInvalidAction, table)
	}
	for i, p := range parts {
		if p == "" || len(p) > 64 {
			return "", fmt.Errorf("%w: fence table %q", ErrInvalidAction, table)
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '$') {
				return "", fmt.Errorf("%w: fence table %q", ErrInvalidAction, table)
			}
		}
		parts[i] = "`" + p + "`"
	}
	return strings.Join(parts, "."), nil
}

// fenceStatus is the status column of a fence row.
type fenceStatus int

const (
	fenceTried      fenceStatus = 1
	fenceCommitted  fenceStatus = 2
	fenceRollbacked fenceStatus = 3
	fenceSuspended  fenceStatus = 4
)

func (s fenceStatus) String() string {
	switch s {
	case fenceTried:
		return "tried"
	case fenceCommitted:
		return "committed"
	case fenceRollbacked:
		return "rollbacked"
	case fenceSuspended:
		return "suspended"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// cleanBatch is how many rows one cleanup DELETE removes at most.
const cleanBatch = 1000

// fence is the fence table of one action. Every method is safe for
// concurrent use (*sql.DB is).
//
// The protocol, under InnoDB's REPEATABLE READ, never reads a missing row
// with a locking read (gap locks on missing rows deadlock concurrent
// rollbacks, Seata #6679); it inserts first and lets the primary key decide:
//
//   - Try inserts "tried" in the transaction of the action's Try: a
//     duplicate key means the branch was rolled back first (suspended).
//   - Cancel inserts "suspended" on its own (autocommit): success means no
//     Try committed, an empty rollback, and blocks any later Try; on a
//     duplicate it moves "tried" to "rollbacked" with a conditional UPDATE
//     that locks the existing row, and runs the action's Cancel in that
//     transaction.
//   - Confirm moves "tried" to "committed" the same way.
//
// A concurrent duplicate of Confirm or Cancel waits on the row lock of the
// UPDATE and then finds the row no longer "tried": it changes nothing.
type fence struct {
	db     *sql.DB
	action string
	insert string // xid, branch_id, action_name, status, gmt_create, gmt_modified
	update string // status, gmt_modified, xid, branch_id, from status
	status string // xid, branch_id
	clean  string // action_name, gmt_modified bound, limit
}

// newFence returns the fence of action in table of db.
func newFence(db *sql.DB, table, action string) (*fence, error) {
	q, err := quoteTable(table)
	if err != nil {
		return nil, err
	}
	return &fence{
		db:     db,
		action: action,
		insert: "INSERT INTO " + q + " (xid, branch_id, action_name, status, gmt_create, gmt_modified) VALUES (?, ?, ?, ?, ?, ?)",
		update: "UPDATE " + q + " SET status = ?, gmt_modified = ? WHERE xid = ? AND branch_id = ? AND status = ?",
		status: "SELECT status FROM " + q + " WHERE xid = ? AND branch_id = ?",
		clean: "DELETE FROM " + q + " WHERE action_name = ? AND gmt_modified < ? AND status <> " +
			fmt.Sprint(int(fenceTried)) + " LIMIT " + fmt.Sprint(cleanBatch),
	}, nil
}

// isDuplicate reports whether err is MySQL's duplicate key error (1062).
func isDuplicate(err error) bool {
	return mysqlerr.Is(err, mysqlerr.DupEntry)
}

// now is the timestamp written to gmt_create and gmt_modified.
func now() time.Time { return time.Now().UTC() }

// run runs fn with ac.Tx set to tx, commits tx when fn returns nil and rolls
// it back otherwise (also on a panic, which goes on).
func run(ctx context.Context, tx *sql.Tx, ac *ActionContext, fn func(context.Context, *ActionContext) error) (err error) {
	committed := false
	defer func() {
		if !committed {
			tx.Rollback() // the error that matters is fn's
		}
	}()
	ac.Tx = tx
	if err := fn(ctx, ac); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("atcc/tcc: commit the fence transaction: %w", err)
	}
	return nil
}

// try inserts the "tried" row and runs the action's Try in its
// transaction.
func (f *fence) try(ctx context.Context, ac *ActionContext, fn func(context.Context, *ActionContext) error) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("atcc/tcc: begin the fence transaction: %w", err)
	}
	t := now()
	if _, err := tx.ExecContext(ctx, f.insert, ac.XID, ac.BranchID, f.action, fenceTried, t, t); err != nil {
		err = missingFenceHint(err)
		tx.Rollback()
		if isDuplicate(err) {
			return fmt.Errorf("%w: %s branch %d of %s", ErrSuspended, f.action, ac.BranchID, ac.XID)
		}
		return fmt.Errorf("atcc/tcc: write the fence row: %w", err)
	}
	return run(ctx, tx, ac, fn)
}

// transition moves the branch's row from "tried" to status to in a new
// transaction, and runs fn in it. It reports ran=false, with the row's
// current status (found=false: no row), when the row was not "tried".
func (f *fence) transition(ctx context.Context, ac *ActionContext, to fenceStatus, fn func(context.Context, *ActionContext) error) (ran bool, cur fenceStatus, found bool, err error) {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return false, 0, false, fmt.Errorf("atcc/tcc: begin the fence transaction: %w", err)
	}
	res, err := tx.ExecContext(ctx, f.update, to, now(), ac.XID, ac.BranchID, fenceTried)
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		tx.Rollback()
		return false, 0, false, fmt.Errorf("atcc/tcc: update the fence row: %w", err)
	}
	if n == 1 {
		return true, to, true, run(ctx, tx, ac, fn)
	}
	tx.Rollback()
	cur, found, err = f.statusOf(ctx, ac.XID, ac.BranchID)
	return false, cur, found, err
}

// statusOf reads the status of a branch's row (a consistent, locking-free
// read).
func (f *fence) statusOf(ctx context.Context, xid string, branchID int64) (fenceStatus, bool, error) {
	var s fenceStatus
	err := f.db.QueryRowContext(ctx, f.status, xid, branchID).Scan(&s)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("atcc/tcc: read the fence row: %w", err)
	}
	return s, true, nil
}

// confirm runs the action's Confirm once for the branch. A branch already
// committed is a success without calling it.
func (f *fence) confirm(ctx context.Context, ac *ActionContext, fn func(context.Context, *ActionContext) error) (skipped bool, err error) {
	ran, cur, found, err := f.transition(ctx, ac, fenceCommitted, fn)
	switch {
	case err != nil || ran:
		return false, err
	case found && cur == fenceCommitted:
		return true, nil
	case !found:
		return false, Unretryable(fmt.Errorf("%w: confirm of %s branch %d of %s: no fence row, its Try did not commit",
			ErrFenceState, f.action, ac.BranchID, ac.XID))
	}
	return false, Unretryable(fmt.Errorf("%w: confirm of %s branch %d of %s: fence row is %v",
		ErrFenceState, f.action, ac.BranchID, ac.XID, cur))
}

// cancel runs the action's Cancel once for the branch, when its Try
// committed. Without a committed Try it records the branch as suspended
// (an empty rollback) without calling it; a branch already rolled back is
// a success without calling it.
func (f *fence) cancel(ctx context.Context, ac *ActionContext, fn func(context.Context, *ActionContext) error) (skipped bool, err error) {
	t := now()
	_, err = f.db.ExecContext(ctx, f.insert, ac.XID, ac.BranchID, f.action, fenceSuspended, t, t)
	if err == nil {
		return true, nil // empty rollback; a later Try hits the key
	}
	if !isDuplicate(err) {
		return false, fmt.Errorf("atcc/tcc: write the fence row: %w", err)
	}
	ran, cur, found, err := f.transition(ctx, ac, fenceRollbacked, fn)
	switch {
	case err != nil || ran:
		return false, err
	case found && (cur == fenceRollbacked || cur == fenceSuspended):
		return true, nil
	case !found: // deleted since the insert failed: let the retry decide
		return false, fmt.Errorf("atcc/tcc: cancel of %s branch %d of %s: fence row vanished", f.action, ac.BranchID, ac.XID)
	}
	return false, Unretryable(fmt.Errorf("%w: cancel of %s branch %d of %s: fence row is %v",
		ErrFenceState, f.action, ac.BranchID, ac.XID, cur))
}

// cleanOlder deletes the action's rows that are no longer "tried" and were
// last modified before t, in batches of cleanBatch, until none is left or
// ctx ends.
func (f *fence) cleanOlder(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		res, err := f.db.ExecContext(ctx, f.clean, f.action, t.UTC())
		if err != nil {
			return total, fmt.Errorf("atcc/tcc: clean the fence table: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("atcc/tcc: clean the fence table: %w", err)
		}
		total += n
		if n < cleanBatch {
			return total, nil
		}
	}
}

// missingFenceHint adds to a "table doesn't exist" error (MySQL 1146) how
// to create the fence table.
func missingFenceHint(err error) error {
	if mysqlerr.Is(err, mysqlerr.NoSuchTable) {
		return fmt.Errorf("the fence table is missing: create it with tcc.CreateTable(ctx, db, \"\") or apply tcc.DDL "+
			"(go doc github.com/atcc-go/atcc/tcc.DDL prints it): %w", err)
	}
	return err
}

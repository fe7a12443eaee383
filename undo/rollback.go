package undo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/atcc-go/atcc/internal/schema"
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
//   - if the marker is there, succeeds: the branch is already finished, so
//     repeated rollbacks are harmless;
//   - otherwise undoes the records newest first and deletes the log. Before
//     touching a record's rows it locks them and compares them with the
//     after image (unless Config.SkipDataValidation): rows equal to the
//     after image are restored, rows equal to the before image are left
//     alone (already restored), and anything else is a dirty write: the
//     transaction is rolled back, data and log stay as they are, and a
//     *DirtyWriteError is returned and logged at Error.
//
// Table and column names come from live metadata and must still match the
// log (ErrSchemaChanged otherwise); values are always bound parameters.
// Use Retryable to tell errors worth retrying (connections, deadlocks, lock
// wait timeouts) from the rest.
func (m *Manager) Rollback(ctx context.Context, xid string, branchID int64) error {
	if err := checkXID(xid); err != nil {
		return err
	}
	var err error
	for attempt := 1; ; attempt++ {
		var restart bool
		restart, err = m.rollbackOnce(ctx, xid, branchID)
		if !restart || attempt == maxRollbackAttempts || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("atcc/undo: rollback xid %s branch %d: %w", xid, branchID, err)
	}
	return nil
}

func (m *Manager) rollbackOnce(ctx context.Context, xid string, branchID int64) (restart bool, err error) {
	tx, err := m.db.BeginTx(ctx, nil)
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
		return isMySQLError(err, errDeadlock), err
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
	for i := len(l.Records) - 1; i >= 0; i-- {
		rec := &l.Records[i]
		if err := m.undo(ctx, tx, l, rec); err != nil {
			restart := isMySQLError(err, errDeadlock)
			if isMySQLError(err, errBadField) || isMySQLError(err, errNoSuchTable) {
				// The cached metadata is stale: start over with fresh.
				m.tables.Invalidate(rec.Schema, rec.Table)
				restart = true
			}
			return restart, fmt.Errorf("record %d (%s %s): %w", i, rec.Op, rec.Table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, m.sql.deleteOne, xid, branchID); err != nil {
		return isMySQLError(err, errDeadlock), err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	m.log.DebugContext(ctx, "atcc/undo: branch rolled back", "xid", xid, "branch", branchID, "records", len(l.Records))
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
		return isMySQLError(err, errDupEntry) || isMySQLError(err, errDeadlock), err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	m.log.DebugContext(ctx, "atcc/undo: no undo log, marker inserted", "xid", xid, "branch", branchID)
	return false, nil
}

// plan is one record resolved against live metadata.
type plan struct {
	t      *schema.Table
	op     Op
	img    *Image   // the rows to check and undo: After (insert, update) or Before (delete)
	before []Row    // update: the before row of each img row
	cols   []string // stored names of img.Columns
	pk     []int    // index in img.Columns of each primary key column, in key order
	keys   []string // encoded primary key of each img row
}

func (m *Manager) undo(ctx context.Context, tx *sql.Tx, l *BranchLog, rec *Record) error {
	if len(rec.Before.Rows) == 0 && len(rec.After.Rows) == 0 {
		return nil // the statement changed no rows; its table need not exist any more
	}
	p, err := m.plan(ctx, rec)
	if err != nil || len(p.img.Rows) == 0 {
		return err
	}
	restore, err := m.check(ctx, tx, l, p)
	if err != nil || len(restore) == 0 {
		return err
	}
	switch p.op {
	case OpUpdate:
		return p.restoreUpdated(ctx, tx, restore)
	case OpInsert:
		return p.deleteInserted(ctx, tx, restore)
	default:
		return p.insertDeleted(ctx, tx, restore)
	}
}

// plan resolves rec against the cached metadata, refreshing it once if the
// cache looks stale.
func (m *Manager) plan(ctx context.Context, rec *Record) (*plan, error) {
	t, err := m.tables.Table(ctx, rec.Schema, rec.Table)
	if err != nil {
		return nil, tableError(err)
	}
	p, err := newPlan(t, rec)
	if errors.Is(err, ErrSchemaChanged) {
		if t, err = m.tables.Refresh(ctx, rec.Schema, rec.Table); err != nil {
			return nil, tableError(err)
		}
		p, err = newPlan(t, rec)
	}
	return p, err
}

func tableError(err error) error {
	if errors.Is(err, schema.ErrTableNotFound) {
		return fmt.Errorf("%w: %w", ErrSchemaChanged, err)
	}
	return err
}

func newPlan(t *schema.Table, rec *Record) (*plan, error) {
	p := &plan{t: t, op: rec.Op}
	switch rec.Op {
	case OpInsert:
		p.img = &rec.After
		if len(rec.Before.Rows) > 0 {
			return nil, fmt.Errorf("%w: insert record with a before image", ErrCorrupt)
		}
	case OpUpdate:
		p.img = &rec.After
		if len(rec.Before.Rows) != len(rec.After.Rows) {
			return nil, fmt.Errorf("%w: update record with %d before and %d after rows", ErrCorrupt, len(rec.Before.Rows), len(rec.After.Rows))
		}
	case OpDelete:
		p.img = &rec.Before
		if len(rec.After.Rows) > 0 {
			return nil, fmt.Errorf("%w: delete record with an after image", ErrCorrupt)
		}
	default:
		return nil, fmt.Errorf("%w: op %d", ErrCorrupt, rec.Op)
	}
	if len(p.img.Rows) == 0 {
		return p, nil
	}
	if len(t.PrimaryKey) == 0 {
		return nil, fmt.Errorf("%w: %s has no primary key", ErrSchemaChanged, t.QuotedName())
	}
	p.cols = make([]string, len(p.img.Columns))
	pos := make(map[int]int, len(p.cols)) // table column index -> image column index
	for i, c := range p.img.Columns {
		ti := t.ColumnIndex(c)
		if ti < 0 {
			return nil, fmt.Errorf("%w: %s has no column %s", ErrSchemaChanged, t.QuotedName(), schema.QuoteIdent(c))
		}
		if _, dup := pos[ti]; dup {
			return nil, fmt.Errorf("%w: column %s twice in an image", ErrCorrupt, schema.QuoteIdent(c))
		}
		pos[ti] = i
		p.cols[i] = t.Columns[ti].Name
	}
	p.pk = make([]int, len(t.PrimaryKey))
	for k, name := range t.PrimaryKey {
		i, ok := pos[t.ColumnIndex(name)]
		if !ok {
			return nil, fmt.Errorf("%w: primary key column %s of %s is not in the image", ErrSchemaChanged, schema.QuoteIdent(name), t.QuotedName())
		}
		p.pk[k] = i
	}
	p.keys = make([]string, len(p.img.Rows))
	index := make(map[string]int, len(p.img.Rows))
	for i, row := range p.img.Rows {
		p.keys[i] = encodeKey(row, p.pk)
		if _, dup := index[p.keys[i]]; dup {
			return nil, fmt.Errorf("%w: primary key %s twice in an image", ErrCorrupt, p.keyRow(row).format())
		}
		index[p.keys[i]] = i
	}
	if rec.Op == OpUpdate {
		if err := p.pairBefore(t, &rec.Before, pos); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// pairBefore matches each after row with the before row of the same key.
func (p *plan) pairBefore(t *schema.Table, before *Image, pos map[int]int) error {
	if len(before.Columns) != len(p.cols) {
		return fmt.Errorf("%w: update images have different columns", ErrCorrupt)
	}
	for i, c := range before.Columns {
		if j, ok := pos[t.ColumnIndex(c)]; !ok || j != i {
			return fmt.Errorf("%w: update images have different columns", ErrCorrupt)
		}
	}
	index := make(map[string]int, len(p.keys))
	for i, k := range p.keys {
		index[k] = i
	}
	p.before = make([]Row, len(p.keys))
	for _, row := range before.Rows {
		i, ok := index[encodeKey(row, p.pk)]
		if !ok || p.before[i] != nil {
			return fmt.Errorf("%w: update images have different keys (%s)", ErrCorrupt, p.keyRow(row).format())
		}
		p.before[i] = row
	}
	return nil
}

func encodeKey(row Row, pk []int) string {
	var buf [64]byte
	b := buf[:0]
	for _, i := range pk {
		b = appendValue(b, row[i])
	}
	return string(b)
}

func (p *plan) keyRow(row Row) Row {
	k := make(Row, len(p.pk))
	for j, i := range p.pk {
		k[j] = row[i]
	}
	return k
}

// check returns the rows to undo, or a *DirtyWriteError.
func (m *Manager) check(ctx context.Context, tx *sql.Tx, l *BranchLog, p *plan) ([]int, error) {
	candidates := make([]int, 0, len(p.img.Rows))
	for i, row := range p.img.Rows {
		if p.op == OpUpdate && row.Equal(p.before[i]) {
			continue // unchanged: nothing to restore, nothing to check
		}
		candidates = append(candidates, i)
	}
	if m.cfg.SkipDataValidation || len(candidates) == 0 {
		return candidates, nil
	}
	current, err := p.readCurrent(ctx, tx, candidates)
	if err != nil {
		return nil, err
	}
	restore := candidates[:0]
	var dirty []DirtyRow
	for _, i := range candidates {
		row := p.img.Rows[i]
		cur, exists := current[p.keys[i]]
		switch p.op {
		case OpUpdate:
			switch {
			case exists && cur.Equal(row):
				restore = append(restore, i)
			case exists && cur.Equal(p.before[i]): // already restored
			default:
				dirty = append(dirty, p.dirtyRow(row, row, cur))
			}
		case OpInsert:
			switch {
			case exists && cur.Equal(row):
				restore = append(restore, i)
			case !exists: // already deleted
			default:
				dirty = append(dirty, p.dirtyRow(row, row, cur))
			}
		case OpDelete:
			switch {
			case !exists:
				restore = append(restore, i)
			case cur.Equal(row): // already inserted again
			default:
				dirty = append(dirty, p.dirtyRow(row, nil, cur))
			}
		}
	}
	if len(dirty) > 0 {
		e := &DirtyWriteError{XID: l.XID, BranchID: l.BranchID, Table: p.t.QuotedName(), Columns: p.cols, Rows: dirty}
		m.log.ErrorContext(ctx, "atcc/undo: dirty write, branch not rolled back; reconcile the rows by hand",
			"xid", l.XID, "branch", l.BranchID, "table", e.Table, "op", p.op.String(),
			"columns", p.cols, "rows", formatDirty(dirty))
		return nil, e
	}
	return restore, nil
}

func (p *plan) dirtyRow(row, expected, current Row) DirtyRow {
	d := DirtyRow{Key: p.keyRow(row), Expected: expected, Current: current}
	if expected != nil && current != nil {
		for j := range expected {
			if expected[j] != current[j] {
				d.Changed = append(d.Changed, p.cols[j])
			}
		}
	}
	return d
}

func formatDirty(rows []DirtyRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		exp, cur := "none", "none"
		if r.Expected != nil {
			exp = r.Expected.format()
		}
		if r.Current != nil {
			cur = r.Current.format()
		}
		out[i] = fmt.Sprintf("key=%s expected=%s current=%s changed=%v", r.Key.format(), exp, cur, r.Changed)
	}
	return out
}

// readCurrent locks and reads the image columns of the rows idx by primary
// key, through prepared statements (the binary protocol reads floats
// exactly), and returns them by encoded key.
func (p *plan) readCurrent(ctx context.Context, tx *sql.Tx, idx []int) (map[string]Row, error) {
	current := make(map[string]Row, len(idx))
	for chunk := range slices.Chunk(idx, schema.MaxKeysPerStatement) {
		q, err := p.t.SelectByPrimaryKey(p.cols, len(chunk), true)
		if err != nil {
			return nil, err
		}
		img, err := queryTx(ctx, tx, q, p.keyArgs(chunk))
		if err != nil {
			return nil, err
		}
		for _, row := range img.Rows {
			current[encodeKey(row, p.pk)] = row
		}
	}
	return current, nil
}

func queryTx(ctx context.Context, tx *sql.Tx, q string, args []any) (Image, error) {
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return Image{}, err
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return Image{}, err
	}
	defer rows.Close()
	return readSQLImage(rows)
}

func (p *plan) keyArgs(idx []int) []any {
	args := make([]any, 0, len(idx)*len(p.pk))
	for _, i := range idx {
		row := p.img.Rows[i]
		for _, j := range p.pk {
			args = append(args, row[j].Arg())
		}
	}
	return args
}

// restoreUpdated writes the before values of every image column outside the
// primary key (generated columns are not writable) back, row by row.
func (p *plan) restoreUpdated(ctx context.Context, tx *sql.Tx, idx []int) error {
	isKey := make([]bool, len(p.cols))
	for _, j := range p.pk {
		isKey[j] = true
	}
	var set []int
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(p.t.QuotedName())
	b.WriteString(" SET ")
	for j, c := range p.cols {
		if isKey[j] || p.t.Column(c).Generated {
			continue
		}
		if len(set) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(schema.QuoteIdent(c))
		b.WriteString("=?")
		set = append(set, j)
	}
	if len(set) == 0 {
		return nil
	}
	b.WriteString(" WHERE ")
	for k, j := range p.pk {
		if k > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(schema.QuoteIdent(p.cols[j]))
		b.WriteString("=?")
	}
	stmt, err := tx.PrepareContext(ctx, b.String())
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, 0, len(set)+len(p.pk))
	for _, i := range idx {
		before := p.before[i]
		args = args[:0]
		for _, j := range set {
			args = append(args, before[j].Arg())
		}
		for _, j := range p.pk {
			args = append(args, before[j].Arg())
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// deleteInserted deletes the inserted rows idx by primary key.
func (p *plan) deleteInserted(ctx context.Context, tx *sql.Tx, idx []int) error {
	for chunk := range slices.Chunk(idx, schema.MaxKeysPerStatement) {
		pred, err := p.t.PrimaryKeyIn(len(chunk))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+p.t.QuotedName()+" WHERE "+pred, p.keyArgs(chunk)...); err != nil {
			return err
		}
	}
	return nil
}

// insertDeleted inserts the deleted rows idx again, with every writable
// image column (auto-increment keys included).
func (p *plan) insertDeleted(ctx context.Context, tx *sql.Tx, idx []int) error {
	var cols []int
	var head strings.Builder
	head.WriteString("INSERT INTO ")
	head.WriteString(p.t.QuotedName())
	head.WriteString(" (")
	for j, c := range p.cols {
		if p.t.Column(c).Generated {
			continue
		}
		if len(cols) > 0 {
			head.WriteByte(',')
		}
		head.WriteString(schema.QuoteIdent(c))
		cols = append(cols, j)
	}
	if len(cols) == 0 {
		return fmt.Errorf("%w: %s: no writable column in the image", ErrSchemaChanged, p.t.QuotedName())
	}
	head.WriteString(") VALUES ")
	tuple := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	perStmt := min(schema.MaxKeysPerStatement, maxPlaceholders/len(cols))
	for chunk := range slices.Chunk(idx, perStmt) {
		var b strings.Builder
		b.Grow(head.Len() + (len(tuple)+1)*len(chunk))
		b.WriteString(head.String())
		args := make([]any, 0, len(chunk)*len(cols))
		for n, i := range chunk {
			if n > 0 {
				b.WriteByte(',')
			}
			b.WriteString(tuple)
			row := p.img.Rows[i]
			for _, j := range cols {
				args = append(args, row[j].Arg())
			}
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

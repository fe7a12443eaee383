package undo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/atcc-go/atcc/internal/schema"
)

// Restoring a branch's rows runs in the rollback's local transaction, after
// every row has been locked and checked (check), as a sequence of waves:
//
//   - Each row to put back is an op. An op that writes a unique key value
//     (an update giving a row its old value back, an insert of a deleted
//     row) waits for the ops of the rows that hold that value now and give
//     it up (an update taking another value, a delete of a row the branch
//     inserted). A wave runs every op that waits for nothing: per table
//     (newest table first) the deletes, then the updates, then the inserts.
//   - Ops that wait for each other in a cycle (two rows that swapped their
//     unique values, longer rotations) are broken by moving one member out
//     of the way: its row is deleted and later inserted again whole (every
//     column: the live row with the image's values over it), which is exact.
//     The delete runs with foreign_key_checks off, so that it neither
//     cascades to nor is refused by rows referencing it; the insert runs with
//     checks on. Triggers see a DELETE and an INSERT for that row instead of
//     an UPDATE.
//   - The dependency graph compares values byte for byte, while the server
//     compares them by collation ('a' and 'A' collide under a _ci collation):
//     an op the server refuses with a duplicate key or a foreign key error
//     is postponed and tried again after other ops made progress (InnoDB
//     rolls back just the failed statement); when nothing moves any more, a
//     postponed update is moved out of the way like a cycle member.
//   - An op that still fails, or fails for another reason retrying cannot
//     change, ends the rollback with a *RestoreError naming the rows.

// op is one row to put back.
type op struct {
	tc     *tableChanges
	order  int // table order, newest table first
	rc     *rowChange
	kind   restoreKind
	moved  bool // deleted to break a cycle: to be inserted whole
	done   bool
	claims []string // unique key values it writes that another row may hold
	holds  []string // unique key values the row holds now and gives up
	indeg  int      // ops not done that hold a value it claims
	next   []*op    // ops waiting for this one
	prev   []*op    // ops this one waits for
	err    error    // why the server postponed it
}

// restorer runs the restore of one branch in its local transaction.
type restorer struct {
	m     *Manager
	tx    *sql.Tx
	l     *BranchLog
	stmts map[string]*sql.Stmt
	// fkOff is set while foreign_key_checks may be off on the connection;
	// if it stays set the connection must not go back to the pool.
	fkOff bool
	// refreshed says the metadata was read from the server for this
	// attempt; otherwise it comes from the cache and readCurrent checks it.
	refreshed bool
}

func (r *restorer) close() {
	for _, s := range r.stmts {
		s.Close()
	}
}

// check locks and reads the live row of every change and sorts the changes
// into ops, or returns a *DirtyWriteError: a row that is neither as the
// branch left it nor already as it was before the branch. Nothing is
// written.
func (r *restorer) check(ctx context.Context, tables []*tableChanges) ([]*op, error) {
	var ops []*op
	for order, tc := range tables {
		var todo []*rowChange
		for _, rc := range tc.rows {
			if rc.kind() != restoreNone {
				todo = append(todo, rc)
			}
		}
		if len(todo) == 0 {
			continue
		}
		if err := r.readCurrent(ctx, tc, todo); err != nil {
			return nil, err
		}
		var dirty []DirtyRow
		for _, rc := range todo {
			switch {
			case r.m.cfg.SkipDataValidation || rc.last.matches(rc.cur):
			case rc.first.matches(rc.cur):
				continue // already restored
			default:
				dirty = append(dirty, tc.dirtyRow(rc))
				continue
			}
			o := &op{tc: tc, order: order, rc: rc, kind: rc.kind()}
			if o.kind == restoreInsert {
				if err := tc.complete(&rc.first); err != nil {
					return nil, err
				}
			}
			ops = append(ops, o)
		}
		if len(dirty) > 0 {
			e := &DirtyWriteError{XID: r.l.XID, BranchID: r.l.BranchID, Table: tc.t.QuotedName(), Columns: tc.names(), Rows: dirty}
			r.m.log.ErrorContext(ctx, "atcc/undo: dirty write, branch not rolled back; reconcile the rows by hand",
				"xid", r.l.XID, "branch", r.l.BranchID, "table", e.Table,
				"columns", e.Columns, "rows", formatDirty(dirty))
			return nil, e
		}
	}
	return ops, nil
}

// complete checks that s, the row to insert again, has a value for every
// writable live column: inserting without one would silently write the
// column's default, for instance for a column added after the image was
// taken.
func (tc *tableChanges) complete(s *rowState) error {
	for i, c := range tc.t.Columns {
		if !c.Generated && !s.has[i] {
			return fmt.Errorf("%w: %s has column %s, which the undo log's image of the deleted rows lacks (added after it was taken?); inserting them again would write its default",
				ErrSchemaChanged, tc.t.QuotedName(), schema.QuoteIdent(c.Name))
		}
	}
	return nil
}

func (tc *tableChanges) names() []string {
	out := make([]string, len(tc.t.Columns))
	for i, c := range tc.t.Columns {
		out[i] = c.Name
	}
	return out
}

// dirtyRow describes rc for a DirtyWriteError, in live column order. Columns
// no image held are reported with their current value.
func (tc *tableChanges) dirtyRow(rc *rowChange) DirtyRow {
	d := DirtyRow{Key: rc.pk, Current: rc.cur}
	if rc.last.exists {
		d.Expected = slices.Clone(rc.last.vals)
		for i, h := range rc.last.has {
			if !h && rc.cur != nil {
				d.Expected[i] = rc.cur[i]
			}
		}
		if rc.cur != nil {
			for i, h := range rc.last.has {
				if h && rc.last.vals[i] != rc.cur[i] {
					d.Changed = append(d.Changed, tc.t.Columns[i].Name)
				}
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

// errTableMoved reports a table whose columns are not those of its cached
// metadata: the rollback starts over with metadata read from the server.
var errTableMoved = errors.New("atcc/undo: table metadata is stale")

// readCurrent locks and reads, by primary key, every live column of the
// rows of rcs, through prepared statements (the binary protocol reads
// floats exactly). With cached metadata it reads SELECT *, whose columns
// (sent even when no row matches) are the live table's, and compares them
// with the cached ones: a column added or dropped since the cache was
// filled makes the rollback start over with fresh metadata. A table with
// INVISIBLE columns, which SELECT * leaves out, always takes that path.
func (r *restorer) readCurrent(ctx context.Context, tc *tableChanges, rcs []*rowChange) error {
	names := tc.names()
	for chunk := range slices.Chunk(rcs, schema.MaxKeysPerStatement) {
		q, err := tc.t.SelectByPrimaryKey(nil, len(chunk), true)
		if err != nil {
			return err
		}
		if !r.refreshed {
			q = "SELECT * FROM " + tc.t.QuotedName() + q[strings.Index(q, " WHERE "):]
		}
		args := make([]any, 0, len(chunk)*len(tc.pkIdx))
		for _, rc := range chunk {
			args = appendArgs(args, rc.pk)
		}
		img, err := queryTx(ctx, r.tx, q, args)
		if err != nil {
			return err
		}
		if !slices.Equal(img.Columns, names) {
			return fmt.Errorf("%w: %s", errTableMoved, tc.t.QuotedName())
		}
		for _, row := range img.Rows {
			if rc := tc.byKey[encodeKey(row, tc.pkIdx)]; rc != nil {
				rc.cur = row
			}
		}
	}
	return nil
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

func appendArgs(args []any, row Row) []any {
	for _, v := range row {
		args = append(args, v.Arg())
	}
	return args
}

// graph computes what each op claims and holds and links them.
func graph(ops []*op) {
	holder := make(map[string]*op)
	for _, o := range ops {
		o.keys()
		for _, h := range o.holds {
			holder[h] = o
		}
	}
	for _, o := range ops {
		for _, c := range o.claims {
			if h := holder[c]; h != nil && h != o {
				h.next = append(h.next, o)
				o.prev = append(o.prev, h)
				o.indeg++
			}
		}
	}
}

// keys fills o.claims and o.holds from the table's unique keys (the primary
// key needs none: no other row can hold a row's own key). A key with a NULL
// part collides with nothing.
func (o *op) keys() {
	t, rc := o.tc.t, o.rc
	now := rc.cur
	if now == nil && rc.last.exists {
		now = rc.last.vals
	}
	for k, key := range t.UniqueKeys {
		target, tok := o.keyValue(k, key, rc.first.vals, rc.first.has, o.kind == restoreUpdate || o.kind == restoreInsert)
		held, hok := o.keyValue(k, key, now, nil, o.kind == restoreUpdate || o.kind == restoreDelete)
		if tok && hok && target == held {
			continue // the op does not change this key
		}
		if o.kind == restoreUpdate && !o.known(key, rc.first.has) {
			continue // not in the image: the update does not write it
		}
		if tok {
			o.claims = append(o.claims, target)
		}
		if hok {
			o.holds = append(o.holds, held)
		}
	}
}

func (o *op) known(key schema.Key, has []bool) bool {
	for _, c := range key.Columns {
		if i := o.tc.t.ColumnIndex(c); i < 0 || !has[i] {
			return false
		}
	}
	return true
}

// keyValue encodes the values of key in row (has nil: all known); ok is
// false when want is false, a value is unknown or NULL.
func (o *op) keyValue(k int, key schema.Key, row Row, has []bool, want bool) (string, bool) {
	if !want || row == nil {
		return "", false
	}
	b := strconv.AppendInt(nil, int64(o.order), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, ':')
	for _, c := range key.Columns {
		i := o.tc.t.ColumnIndex(c)
		if i < 0 || has != nil && !has[i] || row[i].IsNull() {
			return "", false
		}
		b = appendValue(b, row[i])
	}
	return string(b), true
}

// run restores ops: waves of ops that wait for nothing, cycles broken by
// moving a member out of the way, server refusals postponed.
func (r *restorer) run(ctx context.Context, ops []*op) error {
	graph(ops)
	remaining := len(ops)
	var ready, stalled []*op
	for _, o := range ops {
		if o.indeg == 0 {
			ready = append(ready, o)
		}
	}
	for remaining > 0 {
		if len(ready) == 0 {
			x := moveCandidate(ops, stalled)
			if x == nil {
				return r.stuck(ctx, stalled)
			}
			if err := r.moveOut(ctx, x); err != nil {
				return err
			}
			x.moved = true
			for _, s := range x.next {
				if s.indeg--; s.indeg == 0 && !slices.Contains(stalled, s) {
					ready = append(ready, s)
				}
			}
			x.next = nil
			if x.indeg == 0 && !slices.Contains(stalled, x) && !slices.Contains(ready, x) {
				ready = append(ready, x)
			}
			ready = append(ready, stalled...)
			stalled = nil
			continue
		}
		done, deferred, err := r.wave(ctx, ready)
		if err != nil {
			return err
		}
		ready = nil
		for _, o := range done {
			o.done = true
			remaining--
			for _, s := range o.next {
				if s.indeg--; s.indeg == 0 {
					ready = append(ready, s)
				}
			}
		}
		if len(done) > 0 {
			ready = append(ready, deferred...)
			ready = append(ready, stalled...)
			stalled = nil
		} else {
			stalled = append(stalled, deferred...)
		}
	}
	return nil
}

// moveCandidate picks the op to move out of the way: a member of a cycle of
// waiting ops, else a postponed update; nil if there is none.
func moveCandidate(ops, stalled []*op) *op {
	movable := func(o *op) bool { return o.kind == restoreUpdate && !o.moved && !o.done && o.rc.cur != nil }
	for _, o := range ops {
		if o.done || o.indeg == 0 {
			continue
		}
		// Walk back through ops still waited for: a walk in a finite graph
		// where every op has a predecessor ends in a cycle.
		seen := make(map[*op]bool)
		for cur := o; cur != nil && !seen[cur]; {
			seen[cur] = true
			var p *op
			for _, q := range cur.prev {
				if !q.done && !q.moved {
					p = q
					break
				}
			}
			if p == nil {
				break
			}
			if seen[p] && movable(p) {
				return p
			}
			cur = p
		}
	}
	for _, o := range stalled {
		if movable(o) {
			return o
		}
	}
	return nil
}

// stuck reports the ops nothing can move any more.
func (r *restorer) stuck(ctx context.Context, stalled []*op) error {
	if len(stalled) == 0 {
		return fmt.Errorf("%w: rows wait for each other and none can be moved", ErrRestoreFailed)
	}
	o := stalled[0]
	var same []*op
	for _, s := range stalled {
		if s.tc == o.tc && s.kind == o.kind && s.moved == o.moved {
			same = append(same, s)
		}
	}
	return r.fail(ctx, same, o.err)
}

// fail builds, logs and returns the error for ops failing with err; an
// error worth retrying is returned as it is.
func (r *restorer) fail(ctx context.Context, ops []*op, err error) error {
	if Retryable(err) || restartable(err) {
		return err
	}
	o := ops[0]
	e := &RestoreError{XID: r.l.XID, BranchID: r.l.BranchID, Table: o.tc.t.QuotedName(), Op: o.stmtKind().String(), Err: err}
	if o.stmtKind() == restoreDelete {
		e.Columns = o.tc.t.PrimaryKey
		for _, x := range ops {
			e.Rows = append(e.Rows, x.rc.pk)
		}
	} else {
		e.Columns = o.tc.names()
		for _, x := range ops {
			e.Rows = append(e.Rows, x.target())
		}
	}
	rows := make([]string, len(e.Rows))
	for i, row := range e.Rows {
		rows[i] = row.format()
	}
	r.m.log.ErrorContext(ctx, "atcc/undo: rows cannot be restored, branch not rolled back; reconcile them by hand",
		"xid", r.l.XID, "branch", r.l.BranchID, "table", e.Table, "op", e.Op,
		"columns", e.Columns, "rows", rows, "error", err)
	return e
}

// stmtKind is the statement that puts o's row back.
func (o *op) stmtKind() restoreKind {
	if o.moved {
		return restoreInsert
	}
	return o.kind
}

// target is the whole row as it must be: the image's values over the live
// row (update, moved) or the image (insert).
func (o *op) target() Row {
	rc := o.rc
	row := slices.Clone(rc.cur)
	if row == nil {
		row = make(Row, len(rc.first.vals))
	}
	for i, h := range rc.first.has {
		if h {
			row[i] = rc.first.vals[i]
		}
	}
	return row
}

// wave runs ops, which wait for nothing, table by table: deletes, updates,
// inserts. It returns the ops done and those the server postponed.
func (r *restorer) wave(ctx context.Context, ops []*op) (done, deferred []*op, err error) {
	slices.SortStableFunc(ops, func(a, b *op) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return int(stmtRank(a)) - int(stmtRank(b))
	})
	for lo := 0; lo < len(ops); {
		hi := lo + 1
		for hi < len(ops) && ops[hi].order == ops[lo].order && stmtRank(ops[hi]) == stmtRank(ops[lo]) {
			hi++
		}
		group := ops[lo:hi]
		lo = hi
		var d, p []*op
		switch group[0].stmtKind() {
		case restoreDelete:
			d, p, err = r.batch(ctx, group, r.deleteRows)
		case restoreInsert:
			d, p, err = r.batch(ctx, group, r.insertRows)
		default:
			d, p, err = r.updateRows(ctx, group)
		}
		if err != nil {
			return nil, nil, err
		}
		done = append(done, d...)
		deferred = append(deferred, p...)
	}
	return done, deferred, nil
}

func stmtRank(o *op) restoreKind {
	switch o.stmtKind() {
	case restoreDelete:
		return 0
	case restoreUpdate:
		return 1
	}
	return 2
}

// postponable reports a refusal that another op of the restore may lift.
func postponable(err error) bool {
	for _, n := range []uint16{errDupEntry, errDupEntryWithKey, errRowIsReferenced, errRowIsReferenced2,
		errNoReferencedRow, errNoReferencedRow2} {
		if isMySQLError(err, n) {
			return true
		}
	}
	return false
}

// batch runs exec over ops in chunks; a chunk the server refuses with a
// postponable error is run again row by row.
func (r *restorer) batch(ctx context.Context, ops []*op, exec func(context.Context, []*op) error) (done, deferred []*op, err error) {
	per := schema.MaxKeysPerStatement
	if ops[0].stmtKind() == restoreInsert {
		per = min(per, maxPlaceholders/len(ops[0].tc.t.Columns))
	}
	for chunk := range slices.Chunk(ops, per) {
		err := exec(ctx, chunk)
		switch {
		case err == nil:
			done = append(done, chunk...)
			continue
		case !postponable(err):
			return nil, nil, r.fail(ctx, chunk, err)
		}
		for _, o := range chunk {
			switch err := exec(ctx, []*op{o}); {
			case err == nil:
				done = append(done, o)
			case postponable(err):
				deferred = append(deferred, r.postpone(ctx, o, err))
			default:
				return nil, nil, r.fail(ctx, []*op{o}, err)
			}
		}
	}
	return done, deferred, nil
}

// postpone notes that the server refused o for now.
func (r *restorer) postpone(ctx context.Context, o *op, err error) *op {
	o.err = err
	r.m.log.DebugContext(ctx, "atcc/undo: restore of a row postponed", "xid", r.l.XID, "branch", r.l.BranchID,
		"table", o.tc.t.QuotedName(), "key", o.rc.pk.format(), "error", err)
	return o
}

// deleteRows deletes the rows of ops by primary key.
func (r *restorer) deleteRows(ctx context.Context, ops []*op) error {
	t := ops[0].tc.t
	pred, err := t.PrimaryKeyIn(len(ops))
	if err != nil {
		return err
	}
	args := make([]any, 0, len(ops)*len(t.PrimaryKey))
	for _, o := range ops {
		args = appendArgs(args, o.rc.pk)
	}
	_, err = r.tx.ExecContext(ctx, "DELETE FROM "+t.QuotedName()+" WHERE "+pred, args...)
	return err
}

// insertRows inserts the whole rows of ops, every writable column.
func (r *restorer) insertRows(ctx context.Context, ops []*op) error {
	t := ops[0].tc.t
	var cols []int
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(t.QuotedName())
	b.WriteString(" (")
	for i, c := range t.Columns {
		if c.Generated {
			continue
		}
		if len(cols) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(schema.QuoteIdent(c.Name))
		cols = append(cols, i)
	}
	if len(cols) == 0 {
		return fmt.Errorf("%w: %s: no writable column", ErrSchemaChanged, t.QuotedName())
	}
	b.WriteString(") VALUES ")
	tuple := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	args := make([]any, 0, len(ops)*len(cols))
	for n, o := range ops {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
		row := o.target()
		for _, i := range cols {
			args = append(args, row[i].Arg())
		}
	}
	_, err := r.tx.ExecContext(ctx, b.String(), args...)
	return err
}

// updateRows writes the image's values of every column outside the primary
// key (generated columns are not writable) back, row by row, through one
// prepared statement per set of columns.
func (r *restorer) updateRows(ctx context.Context, ops []*op) (done, deferred []*op, err error) {
	for _, o := range ops {
		t, rc := o.tc.t, o.rc
		isKey := make([]bool, len(t.Columns))
		for _, i := range o.tc.pkIdx {
			isKey[i] = true
		}
		var set []int
		for i, h := range rc.first.has {
			if h && !isKey[i] && !t.Columns[i].Generated {
				set = append(set, i)
			}
		}
		if len(set) == 0 {
			done = append(done, o)
			continue
		}
		stmt, err := r.updateStmt(ctx, t, set)
		if err != nil {
			return nil, nil, err
		}
		args := make([]any, 0, len(set)+len(rc.pk))
		for _, i := range set {
			args = append(args, rc.first.vals[i].Arg())
		}
		args = appendArgs(args, rc.pk)
		switch _, err := stmt.ExecContext(ctx, args...); {
		case err == nil:
			done = append(done, o)
		case postponable(err):
			deferred = append(deferred, r.postpone(ctx, o, err))
		default:
			return nil, nil, r.fail(ctx, []*op{o}, err)
		}
	}
	return done, deferred, nil
}

func (r *restorer) updateStmt(ctx context.Context, t *schema.Table, set []int) (*sql.Stmt, error) {
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(t.QuotedName())
	b.WriteString(" SET ")
	for n, i := range set {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(schema.QuoteIdent(t.Columns[i].Name))
		b.WriteString("=?")
	}
	b.WriteString(" WHERE ")
	for n, name := range t.PrimaryKey {
		if n > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(schema.QuoteIdent(name))
		b.WriteString("=?")
	}
	q := b.String()
	if s := r.stmts[q]; s != nil {
		return s, nil
	}
	s, err := r.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if r.stmts == nil {
		r.stmts = make(map[string]*sql.Stmt)
	}
	r.stmts[q] = s
	return s, nil
}

// moveOut deletes o's row, with foreign_key_checks off so that the delete
// neither cascades nor is refused; o is then inserted whole.
func (r *restorer) moveOut(ctx context.Context, o *op) error {
	var checks int
	if err := r.tx.QueryRowContext(ctx, "SELECT @@SESSION.foreign_key_checks").Scan(&checks); err != nil {
		return err
	}
	r.fkOff = true
	if _, err := r.tx.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return err
	}
	if err := r.deleteRows(ctx, []*op{o}); err != nil {
		del := *o
		del.kind = restoreDelete
		return r.fail(ctx, []*op{&del}, err)
	}
	if _, err := r.tx.ExecContext(ctx, "SET SESSION foreign_key_checks = ?", checks); err != nil {
		return err
	}
	r.fkOff = false
	r.m.log.DebugContext(ctx, "atcc/undo: row moved out of the way of a unique key cycle",
		"xid", r.l.XID, "branch", r.l.BranchID, "table", o.tc.t.QuotedName(), "key", o.rc.pk.format())
	return nil
}

package undo

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/atcc-go/atcc/internal/mysqlerr"
	"github.com/atcc-go/atcc/internal/schema"
)

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

// fail builds, logs and returns the error for ops failing with err; an
// error worth retrying is returned as it is.
func (r *restorer) fail(ctx context.Context, ops []*op, err error) error {
	if IsRetryable(err) || restartable(err) {
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
	return mysqlerr.Is(err, mysqlerr.DupEntry, mysqlerr.DupEntryWithKey, mysqlerr.RowIsReferenced,
		mysqlerr.RowIsReferenced2, mysqlerr.NoReferencedRow, mysqlerr.NoReferencedRow2)
}

// batch runs exec over ops in chunks; a chunk the server refuses with a
// postponable error is run again row by row.
func (r *restorer) batch(ctx context.Context, ops []*op,
	exec func(context.Context, []*op) error) (done, deferred []*op, err error) {
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

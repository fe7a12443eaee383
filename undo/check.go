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
			return fmt.Errorf("%w: %s has column %s, which the undo log's image of the deleted rows lacks"+
				" (added after it was taken?); inserting them again would write its default",
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

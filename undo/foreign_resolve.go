package undo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/internal/schema"
)

// resolveForeign turns a foreign undo log into a BranchLog: each value read
// by the live type of its column, column names as the table stores them.
func (m *Manager) resolveForeign(ctx context.Context, fl *foreignLog) (*BranchLog, error) {
	l := &BranchLog{XID: fl.xid, BranchID: fl.branchID, Records: make([]Record, 0, len(fl.records))}
	for i := range fl.records {
		fr := &fl.records[i]
		var err error
		if l.Records, err = m.resolveRecord(ctx, fl.writer, fr, l.Records); err != nil {
			return nil, fmt.Errorf("%s undo log, record %d (%s %s): %w", fl.writer, i, fr.sqlType, fr.table, err)
		}
	}
	return l, nil
}

// opUpsert is INSERT ... ON DUPLICATE KEY UPDATE: some rows updated, the
// others inserted. It becomes an update and an insert record.
const opUpsert Op = 0xff

// foreignOp maps Seata's SQLType names onto the records atcc undoes.
func foreignOp(sqlType string) (Op, bool) {
	switch sqlType {
	case "INSERT":
		return OpInsert, true
	case "UPDATE", "MULTI_UPDATE":
		return OpUpdate, true
	case "DELETE", "MULTI_DELETE":
		return OpDelete, true
	case "INSERT_ON_DUPLICATE_UPDATE", "INSERT_ON_UPDATE": // Java's name, seata-go's
		return opUpsert, true
	}
	return 0, false
}

// resolveRecord appends the records fr resolves to.
func (m *Manager) resolveRecord(ctx context.Context, w writer, fr *foreignRecord, recs []Record) ([]Record, error) {
	op, ok := foreignOp(fr.sqlType)
	if !ok {
		return recs, fmt.Errorf("%w: statement type %q", ErrUnsupportedFormat, fr.sqlType)
	}
	rec := Record{Op: op}
	rec.Schema, rec.Table = splitTableName(fr.table)
	switch {
	case op == OpInsert && len(fr.before) > 0:
		return recs, fmt.Errorf("%w: insert record with a before image", ErrCorrupt)
	case op == OpDelete && len(fr.after) > 0:
		return recs, fmt.Errorf("%w: delete record with an after image", ErrCorrupt)
	case len(fr.before) == 0 && len(fr.after) == 0:
		if op == opUpsert {
			rec.Op = OpInsert
		}
		return append(recs, rec), nil // nothing changed; the table need not exist any more
	}
	t, err := m.tables.Table(ctx, rec.Schema, rec.Table)
	if err != nil {
		return recs, tableError(err)
	}
	// The before image is written back (update, delete); the after image is
	// only compared with the live rows (insert, update).
	if rec.Before, err = m.foreignImage(w, t, fr.before, false); err != nil {
		return recs, fmt.Errorf("before image: %w", err)
	}
	if rec.After, err = m.foreignImage(w, t, fr.after, op == OpInsert); err != nil {
		return recs, fmt.Errorf("after image: %w", err)
	}
	switch op {
	case OpUpdate:
		err = alignColumns(&rec.After, rec.Before.Columns)
	case opUpsert:
		return splitUpsert(t, rec, recs)
	}
	return append(recs, rec), err
}

// splitUpsert turns the images of an INSERT ... ON DUPLICATE KEY UPDATE
// (before: the rows that conflicted; after: those rows and the inserted
// ones, all columns) into an update record and an insert record. Undone
// newest first, the inserted rows are deleted before the updated ones are
// restored, so a unique value an updated row gave up and an inserted row
// took is free again when the update is undone.
func splitUpsert(t *schema.Table, rec Record, recs []Record) ([]Record, error) {
	if len(rec.Before.Rows) == 0 {
		rec.Op = OpInsert
		return append(recs, rec), nil
	}
	if err := alignColumns(&rec.After, rec.Before.Columns); err != nil {
		return recs, err
	}
	pk := make([]int, len(t.PrimaryKey))
	for k, name := range t.PrimaryKey {
		if pk[k] = rec.Before.ColumnIndex(name); pk[k] < 0 {
			return recs, fmt.Errorf("%w: primary key column %s of %s is not in the image", ErrSchemaChanged, schema.QuoteIdent(name), t.QuotedName())
		}
	}
	if len(pk) == 0 {
		return recs, fmt.Errorf("%w: %s has no primary key", ErrSchemaChanged, t.QuotedName())
	}
	updated := make(map[string]bool, len(rec.Before.Rows))
	for _, row := range rec.Before.Rows {
		updated[encodeKey(row, pk)] = true
	}
	upd := Record{Op: OpUpdate, Schema: rec.Schema, Table: rec.Table, Before: rec.Before, After: Image{Columns: rec.After.Columns}}
	ins := Record{Op: OpInsert, Schema: rec.Schema, Table: rec.Table, After: Image{Columns: rec.After.Columns}}
	for _, row := range rec.After.Rows {
		if updated[encodeKey(row, pk)] {
			upd.After.Rows = append(upd.After.Rows, row)
		} else {
			ins.After.Rows = append(ins.After.Rows, row)
		}
	}
	if len(upd.After.Rows) != len(upd.Before.Rows) {
		return recs, fmt.Errorf("%w: %d rows conflicted but %d of them are in the after image", ErrCorrupt, len(upd.Before.Rows), len(upd.After.Rows))
	}
	return append(recs, upd, ins), nil
}

// foreignImage converts rows, whose fields name columns of t, into an
// Image. A column listed twice in a row (seata-go v1.2.0 lists every column
// of a multi-row update's after image twice) must hold the same value
// twice. Values a writer may have stored wrong (errUntrusted) or inexactly
// (ErrLossy) are refused, unless mayDrop: an insert's after image is only
// compared with the live rows, so such a column, outside the primary key, is
// left out of the comparison instead.
func (m *Manager) foreignImage(w writer, t *schema.Table, rows []foreignRow, mayDrop bool) (Image, error) {
	if len(rows) == 0 {
		return Image{}, nil
	}
	var (
		cols    []int       // table column index of each image column, from the first row
		pos     map[int]int // table column index -> image column
		drop    map[int]bool
		vals    = make([]Value, 0, len(rows)*len(rows[0]))
		isKey   = primaryKeySet(t)
		rowVals []Value
	)
	for r, row := range rows {
		if len(row) == 0 {
			return Image{}, fmt.Errorf("%w: row %d has no fields", ErrCorrupt, r)
		}
		if r == 0 {
			pos = make(map[int]int, len(row))
			for _, f := range row {
				ti := t.ColumnIndex(f.name)
				if ti < 0 {
					return Image{}, fmt.Errorf("%w: %s has no column %s", ErrSchemaChanged, t.QuotedName(), schema.QuoteIdent(f.name))
				}
				if _, dup := pos[ti]; !dup {
					pos[ti] = len(cols)
					cols = append(cols, ti)
				}
			}
		}
		rowVals = rowVals[:0]
		rowVals = append(rowVals, make([]Value, len(cols))...)
		seen := make([]bool, len(cols))
		for _, f := range row {
			ti := t.ColumnIndex(f.name)
			j, ok := pos[ti]
			if ti < 0 || !ok {
				return Image{}, fmt.Errorf("%w: row %d has column %q, the first row has not", ErrCorrupt, r, f.name)
			}
			col := &t.Columns[ti]
			v, err := foreignValue(w, col, f.value, m.cfg.JavaTimeZone)
			if unreliable := errors.Is(err, errUntrusted); unreliable || errors.Is(err, ErrLossy) {
				if !mayDrop || isKey[ti] {
					if unreliable {
						err = fmt.Errorf("%w: %w", ErrLossy, err)
					}
					return Image{}, fmt.Errorf("row %d column %s: %w", r, schema.QuoteIdent(col.Name), err)
				}
				if drop == nil {
					drop = make(map[int]bool)
				}
				drop[j] = true
				err = nil
			}
			if err != nil {
				return Image{}, fmt.Errorf("row %d column %s: %w", r, schema.QuoteIdent(col.Name), err)
			}
			if seen[j] && v != rowVals[j] && !drop[j] {
				return Image{}, fmt.Errorf("%w: row %d lists column %s twice with different values", ErrCorrupt, r, schema.QuoteIdent(col.Name))
			}
			seen[j] = true
			rowVals[j] = v
		}
		for j, ok := range seen {
			if !ok {
				return Image{}, fmt.Errorf("%w: row %d lacks column %s", ErrCorrupt, r, schema.QuoteIdent(t.Columns[cols[j]].Name))
			}
		}
		vals = append(vals, rowVals...)
	}
	img := Image{}
	keep := make([]int, 0, len(cols))
	for j, ti := range cols {
		if !drop[j] {
			keep = append(keep, j)
			img.Columns = append(img.Columns, t.Columns[ti].Name)
		}
	}
	if len(keep) == 0 {
		return Image{}, fmt.Errorf("%w: no column of the image can be compared", ErrLossy)
	}
	if len(keep) < len(cols) {
		kept := make([]Value, 0, len(rows)*len(keep))
		for r := range rows {
			for _, j := range keep {
				kept = append(kept, vals[r*len(cols)+j])
			}
		}
		vals = kept
	}
	img.Rows = splitRows(vals, len(keep))
	return img, nil
}

func primaryKeySet(t *schema.Table) map[int]bool {
	set := make(map[int]bool, len(t.PrimaryKey))
	for _, name := range t.PrimaryKey {
		set[t.ColumnIndex(name)] = true
	}
	return set
}

// alignColumns reorders img's columns into the order of cols, which must
// name the same columns: an update's images must list the same columns in
// the same order.
func alignColumns(img *Image, cols []string) error {
	if len(img.Rows) == 0 && len(cols) == 0 {
		return nil
	}
	if len(img.Columns) != len(cols) {
		return fmt.Errorf("%w: update images have different columns", ErrCorrupt)
	}
	perm := make([]int, len(cols))
	same := true
	for i, c := range cols {
		j := img.ColumnIndex(c)
		if j < 0 {
			return fmt.Errorf("%w: update images have different columns", ErrCorrupt)
		}
		perm[i] = j
		same = same && i == j
	}
	if same {
		return nil
	}
	vals := make([]Value, 0, len(img.Rows)*len(cols))
	for _, row := range img.Rows {
		for _, j := range perm {
			vals = append(vals, row[j])
		}
	}
	img.Columns = append([]string(nil), cols...)
	img.Rows = splitRows(vals, len(cols))
	return nil
}

// splitTableName splits a table name as a statement wrote it (t, db.t,
// `db`.`t`) into schema and table, unquoted.
func splitTableName(s string) (schemaName, table string) {
	var (
		parts []string
		cur   strings.Builder
		inQ   bool
	)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`' && inQ && i+1 < len(s) && s[i+1] == '`':
			cur.WriteByte('`')
			i++
		case c == '`':
			inQ = !inQ
		case c == '.' && !inQ:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	if len(parts) == 1 {
		return "", parts[0]
	}
	return "", s // not a table name; the metadata lookup reports it
}

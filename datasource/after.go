package datasource

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/undo"
)

// pendingAfter is an UPDATE record whose after image is completed at
// COMMIT.
type pendingAfter struct {
	rec   int // index in branch.records
	table *schema.Table
	pkIdx []int // of the record's image columns
}

// completeAfterImages fills the After of every pending UPDATE record. The
// value a statement left in a column of a row is what the next statement of
// the transaction that imaged that column of that row found there (its
// before image), or, if none did, what the row holds now, which one query
// per table reads at COMMIT for every such row. This saves a round trip per
// UPDATE: a statement that changes a column always images it (the assigned
// and ON UPDATE columns), so a later image without the column means the
// column did not change in between.
func (c *conn) completeAfterImages(ctx context.Context, br *branch) error {
	if len(br.pending) == 0 {
		return nil
	}
	// Every later image of a row: record index and row, in record order.
	type seen struct {
		rec int
		img *undo.Image
		row undo.Row
	}
	later := make(map[string][]seen) // schema.table + "\x00" + row key
	tableKey := func(t *schema.Table) string { return t.Schema + "." + t.Name }
	pkIdxOf := func(t *schema.Table, img *undo.Image) []int { return pkIndexes(t, img.Columns) }
	tables := make(map[string]*schema.Table)
	for _, p := range br.pending {
		tables[tableKey(p.table)] = p.table
	}
	for i := range br.records {
		rec := &br.records[i]
		t := tables[rec.Schema+"."+rec.Table]
		if t == nil || len(rec.Before.Rows) == 0 {
			continue
		}
		idx := pkIdxOf(t, &rec.Before)
		for _, row := range rec.Before.Rows {
			k := tableKey(t) + "\x00" + rowKey(row, idx)
			later[k] = append(later[k], seen{i, &rec.Before, row})
		}
	}
	// Cells no later image holds: read now, per table.
	type hole struct {
		row  undo.Row
		col  int
		key  string
		name string
	}
	type want struct {
		keys  [][]driver.Value
		known map[string]bool
		cols  map[string]bool
		holes []hole
	}
	wants := make(map[string]*want)
	for _, p := range br.pending {
		rec := &br.records[p.rec]
		tk := tableKey(p.table)
		after := undo.Image{Columns: rec.Before.Columns, Rows: make([]undo.Row, len(rec.Before.Rows))}
		for r, brow := range rec.Before.Rows {
			rk := rowKey(brow, p.pkIdx)
			row := make(undo.Row, len(brow))
			after.Rows[r] = row
		cols:
			for ci, name := range after.Columns {
				if isPrimaryKey(p.table, name) {
					row[ci] = brow[ci]
					continue
				}
				for _, s := range later[tk+"\x00"+rk] {
					if s.rec <= p.rec {
						continue
					}
					if j := s.img.ColumnIndex(name); j >= 0 {
						row[ci] = s.row[j]
						continue cols
					}
				}
				w := wants[tk]
				if w == nil {
					w = &want{known: make(map[string]bool), cols: make(map[string]bool)}
					wants[tk] = w
				}
				if !w.known[rk] {
					w.known[rk] = true
					k := make([]driver.Value, len(p.pkIdx))
					for j, x := range p.pkIdx {
						k[j] = brow[x].Arg()
					}
					w.keys = append(w.keys, k)
				}
				w.cols[name] = true
				w.holes = append(w.holes, hole{row, ci, rk, name})
			}
		}
		rec.After = after
	}
	for tk, w := range wants {
		t := tables[tk]
		var cols []string
		for _, col := range t.Columns {
			if w.cols[col.Name] || isPrimaryKey(t, col.Name) {
				cols = append(cols, col.Name)
			}
		}
		one, err := t.SelectByPrimaryKey(cols, 1, true)
		if err != nil {
			return err
		}
		img, err := c.imageByKeys(ctx, t, cols, one, w.keys)
		if err != nil {
			return err
		}
		idx := pkIdxOf(t, &img)
		now := make(map[string]undo.Row, len(img.Rows))
		for _, row := range img.Rows {
			now[rowKey(row, idx)] = row
		}
		for _, h := range w.holes {
			row, ok := now[h.key]
			if !ok {
				return fmt.Errorf("row %s of %s changed by the transaction is gone", h.key, t.QuotedName())
			}
			h.row[h.col] = row[img.ColumnIndex(h.name)]
		}
	}
	br.pending = br.pending[:0]
	return nil
}

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
func (e *executor) completeAfterImages(ctx context.Context, br *branch) error {
	if len(br.pending) == 0 {
		return nil
	}
	later := sightingsOf(br)
	var reads []*holeRead // one per table, in the order first needed
	for _, p := range br.pending {
		reads = fillAfter(br, p, later, reads)
	}
	for _, rd := range reads {
		if err := e.readHoles(ctx, rd); err != nil {
			return err
		}
	}
	br.pending = br.pending[:0]
	return nil
}

// tableName names a table across metadata reloads, which give it a new
// *schema.Table.
type tableName struct{ schema, name string }

func nameOf(t *schema.Table) tableName { return tableName{t.Schema, t.Name} }

// rowName names a row of a table by its lock key (rowKey).
type rowName struct {
	table tableName
	key   string
}

// sighting is a row as the before image of a record found it.
type sighting struct {
	rec int // index in branch.records
	img *undo.Image
	row undo.Row
}

// sightingsOf returns, for every row of a table that has pending records,
// the before images that hold it, in record order.
func sightingsOf(br *branch) map[rowName][]sighting {
	tables := make(map[tableName]*schema.Table, 1)
	for _, p := range br.pending {
		tables[nameOf(p.table)] = p.table
	}
	later := make(map[rowName][]sighting)
	for i := range br.records {
		rec := &br.records[i]
		tn := tableName{rec.Schema, rec.Table}
		t := tables[tn]
		if t == nil || len(rec.Before.Rows) == 0 {
			continue
		}
		idx := pkIndexes(t, rec.Before.Columns)
		for _, row := range rec.Before.Rows {
			k := rowName{tn, rowKey(row, idx)}
			later[k] = append(later[k], sighting{i, &rec.Before, row})
		}
	}
	return later
}

// holeRead is the query at COMMIT that reads, for one table, the cells of
// after images that no later image holds.
type holeRead struct {
	name  tableName
	table *schema.Table
	keys  [][]driver.Value // the primary keys of the rows to read, each once
	known map[string]bool  // the rowKeys of keys
	cols  map[string]bool  // the columns to read, besides the primary key
	holes []hole
}

// hole is a cell of an after image to fill from holeRead's result.
type hole struct {
	row  undo.Row
	col  int
	key  string // the row's rowKey
	name string // the column's
}

// fillAfter sets the After of p's record: each cell from the first later
// image holding it, or, when none does, as a hole of reads, which it
// returns with the table's read added if needed.
func fillAfter(br *branch, p pendingAfter, later map[rowName][]sighting, reads []*holeRead) []*holeRead {
	rec := &br.records[p.rec]
	tn := nameOf(p.table)
	after := undo.Image{Columns: rec.Before.Columns, Rows: make([]undo.Row, len(rec.Before.Rows))}
	for r, brow := range rec.Before.Rows {
		rk := rowKey(brow, p.pkIdx)
		seen := later[rowName{tn, rk}]
		row := make(undo.Row, len(brow))
		after.Rows[r] = row
	cols:
		for ci, name := range after.Columns {
			if isPrimaryKey(p.table, name) {
				row[ci] = brow[ci]
				continue
			}
			for _, s := range seen {
				if s.rec <= p.rec {
					continue
				}
				if j := s.img.ColumnIndex(name); j >= 0 {
					row[ci] = s.row[j]
					continue cols
				}
			}
			var rd *holeRead
			for _, x := range reads {
				if x.name == tn {
					rd = x
					break
				}
			}
			if rd == nil {
				rd = &holeRead{name: tn, table: p.table, known: make(map[string]bool), cols: make(map[string]bool)}
				reads = append(reads, rd)
			}
			rd.table = p.table // the newest metadata
			if !rd.known[rk] {
				rd.known[rk] = true
				k := make([]driver.Value, len(p.pkIdx))
				for j, x := range p.pkIdx {
					k[j] = brow[x].Arg()
				}
				rd.keys = append(rd.keys, k)
			}
			rd.cols[name] = true
			rd.holes = append(rd.holes, hole{row, ci, rk, name})
		}
	}
	rec.After = after
	return reads
}

// readHoles reads the rows of rd as they are now and fills its holes.
func (e *executor) readHoles(ctx context.Context, rd *holeRead) error {
	t := rd.table
	var cols []string
	for _, col := range t.Columns {
		if rd.cols[col.Name] || isPrimaryKey(t, col.Name) {
			cols = append(cols, col.Name)
		}
	}
	one, err := t.SelectByPrimaryKey(cols, 1, true)
	if err != nil {
		return err
	}
	img, err := e.imageByKeys(ctx, t, cols, one, rd.keys)
	if err != nil {
		return err
	}
	idx := pkIndexes(t, img.Columns)
	now := make(map[string]undo.Row, len(img.Rows))
	for _, row := range img.Rows {
		now[rowKey(row, idx)] = row
	}
	for _, h := range rd.holes {
		row, ok := now[h.key]
		if !ok {
			return fmt.Errorf("row %s of %s changed by the transaction is gone", h.key, t.QuotedName())
		}
		h.row[h.col] = row[img.ColumnIndex(h.name)]
	}
	return nil
}

package datasource

import (
	"bytes"
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"

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
//
// Its bookkeeping is sorted slices rather than maps, and each after image
// one block of cells: 47 allocations per transaction of two one-row UPDATEs
// before (maps of string keys, a row per row), 24 after, the COMMIT read
// through the driver included (BenchmarkGlobalTransfer/global, -memprofile).
func (e *executor) completeAfterImages(ctx context.Context, br *branch) error {
	if len(br.pending) == 0 {
		return nil
	}
	keys := &e.keyText
	later := sightingsOf(br, keys)
	reads := br.reads // one per table, in the order first needed
	defer func() {
		br.keepScratch(reads, later)
		e.dropBoxes()
		*keys = (*keys)[:0]
		if cap(*keys) > keepLockText {
			*keys = nil
		}
	}()
	for _, p := range br.pending {
		reads = fillAfter(br, p, later, reads, keys)
	}
	for i := range reads {
		if err := e.readHoles(ctx, &reads[i], *keys); err != nil {
			return err
		}
	}
	br.pending = br.pending[:0]
	return nil
}

// keepScratch keeps the storage of completeAfterImages' reads and later
// for its next call, dropping what they point at: 7 allocations per AT
// transaction of two UPDATEs fewer (atcc-bench).
func (br *branch) keepScratch(reads []holeRead, later []sighting) {
	for i := range reads {
		rd := &reads[i]
		clear(rd.rows)
		clear(rd.holes)
		clear(rd.keys)
		clear(rd.vals[:cap(rd.vals)]) // readHoles leaves its length 0
		clear(rd.now)
		*rd = holeRead{rows: rd.rows[:0], cols: rd.cols[:0], holes: rd.holes[:0],
			keys: rd.keys[:0], vals: rd.vals[:0], now: rd.now[:0]}
	}
	clear(later)
	br.reads, br.later = nil, nil
	if cap(reads) <= keepRecords {
		br.reads = reads[:0]
	}
	if cap(later) <= keepRecords {
		br.later = later[:0]
	}
}

// tableName names a table across metadata reloads, which give it a new
// *schema.Table.
type tableName struct{ schema, name string }

func nameOf(t *schema.Table) tableName { return tableName{t.Schema, t.Name} }

// The row keys of completeAfterImages (sightings and hole rows) are spans
// of one text the executor keeps (executor.keyText), written by
// appendRowKey, rather than a string each: 2 allocations per AT transaction
// of two one-row UPDATEs fewer (atcc-bench; the keys of numbers from 100
// up, which strconv does not keep).

// sighting is a row as the before image of a record found it.
type sighting struct {
	table tableName
	key   keySpan // the row's rowKey, in the key text
	rec   int     // index in branch.records
	img   *undo.Image
	row   undo.Row
}

// compareSightings orders sightings by table, row and record.
func compareSightings(text []byte) func(a, b sighting) int {
	return func(a, b sighting) int {
		return cmp.Or(strings.Compare(a.table.schema, b.table.schema), strings.Compare(a.table.name, b.table.name),
			bytes.Compare(text[a.key.lo:a.key.hi], text[b.key.lo:b.key.hi]), cmp.Compare(a.rec, b.rec))
	}
}

// sightingsOf returns every row of the before images of the records of
// tables that have pending records, sorted by table, row and record, their
// keys appended to *text.
func sightingsOf(br *branch, text *[]byte) []sighting {
	var buf [4]*schema.Table
	tables := buf[:0] // of the pending records, the newest metadata of each
	for _, p := range br.pending {
		tables = addTable(tables, p.table)
	}
	var idxBuf [4]int
	var later []sighting
	for i := range br.records {
		rec := &br.records[i]
		tn := tableName{rec.Schema, rec.Table}
		t := findTable(tables, tn)
		if t == nil || len(rec.Before.Rows) == 0 {
			continue
		}
		if later == nil {
			later = br.later[:0] // kept by keepScratch
			if n := rowsOfTables(br, tables); cap(later) < n {
				later = make([]sighting, 0, n)
			}
		}
		idx := pkIndexesTo(idxBuf[:0], t, rec.Before.Columns)
		for _, row := range rec.Before.Rows {
			lo := len(*text)
			*text = appendRowKey(*text, row, idx)
			later = append(later, sighting{tn, keySpan{lo, len(*text)}, i, &rec.Before, row})
		}
	}
	slices.SortFunc(later, compareSightings(*text))
	return later
}

// addTable adds t to tables, replacing an older metadata of it.
func addTable(tables []*schema.Table, t *schema.Table) []*schema.Table {
	for i, x := range tables {
		if x.Schema == t.Schema && x.Name == t.Name {
			tables[i] = t
			return tables
		}
	}
	return append(tables, t)
}

func findTable(tables []*schema.Table, tn tableName) *schema.Table {
	for _, t := range tables {
		if t.Schema == tn.schema && t.Name == tn.name {
			return t
		}
	}
	return nil
}

// rowsOfTables counts the before image rows of the records of tables.
func rowsOfTables(br *branch, tables []*schema.Table) int {
	n := 0
	for i := range br.records {
		rec := &br.records[i]
		if findTable(tables, tableName{rec.Schema, rec.Table}) != nil {
			n += len(rec.Before.Rows)
		}
	}
	return n
}

// sightingsOfRow returns the sightings of the row of table tn with key
// (appendRowKey's); text holds the sightings' keys.
func sightingsOfRow(later []sighting, text []byte, tn tableName, key []byte) []sighting {
	i, _ := slices.BinarySearchFunc(later, tn, func(s sighting, tn tableName) int {
		return cmp.Or(strings.Compare(s.table.schema, tn.schema), strings.Compare(s.table.name, tn.name),
			bytes.Compare(text[s.key.lo:s.key.hi], key))
	})
	j := i
	for j < len(later) && later[j].table == tn && bytes.Equal(text[later[j].key.lo:later[j].key.hi], key) {
		j++
	}
	return later[i:j]
}

// holeRead is the query at COMMIT that reads, for one table, the cells of
// after images that no later image holds.
type holeRead struct {
	name  tableName
	table *schema.Table  // the newest metadata
	rows  []holeRow      // the rows to read, each once
	index map[string]int // key text -> index in rows, once there are more than linearKeys
	cols  []string       // the columns to read, besides the primary key
	holes []hole

	// readHoles' buffers
	keys [][]driver.Value
	vals []driver.Value
	now  []undo.Row
}

// holeRow is a row to read: its key and a before image of it.
type holeRow struct {
	key    keySpan // its rowKey, in the key text
	before undo.Row
	pkIdx  []int // of before
}

// hole is a cell of an after image to fill from holeRead's result.
type hole struct {
	cell *undo.Value
	row  int    // in holeRead.rows
	name string // the column's
}

// rowIndex returns the index of the row with key (a span of text) in
// rd.rows, adding it.
func (rd *holeRead) rowIndex(text []byte, key keySpan, before undo.Row, pkIdx []int) int {
	k := text[key.lo:key.hi]
	if i := rd.find(text, k); i >= 0 {
		return i
	}
	rd.rows = append(rd.rows, holeRow{key, before, pkIdx})
	n := len(rd.rows)
	switch {
	case rd.index != nil:
		rd.index[string(k)] = n - 1
	case n > linearKeys:
		rd.index = make(map[string]int, 2*n)
		for i := range rd.rows {
			r := rd.rows[i].key
			rd.index[string(text[r.lo:r.hi])] = i
		}
	}
	return n - 1
}

// addColumn adds the column name to those rd reads.
func (rd *holeRead) addColumn(name string) {
	for _, c := range rd.cols {
		if c == name {
			return
		}
	}
	rd.cols = append(rd.cols, name)
}

// fillAfter sets the After of p's record: each cell from the first later
// image holding it, or, when none does, as a hole of reads, which it
// returns with the table's read added if needed. *text holds the keys of
// later, and gets those fillAfter adds.
func fillAfter(br *branch, p pendingAfter, later []sighting, reads []holeRead, text *[]byte) []holeRead {
	rec := &br.records[p.rec]
	tn := nameOf(p.table)
	cols := rec.Before.Columns
	n := len(cols)
	// One allocation for the rows and their cells, not two, for a few rows
	// (undo.MakeRows): 2 allocations per AT transaction of two one-row
	// UPDATEs fewer (atcc-bench).
	after := undo.Image{Columns: cols, Rows: undo.MakeRows(len(rec.Before.Rows), n)}
	for r, brow := range rec.Before.Rows {
		row := after.Rows[r]
		var kb [64]byte
		key := appendRowKey(kb[:0], brow, p.pkIdx)
		seen := sightingsOfRow(later, *text, tn, key)
		var rd *holeRead
		slot := -1
	cols:
		for ci, name := range cols {
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
			if rd == nil {
				reads, rd = readOf(reads, tn, p.table)
				// brow's own sighting is among seen, its key the
				// same text (sightingsOf); one made with other
				// metadata may not be.
				var rk keySpan
				if len(seen) > 0 {
					rk = seen[0].key
				} else {
					lo := len(*text)
					*text = append(*text, key...)
					rk = keySpan{lo, len(*text)}
				}
				slot = rd.rowIndex(*text, rk, brow, p.pkIdx)
			}
			rd.addColumn(name)
			rd.holes = append(rd.holes, hole{&row[ci], slot, name})
		}
	}
	rec.After = after
	return reads
}

// readOf returns the read of table tn in reads, adding it.
func readOf(reads []holeRead, tn tableName, t *schema.Table) ([]holeRead, *holeRead) {
	for i := range reads {
		if reads[i].name == tn {
			reads[i].table = t // pending records come in order: the newest metadata
			return reads, &reads[i]
		}
	}
	if len(reads) < cap(reads) { // storage kept by keepScratch
		reads = reads[:len(reads)+1]
		rd := &reads[len(reads)-1]
		rd.name, rd.table = tn, t
		return reads, rd
	}
	// room for a few rows and holes (2 allocations less per transaction
	// of two one-row UPDATEs)
	reads = append(reads, holeRead{name: tn, table: t, rows: make([]holeRow, 0, 4), holes: make([]hole, 0, 8)})
	return reads, &reads[len(reads)-1]
}

// readHoles reads the rows of rd as they are now and fills its holes; text
// holds the keys of rd.rows.
func (e *executor) readHoles(ctx context.Context, rd *holeRead, text []byte) error {
	t := rd.table
	cols := make([]string, 0, len(rd.cols)+len(t.PrimaryKey))
	for _, col := range t.Columns {
		if isPrimaryKey(t, col.Name) || slices.Contains(rd.cols, col.Name) {
			cols = append(cols, col.Name)
		}
	}
	keys := growTo(rd.keys, len(rd.rows))
	vals := growTo(rd.vals, len(rd.rows)*len(t.PrimaryKey))[:0]
	rd.keys, rd.vals = keys, vals
	for i := range rd.rows {
		hr := &rd.rows[i]
		lo := len(vals)
		for _, x := range hr.pkIdx {
			vals = append(vals, e.arg(&hr.before[x], false, nil))
		}
		keys[i] = vals[lo:len(vals):len(vals)]
	}
	img, err := e.imageByKeys(ctx, t, cols, "", keys)
	if err != nil {
		return err
	}
	var idxBuf [4]int
	idx := pkIndexesTo(idxBuf[:0], t, img.Columns)
	now := growTo(rd.now, len(rd.rows)) // per row of rd
	rd.now = now
	var kb [64]byte
	for _, row := range img.Rows {
		if i := rd.find(text, appendRowKey(kb[:0], row, idx)); i >= 0 {
			now[i] = row
		}
	}
	for _, h := range rd.holes {
		row := now[h.row]
		if row == nil {
			k := rd.rows[h.row].key
			return fmt.Errorf("row %s of %s changed by the transaction is gone", text[k.lo:k.hi], t.QuotedName())
		}
		*h.cell = row[img.ColumnIndex(h.name)]
	}
	return nil
}

// growTo returns s with length n, its storage reused when large enough,
// its elements zero.
func growTo[S ~[]E, E any](s S, n int) S {
	if cap(s) < n {
		return make(S, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// find returns the index of the row with key (appendRowKey's) in rd.rows,
// whose keys text holds, or -1.
func (rd *holeRead) find(text, key []byte) int {
	if rd.index != nil {
		if i, ok := rd.index[string(key)]; ok {
			return i
		}
		return -1
	}
	for i := range rd.rows {
		if k := rd.rows[i].key; bytes.Equal(text[k.lo:k.hi], key) {
			return i
		}
	}
	return -1
}

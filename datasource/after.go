package datasource

import (
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
	later := sightingsOf(br)
	reads := br.reads // one per table, in the order first needed
	defer func() { br.keepScratch(reads, later) }()
	for _, p := range br.pending {
		reads = fillAfter(br, p, later, reads)
	}
	for i := range reads {
		if err := e.readHoles(ctx, &reads[i]); err != nil {
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

// sighting is a row as the before image of a record found it.
type sighting struct {
	table tableName
	key   string // the row's rowKey
	rec   int    // index in branch.records
	img   *undo.Image
	row   undo.Row
}

func compareSighting(a, b sighting) int {
	return cmp.Or(strings.Compare(a.table.schema, b.table.schema), strings.Compare(a.table.name, b.table.name),
		strings.Compare(a.key, b.key), cmp.Compare(a.rec, b.rec))
}

// sightingsOf returns every row of the before images of the records of
// tables that have pending records, sorted by table, row and record.
func sightingsOf(br *branch) []sighting {
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
			later = append(later, sighting{tn, rowKey(row, idx), i, &rec.Before, row})
		}
	}
	slices.SortFunc(later, compareSighting)
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
// (appendRowKey's).
func sightingsOfRow(later []sighting, tn tableName, key []byte) []sighting {
	i, _ := slices.BinarySearchFunc(later, tn, func(s sighting, tn tableName) int {
		return cmp.Or(strings.Compare(s.table.schema, tn.schema), strings.Compare(s.table.name, tn.name),
			compareKey(s.key, key))
	})
	j := i
	for j < len(later) && later[j].table == tn && later[j].key == string(key) {
		j++
	}
	return later[i:j]
}

// compareKey is strings.Compare(a, string(b)), which would allocate a copy
// of b longer than 32 bytes.
func compareKey(a string, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return cmp.Compare(a[i], b[i])
		}
	}
	return cmp.Compare(len(a), len(b))
}

// holeRead is the query at COMMIT that reads, for one table, the cells of
// after images that no later image holds.
type holeRead struct {
	name  tableName
	table *schema.Table  // the newest metadata
	rows  []holeRow      // the rows to read, each once
	index map[string]int // key -> index in rows, once there are more than linearKeys
	cols  []string       // the columns to read, besides the primary key
	holes []hole

	// readHoles' buffers
	keys [][]driver.Value
	vals []driver.Value
	now  []undo.Row
}

// holeRow is a row to read: its key and a before image of it.
type holeRow struct {
	key    string // rowKey
	before undo.Row
	pkIdx  []int // of before
}

// hole is a cell of an after image to fill from holeRead's result.
type hole struct {
	cell *undo.Value
	row  int    // in holeRead.rows
	name string // the column's
}

// rowIndex returns the index of the row with key in rd.rows, adding it.
func (rd *holeRead) rowIndex(key string, before undo.Row, pkIdx []int) int {
	if rd.index != nil {
		if i, ok := rd.index[key]; ok {
			return i
		}
	} else {
		for i := range rd.rows {
			if rd.rows[i].key == key {
				return i
			}
		}
	}
	rd.rows = append(rd.rows, holeRow{key, before, pkIdx})
	n := len(rd.rows)
	switch {
	case rd.index != nil:
		rd.index[key] = n - 1
	case n > linearKeys:
		rd.index = make(map[string]int, 2*n)
		for i := range rd.rows {
			rd.index[rd.rows[i].key] = i
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
// returns with the table's read added if needed.
func fillAfter(br *branch, p pendingAfter, later []sighting, reads []holeRead) []holeRead {
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
		seen := sightingsOfRow(later, tn, key)
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
				// same text, allocated once (sightingsOf); one made
				// with other metadata may not be.
				rk := ""
				if len(seen) > 0 {
					rk = seen[0].key
				} else {
					rk = string(key)
				}
				slot = rd.rowIndex(rk, brow, p.pkIdx)
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

// readHoles reads the rows of rd as they are now and fills its holes.
func (e *executor) readHoles(ctx context.Context, rd *holeRead) error {
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
			vals = append(vals, hr.before[x].Arg())
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
		if i := rd.find(appendRowKey(kb[:0], row, idx)); i >= 0 {
			now[i] = row
		}
	}
	for _, h := range rd.holes {
		row := now[h.row]
		if row == nil {
			return fmt.Errorf("row %s of %s changed by the transaction is gone", rd.rows[h.row].key, t.QuotedName())
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
// or -1.
func (rd *holeRead) find(key []byte) int {
	if rd.index != nil {
		if i, ok := rd.index[string(key)]; ok {
			return i
		}
		return -1
	}
	for i := range rd.rows {
		if rd.rows[i].key == string(key) {
			return i
		}
	}
	return -1
}

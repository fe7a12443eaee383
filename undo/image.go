package undo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Row is one row of an image: one Value per image column.
type Row []Value

// Equal reports whether r and s hold equal values in the same order.
func (r Row) Equal(s Row) bool {
	if len(r) != len(s) {
		return false
	}
	for i := range r {
		if r[i] != s[i] {
			return false
		}
	}
	return true
}

// format renders r for messages: (1,"a",NULL).
func (r Row) format() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(v.quoted())
	}
	b.WriteByte(')')
	return b.String()
}

// Image is a set of rows of one table, as read at one point of a statement.
// Every row has len(Columns) values, in the order of Columns.
type Image struct {
	Columns []string // column names as the table stores them
	Rows    []Row
}

// ColumnIndex returns the index in Columns of the named column, matched
// case-insensitively as MySQL matches column names, or -1.
func (img *Image) ColumnIndex(name string) int {
	for i, c := range img.Columns {
		if c == name {
			return i
		}
	}
	for i, c := range img.Columns {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// ReadImage reads every remaining row of rows into an Image. Columns come
// from rows.Columns(); each value is canonicalised by its column's database
// type, so rows must implement driver.RowsColumnTypeDatabaseTypeName, as
// go-sql-driver/mysql's do. Values are copied: the driver may reuse its
// buffers once Next is called again. ReadImage does not close rows.
//
// Read images through the binary protocol (see QueryImage): the text
// protocol prints FLOAT with 6 significant digits (16777215 reads back as
// 16777200), which does not round-trip; every other type, DOUBLE included on
// MariaDB 10.11, reads exactly either way.
func ReadImage(rows driver.Rows) (Image, error) {
	cols := rows.Columns()
	typed, ok := rows.(driver.RowsColumnTypeDatabaseTypeName)
	if !ok {
		return Image{}, fmt.Errorf("%w: driver rows do not report column types", ErrUnsupportedType)
	}
	var typesBuf [16]columnType // on the stack for up to 16 columns: 1 allocation less per image
	types := typesBuf[:0]
	if len(cols) > len(typesBuf) {
		types = make([]columnType, len(cols))
	}
	types = types[:len(cols)]
	for i := range types {
		types[i].name = typed.ColumnTypeDatabaseTypeName(i)
		types[i].class = classOf(types[i].name)
	}
	// rows.Columns() is the caller's: database/sql's Rows.Columns hands
	// it to its users as it is, and go-sql-driver/mysql builds it per
	// result set. Not copying it: 3 allocations per AT transaction fewer
	// (atcc-bench).
	img := Image{Columns: cols}
	dp := getDest(len(cols))
	defer putDest(dp)
	dest := *dp
	// The values gather on the stack while they fit (an image of a few
	// rows, as most are), then go to rows of the right size: for each of
	// the 3 images of an AT transaction of two one-row UPDATEs, 1
	// allocation instead of 2, or 3 when the image has 2 rows (atcc-bench:
	// 4 per transaction fewer). Larger images gather on the heap and keep
	// that storage.
	var small [maxSmallCells]Value
	vals := small[:0]
	var spill []Value // vals once it outgrew small; nil before
	var a arena
	for {
		err := rows.Next(dest)
		if err == io.EOF {
			break
		}
		if err != nil {
			return Image{}, err
		}
		for i, v := range dest {
			val, err := types[i].class.value(types[i].name, v, &a)
			if err != nil {
				return Image{}, fmt.Errorf("column %s: %w", cols[i], err)
			}
			if spill == nil && len(vals) == len(small) {
				spill = append(make([]Value, 0, 2*len(small)), vals...)
			}
			if spill != nil {
				spill = append(spill, val)
			} else {
				vals = append(vals, val)
			}
		}
	}
	if spill != nil {
		img.Rows = splitRows(spill, len(cols))
	} else if len(cols) > 0 && len(vals) > 0 {
		img.Rows = MakeRows(len(vals)/len(cols), len(cols))
		for r, row := range img.Rows {
			copy(row, vals[r*len(cols):])
		}
	}
	return img, nil
}

// destPool recycles ReadImage's row buffers (*[]driver.Value): 3
// allocations per AT transaction of two UPDATEs fewer (atcc-bench).
var destPool sync.Pool

// maxPooledDest bounds the buffers destPool keeps.
const maxPooledDest = 256

func getDest(n int) *[]driver.Value {
	p, _ := destPool.Get().(*[]driver.Value)
	if p == nil {
		p = new([]driver.Value)
	}
	if cap(*p) < n {
		*p = make([]driver.Value, n)
	}
	*p = (*p)[:n]
	return p
}

// putDest recycles p, dropping the driver's values it holds.
func putDest(p *[]driver.Value) {
	if cap(*p) > maxPooledDest {
		return
	}
	clear(*p)
	destPool.Put(p)
}

// columnType is a result column's database type and class.
type columnType struct {
	name  string
	class class
}

// maxSmallCells is the most values MakeRows allocates together with their
// rows, and ReadImage gathers on the stack.
const maxSmallCells = 16

// MakeRows returns n rows of width zero values. The values share one block;
// up to 4 rows of 16 values in all share it with the row headers too, so a
// small image costs one allocation rather than two. Each row's capacity is
// its width: appending to a row never writes into the next one.
func MakeRows(n, width int) []Row {
	if n <= 0 {
		return nil
	}
	var rows []Row
	var cells []Value
	switch total := n * width; {
	case n <= 1 && total <= 4:
		p := new(struct {
			rows [1]Row
			vals [4]Value
		})
		rows, cells = p.rows[:n:n], p.vals[:]
	case n <= 2 && total <= 8:
		p := new(struct {
			rows [2]Row
			vals [8]Value
		})
		rows, cells = p.rows[:n:n], p.vals[:]
	case n <= 4 && total <= maxSmallCells:
		p := new(struct {
			rows [4]Row
			vals [maxSmallCells]Value
		})
		rows, cells = p.rows[:n:n], p.vals[:]
	default:
		rows, cells = make([]Row, n), make([]Value, n*width)
	}
	for i := range rows {
		rows[i] = Row(cells[i*width : (i+1)*width : (i+1)*width])
	}
	return rows
}

// splitRows cuts vals into rows of n values sharing its backing array.
func splitRows(vals []Value, n int) []Row {
	if n == 0 || len(vals) == 0 {
		return nil
	}
	rows := make([]Row, len(vals)/n)
	for i := range rows {
		rows[i] = Row(vals[i*n : (i+1)*n : (i+1)*n])
	}
	return rows
}

// QueryImage runs query on a driver connection as a prepared statement and
// reads its rows with ReadImage. Preparing forces the binary protocol, which
// carries FLOAT exactly; conn.QueryContext would use the text
// protocol for a query without arguments, or with interpolateParams=true.
// conn must implement driver.ConnPrepareContext or Prepare; the statement
// must implement driver.StmtQueryContext (go-sql-driver/mysql's do). args
// are passed to the statement as they are.
func QueryImage(ctx context.Context, conn driver.Conn, query string, args []driver.NamedValue) (img Image, err error) {
	var stmt driver.Stmt
	if pc, ok := conn.(driver.ConnPrepareContext); ok {
		stmt, err = pc.PrepareContext(ctx, query)
	} else {
		stmt, err = conn.Prepare(query)
	}
	if err != nil {
		return Image{}, err
	}
	defer func() {
		if cerr := stmt.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	sq, ok := stmt.(driver.StmtQueryContext)
	if !ok {
		return Image{}, errors.New("atcc/undo: driver statement does not implement StmtQueryContext")
	}
	rows, err := sq.QueryContext(ctx, args)
	if err != nil {
		return Image{}, err
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return ReadImage(rows)
}

// readSQLImage is ReadImage for database/sql rows, scanned into *any. It
// does not close rows.
func readSQLImage(rows *sql.Rows) (Image, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return Image{}, err
	}
	img := Image{Columns: make([]string, len(cts))}
	types := make([]columnType, len(cts))
	for i, ct := range cts {
		img.Columns[i] = ct.Name()
		types[i].name = ct.DatabaseTypeName()
		types[i].class = classOf(types[i].name)
	}
	raw := make([]any, len(cts))
	dest := make([]any, len(cts))
	for i := range raw {
		dest[i] = &raw[i]
	}
	vals := make([]Value, 0, len(cts))
	var a arena
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return Image{}, err
		}
		for i, v := range raw {
			val, err := types[i].class.value(types[i].name, v, &a)
			if err != nil {
				return Image{}, fmt.Errorf("column %s: %w", img.Columns[i], err)
			}
			vals = append(vals, val)
		}
	}
	if err := rows.Err(); err != nil {
		return Image{}, err
	}
	img.Rows = splitRows(vals, len(cts))
	return img, nil
}

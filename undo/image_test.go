package undo

import (
	"database/sql/driver"
	"fmt"
	"io"
	"testing"
)

// fakeRows replays driver values, reusing one buffer per column between
// rows as go-sql-driver/mysql may.
type fakeRows struct {
	cols  []string
	types []string
	data  [][]driver.Value
	next  int
	buf   [][]byte
}

func (r *fakeRows) Columns() []string                       { return r.cols }
func (r *fakeRows) Close() error                            { return nil }
func (r *fakeRows) ColumnTypeDatabaseTypeName(i int) string { return r.types[i] }
func (r *fakeRows) reset()                                  { r.next = 0 }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.next == len(r.data) {
		return io.EOF
	}
	if r.buf == nil {
		r.buf = make([][]byte, len(r.cols))
	}
	for i, v := range r.data[r.next] {
		if b, ok := v.([]byte); ok {
			r.buf[i] = append(r.buf[i][:0], b...)
			v = r.buf[i]
		}
		dest[i] = v
	}
	r.next++
	return nil
}

func accountRows(n int) *fakeRows {
	r := &fakeRows{
		cols:  []string{"id", "owner", "balance", "currency", "updated_at", "version"},
		types: []string{"BIGINT", "VARCHAR", "DECIMAL", "CHAR", "DATETIME", "INT"},
	}
	for i := range n {
		r.data = append(r.data, []driver.Value{
			int64(1000 + i), []byte(fmt.Sprintf("customer-%06d@example.com", i)), []byte(fmt.Sprintf("%d.25", 10000+i)),
			[]byte("EUR"), []byte("2025-06-01 12:34:56.789000"), int64(7),
		})
	}
	return r
}

func TestReadImageCopiesDriverBuffers(t *testing.T) {
	rows := accountRows(3)
	img, err := ReadImage(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Rows) != 3 || img.Rows[0][1].String() != "customer-000000@example.com" ||
		img.Rows[2][1].String() != "customer-000002@example.com" || img.Rows[1][4].String() != "2025-06-01 12:34:56.789" {
		t.Fatalf("rows share the driver's buffers: %v", img.Rows)
	}
	rows.types[2] = "NEWTYPE"
	rows.reset()
	if _, err := ReadImage(rows); err == nil {
		t.Fatal("unknown column type accepted")
	}
	empty, err := ReadImage(&fakeRows{cols: []string{"a"}, types: []string{"INT"}})
	if err != nil || len(empty.Rows) != 0 || len(empty.Columns) != 1 {
		t.Fatalf("empty result: %+v %v", empty, err)
	}
}

func TestImageColumnIndex(t *testing.T) {
	img := Image{Columns: []string{"id", "Balance", "balance2"}}
	for name, want := range map[string]int{"id": 0, "ID": 0, "balance": 1, "Balance": 1, "BALANCE2": 2, "nope": -1} {
		if got := img.ColumnIndex(name); got != want {
			t.Errorf("ColumnIndex(%q) = %d, want %d", name, got, want)
		}
	}
}

func BenchmarkReadImage(b *testing.B) {
	for _, n := range []int{1, 100} {
		rows := accountRows(n)
		b.Run(fmt.Sprintf("%drows", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rows.reset()
				if _, err := ReadImage(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMakeRows(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 20} {
		for _, width := range []int{0, 1, 2, 4, 5, 8, 17} {
			rows := MakeRows(n, width)
			if len(rows) != n || cap(rows) != n {
				t.Fatalf("MakeRows(%d, %d): %d rows, capacity %d", n, width, len(rows), cap(rows))
			}
			for i, row := range rows {
				if len(row) != width || cap(row) != width {
					t.Fatalf("MakeRows(%d, %d): row %d has length %d, capacity %d", n, width, i, len(row), cap(row))
				}
				for j := range row {
					if !row[j].IsNull() {
						t.Fatalf("MakeRows(%d, %d): row %d is not zero", n, width, i)
					}
					row[j] = Value{kind: KindInt, num: uint64(i*100 + j)}
				}
			}
			// Appending to a row must not write into the next one.
			if n > 1 {
				_ = append(rows[0], Value{kind: KindString, str: "x"})
			}
			for i, row := range rows {
				for j := range row {
					if row[j] != (Value{kind: KindInt, num: uint64(i*100 + j)}) {
						t.Fatalf("MakeRows(%d, %d): rows overlap at row %d column %d", n, width, i, j)
					}
				}
			}
		}
	}
}

// TestReadImageSizes reads images of 0 to 40 rows of 1 to 6 columns (on
// the stack while they fit, then on the heap) and checks every value.
func TestReadImageSizes(t *testing.T) {
	for _, width := range []int{1, 2, 3, 6} {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 8, 16, 17, 40} {
			src := accountRows(n)
			src.cols, src.types = src.cols[:width], src.types[:width]
			for i := range src.data {
				src.data[i] = src.data[i][:width]
			}
			img, err := ReadImage(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(img.Rows) != n {
				t.Fatalf("%d rows of %d columns: read %d rows", n, width, len(img.Rows))
			}
			for i, row := range img.Rows {
				if len(row) != width || cap(row) != width {
					t.Fatalf("%d rows of %d columns: row %d has length %d, capacity %d", n, width, i, len(row), cap(row))
				}
				if row[0] != (Value{kind: KindInt, num: uint64(1000 + i)}) {
					t.Fatalf("%d rows of %d columns: row %d starts with %v", n, width, i, row[0])
				}
				if width > 1 && row[1].String() != fmt.Sprintf("customer-%06d@example.com", i) {
					t.Fatalf("%d rows of %d columns: row %d has owner %v", n, width, i, row[1])
				}
			}
		}
	}
}

// TestReadImageAllocations pins ReadImage's allocations for small images:
// the rows and their values share one allocation (integer columns need no
// other); text values add their copies and conversions (BenchmarkReadImage/1rows:
// 7 allocations before rows and values shared one).
func TestReadImageAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, tc := range []struct {
		rows, cols int
		want       float64
	}{{1, 2, 1}, {2, 2, 1}, {3, 2, 1}, {1, 6, 6}} {
		src := accountRows(tc.rows)
		src.cols, src.types = src.cols[:tc.cols], src.types[:tc.cols]
		for i := range src.data {
			src.data[i] = src.data[i][:tc.cols]
		}
		if tc.cols == 2 { // id and an integer: no text
			src.types[1] = "BIGINT"
			for i := range src.data {
				src.data[i][1] = int64(5)
			}
		}
		got := testing.AllocsPerRun(100, func() {
			src.reset()
			if _, err := ReadImage(src); err != nil {
				t.Fatal(err)
			}
		})
		if got != tc.want {
			t.Errorf("%d rows of %d columns: %v allocations, want %v", tc.rows, tc.cols, got, tc.want)
		}
	}
}

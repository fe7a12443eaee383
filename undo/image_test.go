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

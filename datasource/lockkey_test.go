package datasource

import (
	"context"
	"database/sql/driver"
	"reflect"
	"testing"

	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/undo"
)

// TestAppendRowKey: appendRowKey, which compares keys at COMMIT, writes
// rowKey's text for keys of every kind, escaped ones included.
func TestAppendRowKey(t *testing.T) {
	mk := func(dbType string, v any) undo.Value {
		t.Helper()
		x, err := undo.ValueOf(dbType, v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	row := undo.Row{
		mk("BIGINT", int64(-1234567)), mk("UNSIGNED BIGINT", uint64(18446744073709551615)),
		mk("DOUBLE", 0.1), mk("DECIMAL", []byte("10.50")), mk("VARCHAR", []byte("plain")),
		mk("VARCHAR", []byte("a,b")), mk("VARCHAR", []byte("x:y;z")), mk("VARCHAR", []byte(" ")),
		mk("VARCHAR", []byte("\u00a0")), mk("VARCHAR", []byte("")), mk("VARBINARY", []byte{0, 1, 0xff}),
		mk("NULL", nil), mk("DATE", []byte("2025-01-02")),
		mk("VARCHAR", []byte("a key longer than sixty-four bytes so that the buffer on the stack grows")),
	}
	want := []string{"-1234567", "18446744073709551615", "0.1", "10.50", "plain", "0x612c62", "0x783a793b7a",
		"0x20", "0xc2a0", "0x", "0x0001ff", "NULL", "2025-01-02",
		"a key longer than sixty-four bytes", // prefix
	}
	for i := range row {
		got := rowKey(row, []int{i})
		if i == len(row)-1 {
			if len(got) < 64 || got[:len(want[i])] != want[i] {
				t.Errorf("column %d: rowKey = %q", i, got)
			}
		} else if got != want[i] {
			t.Errorf("column %d: rowKey = %q, want %q", i, got, want[i])
		}
		for j := range row {
			idx := []int{i, j}
			key := rowKey(row, idx)
			if i != len(row)-1 && j != len(row)-1 && key != want[i]+"_"+want[j] {
				t.Errorf("columns %v: rowKey = %q, want %q", idx, key, want[i]+"_"+want[j])
			}
			var buf [8]byte
			if got := string(appendRowKey(append(buf[:0], "pre"...), row, idx)); got != "pre"+key {
				t.Errorf("columns %v: appendRowKey = %q, want %q", idx, got, "pre"+key)
			}
		}
	}
	// A lockSet writes the same keys from rows as from their text, and
	// drops the same duplicates.
	var byRow, byText lockSet
	for round := range 2 {
		for i := range row {
			for _, idx := range [][]int{{i}, {i, (i + 1) % len(row)}, {i}} {
				table := "t" + string(rune('a'+i%3))
				byRow.addRow(table, row, idx)
				byText.add(table, rowKey(row, idx))
			}
		}
		if got, want := byRow.String(), byText.String(); got != want {
			t.Fatalf("round %d: addRow gives %q, add %q", round, got, want)
		}
		byRow.reset()
		byText.reset()
	}
}

// TestSelectByKeys: the executor's remembered SELECT is the one
// schema.Table.SelectByPrimaryKey builds, for the same metadata, columns and
// key count only.
func TestSelectByKeys(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE sel (id INT PRIMARY KEY, a INT, b INT)")
	cache := schema.NewCache(d.DB)
	ctx := context.Background()
	t1, err := cache.Table(ctx, "", "sel")
	if err != nil {
		t.Fatal(err)
	}
	t2, err := cache.Refresh(ctx, "", "sel")
	if err != nil || t2 == t1 {
		t.Fatal("Refresh kept the metadata", err)
	}
	var e executor
	cols := []string{"id", "a"}
	for _, c := range []struct {
		t    *schema.Table
		cols []string
		keys int
	}{
		{t1, cols, 1}, {t1, cols, 1}, {t1, cols, 2}, {t1, []string{"id", "b"}, 2}, {t1, nil, 2},
		{t1, []string{}, 2}, {t1, nil, 2}, {t2, nil, 2}, {t2, []string{"id"}, 2}, {t2, []string{"id", "nope"}, 2}, {t2, []string{"id"}, 2},
	} {
		want, wantErr := c.t.SelectByPrimaryKey(c.cols, c.keys, true)
		got, err := e.selectByKeys(c.t, c.cols, c.keys)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("%v %d: %q, %v; want %q, %v", c.cols, c.keys, got, err, want, wantErr)
		}
	}
	cols[1] = "b" // the caller's slice changes: the copy does not
	if got, _ := e.selectByKeys(t2, []string{"id"}, 2); got == "" {
		t.Fatal("no statement")
	}
	if got, want := mustSelect(t, &e, t1, cols), mustSelect(t, nil, t1, cols); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(10, func() { mustSelect(t, &e, t1, cols) }); n != 0 {
		t.Fatalf("a remembered SELECT: %v allocations", n)
	}
}

func mustSelect(t *testing.T, e *executor, tb *schema.Table, cols []string) string {
	var q string
	var err error
	if e == nil {
		q, err = tb.SelectByPrimaryKey(cols, 3, true)
	} else {
		q, err = e.selectByKeys(tb, cols, 3)
	}
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestExecutorArg: executor.arg binds a cell as Value.Arg does, handing
// out again the box of a cell it kept, until dropBoxes.
func TestExecutorArg(t *testing.T) {
	var e executor
	row := make(undo.Row, maxBoxes+2)
	for i := range row {
		v, err := undo.ValueOf("BIGINT", int64(1000+i))
		if err != nil {
			t.Fatal(err)
		}
		row[i] = v
	}
	for i := range row {
		if got := e.arg(&row[i], true, nil); got != int64(1000+i) {
			t.Fatalf("cell %d: %v", i, got)
		}
	}
	if len(e.boxes) != maxBoxes {
		t.Fatalf("%d boxes kept, want %d", len(e.boxes), maxBoxes)
	}
	other := row[0] // an equal value in another cell
	if got := e.arg(&other, false, nil); got != int64(1000) {
		t.Fatalf("other cell: %v", got)
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(10, func() { e.arg(&row[1], false, nil) }); n != 0 {
			t.Fatalf("a kept cell: %v allocations", n)
		}
		if n := testing.AllocsPerRun(10, func() { e.arg(&row[maxBoxes+1], false, nil) }); n != 1 {
			t.Fatalf("a cell not kept: %v allocations", n)
		}
	}
	e.dropBoxes()
	if len(e.boxes) != 0 || e.arg(&row[1], false, nil) != int64(1001) {
		t.Fatal("dropBoxes")
	}

	// An equal argument of the statement is bound instead: same type and
	// value only.
	mk := func(dbType string, v any) undo.Value {
		x, err := undo.ValueOf(dbType, v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	from := []driver.NamedValue{{Ordinal: 1, Value: "1000"}, {Ordinal: 2, Value: int64(999)},
		{Ordinal: 3, Value: uint64(1000)}, {Ordinal: 4, Value: int64(1000)}, {Ordinal: 5, Value: "abc"}}
	for _, c := range []struct {
		cell undo.Value
		want int // index in from, -1: none
	}{
		{mk("BIGINT", int64(1000)), 3}, {mk("UNSIGNED BIGINT", uint64(1000)), 2}, {mk("VARCHAR", []byte("abc")), 4},
		{mk("DECIMAL", []byte("1000")), 0}, {mk("BIGINT", int64(5)), -1}, {mk("VARBINARY", []byte("abc")), -1},
		{mk("DOUBLE", 1000.0), -1}, {mk("NULL", nil), -1},
	} {
		got := e.arg(&c.cell, true, from)
		if !reflect.DeepEqual(got, c.cell.Arg()) {
			t.Fatalf("%v: %#v, want %#v", c.cell, got, c.cell.Arg())
		}
		if c.want >= 0 {
			if s, ok := got.(string); ok && s != from[c.want].Value {
				t.Fatalf("%v: bound %#v", c.cell, got)
			}
		}
	}
	cell := mk("BIGINT", int64(1000))
	if !raceEnabled {
		if n := testing.AllocsPerRun(10, func() { e.dropBoxes(); e.arg(&cell, true, from) }); n != 0 {
			t.Fatalf("an argument reused: %v allocations", n)
		}
	}
}

package datasource

import (
	"testing"

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
}

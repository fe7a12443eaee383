package undo

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz seed corpora")

// extremeRow holds one value of every kind at its edges.
func extremeRow() ([]string, Row) {
	cols := []string{"null", "imin", "imax", "umax", "f32", "f32den", "f64", "f64den", "dec", "str", "bin", "time", "empty"}
	a, b := 0.1, 0.2
	row := Row{
		{},
		{kind: KindInt, num: 1 << 63},
		{kind: KindInt, num: math.MaxInt64},
		{kind: KindUint, num: math.MaxUint64},
		{kind: KindFloat32, num: uint64(math.Float32bits(math.MaxFloat32))},
		{kind: KindFloat32, num: uint64(math.Float32bits(math.SmallestNonzeroFloat32))},
		{kind: KindFloat64, num: math.Float64bits(a + b)},
		{kind: KindFloat64, num: math.Float64bits(math.SmallestNonzeroFloat64)},
		{kind: KindDecimal, str: "-99999999999999999999999999999999999.999999999999999999999999999999"},
		{kind: KindString, str: "😀 dXNlcg== 1234567890123456789"},
		{kind: KindBytes, str: "\x00\xff\xfe\x80"},
		{kind: KindTime, str: "-838:59:59.999999"},
		{kind: KindString, str: ""},
	}
	return cols, row
}

// sampleLog is an update log of n rows of a typical account table.
func sampleLog(n int) *BranchLog {
	cols := []string{"id", "owner", "balance", "currency", "updated_at", "version"}
	img := func(delta int) Image {
		im := Image{Columns: cols}
		for i := range n {
			im.Rows = append(im.Rows, Row{
				{kind: KindInt, num: uint64(1000 + i)},
				{kind: KindString, str: fmt.Sprintf("customer-%06d@example.com", i)},
				{kind: KindDecimal, str: fmt.Sprintf("%d.25", 10000+i+delta)},
				{kind: KindString, str: "EUR"},
				{kind: KindTime, str: "2025-06-01 12:34:56.789"},
				{kind: KindInt, num: uint64(7 + delta)},
			})
		}
		return im
	}
	return &BranchLog{
		XID:      "192.168.1.10:8091:2612345678901234567",
		BranchID: 2612345678901234999,
		Records:  []Record{{Op: OpUpdate, Table: "account", Before: img(0), After: img(1)}},
	}
}

func fullLog() *BranchLog {
	cols, row := extremeRow()
	return &BranchLog{
		XID:      "xid-1",
		BranchID: math.MaxInt64,
		Records: []Record{
			{Op: OpInsert, Schema: "db", Table: "t", After: Image{Columns: cols, Rows: []Row{row, row}}},
			{Op: OpUpdate, Table: "t`x", Before: Image{Columns: cols, Rows: []Row{row}}, After: Image{Columns: cols, Rows: []Row{row}}},
			{Op: OpDelete, Table: "t", Before: Image{Columns: cols, Rows: []Row{row}}},
			{Op: OpDelete, Table: "empty"},
		},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, l := range []*BranchLog{fullLog(), sampleLog(1), sampleLog(100), {XID: "x", BranchID: -1}} {
		data, err := encodeLog(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		if size, _ := encodedSize(l); size != len(data) {
			t.Fatalf("encodedSize %d, encoded %d bytes", size, len(data))
		}
		got, err := decodeLog(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, l) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, l)
		}
	}
}

func TestEncodeRejectsMalformedLogs(t *testing.T) {
	for name, l := range map[string]*BranchLog{
		"bad op":         {XID: "x", Records: []Record{{Op: 9, Table: "t"}}},
		"short row":      {XID: "x", Records: []Record{{Op: OpInsert, Table: "t", After: Image{Columns: []string{"a", "b"}, Rows: []Row{{{}}}}}}},
		"rows, no colum": {XID: "x", Records: []Record{{Op: OpInsert, Table: "t", After: Image{Rows: []Row{{}}}}}},
	} {
		if _, err := encodeLog(nil, l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	good, err := encodeLog(nil, fullLog())
	if err != nil {
		t.Fatal(err)
	}
	// Every proper prefix is truncated.
	for n := range len(good) {
		if _, err := decodeLog(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
	header := []byte("ATU\x01\x01x\x00")
	for name, c := range map[string]struct {
		data []byte
		want error
	}{
		"trailing byte":   {append(append([]byte(nil), good...), 0), ErrCorrupt},
		"bad magic":       {[]byte("XTU\x01\x00\x00\x00"), ErrCorrupt},
		"java jackson":    {[]byte(`{"@class":"io.seata.rm.datasource.undo.BranchUndoLog"}`), ErrCorrupt},
		"future version":  {[]byte("ATU\x02\x00\x00\x00"), ErrUnsupportedFormat},
		"huge records":    {append(header, 0xff, 0xff, 0xff, 0xff, 0x0f), ErrCorrupt},
		"overlong varint": {append(header, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrCorrupt},
		"bad op":          {append(header, 1, 7, 0, 1, 't', 0, 0, 0, 0), ErrCorrupt},
		"huge string":     {append(header, 1, 1, 0xff, 0xff, 0x03, 't', 't', 't'), ErrCorrupt},
		"huge rows":       {append(header, 1, 1, 0, 1, 't', 1, 1, 'a', 0xff, 0xff, 0xff, 0x7f, 0, 0, 0), ErrCorrupt},
		"rows no columns": {append(header, 1, 1, 0, 1, 't', 0, 1, 0, 0, 0, 0), ErrCorrupt},
		"bad kind":        {append(header, 1, 1, 0, 1, 't', 0, 0, 1, 1, 'a', 1, 99), ErrCorrupt},
		"short float":     {append(header, 1, 1, 0, 1, 't', 0, 0, 1, 1, 'a', 1, 4, 0, 0), ErrCorrupt},
	} {
		if _, err := decodeLog(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

// testManager builds a Manager whose database is never reached.
func testManager(t testing.TB, cfg Config) *Manager {
	t.Helper()
	db, err := sql.Open("mysql", "nobody@tcp(127.0.0.1:1)/none")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m, err := NewManager(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMarshalCompression(t *testing.T) {
	m := testManager(t, Config{})
	small := sampleLog(1)
	data, uctx, err := m.marshal(small)
	if err != nil || uctx != contextNone {
		t.Fatalf("small: %q %v", uctx, err)
	}
	big := sampleLog(1000)
	data, uctx, err = m.marshal(big)
	if err != nil || uctx != contextGzip {
		t.Fatalf("big: %q %v", uctx, err)
	}
	raw, _ := encodeLog(nil, big)
	if len(data) >= len(raw)/2 {
		t.Fatalf("compressed %d of %d bytes", len(data), len(raw))
	}
	got, err := m.unmarshal(uctx, data)
	if err != nil || !reflect.DeepEqual(got, big) {
		t.Fatalf("gzip round trip: %v", err)
	}
	// Compression off.
	off := testManager(t, Config{CompressThreshold: -1})
	if _, uctx, _ := off.marshal(big); uctx != contextNone {
		t.Fatalf("threshold -1 compressed: %q", uctx)
	}
	// Too large to write.
	tiny := testManager(t, Config{MaxPayload: 100})
	if _, _, err := tiny.marshal(sampleLog(10)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("write cap: %v", err)
	}
}

func TestUnmarshalLimitsAndFormats(t *testing.T) {
	m := testManager(t, Config{MaxPayload: 1 << 20})
	// A gzip bomb: 8 MiB of zeros in a few KiB; inflating stops at 1 MiB.
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	zw.Write(make([]byte, 8<<20))
	zw.Close()
	if _, err := m.unmarshal(contextGzip, bomb.Bytes()); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
	if _, err := m.unmarshal(contextNone, make([]byte, 1<<20+1)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("uncompressed cap: %v", err)
	}
	if _, err := m.unmarshal(contextGzip, []byte("not gzip")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad gzip: %v", err)
	}
	good, _ := encodeLog(nil, sampleLog(3))
	var gz bytes.Buffer
	zw = gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()
	flipped := bytes.Clone(gz.Bytes())
	flipped[len(flipped)-5] ^= 0xff // breaks the CRC
	if _, err := m.unmarshal(contextGzip, flipped); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad crc: %v", err)
	}
	for _, uctx := range []string{
		"serializer=jackson&compressorType=NONE", // Java Seata's default
		"serializerKey=atcc1",                    // seata-go's keys
		"",
		"serializer=atcc1&compressorType=ZSTD",
	} {
		if _, err := m.unmarshal(uctx, good); !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("context %q: %v", uctx, err)
		}
	}
	if l, err := m.unmarshal("compressorType=NONE&serializer=atcc1&x=y", good); err != nil || len(l.Records) != 1 {
		t.Fatalf("reordered context: %v", err)
	}
}

func FuzzDecodeLog(f *testing.F) {
	for _, l := range []*BranchLog{fullLog(), sampleLog(2), {XID: "x"}} {
		data, _ := encodeLog(nil, l)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := decodeLog(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		again, err := encodeLog(nil, l)
		if err != nil {
			t.Fatalf("decoded log does not encode: %v", err)
		}
		l2, err := decodeLog(again)
		if err != nil || !reflect.DeepEqual(l, l2) {
			t.Fatalf("re-encoding changed the log: %v", err)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	m := testManager(f, Config{MaxPayload: 1 << 20, CompressThreshold: 16})
	for _, l := range []*BranchLog{fullLog(), sampleLog(2)} {
		data, uctx, _ := m.marshal(l)
		f.Add(uctx, data)
	}
	f.Add(contextGzip, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, uctx string, info []byte) {
		if _, err := m.unmarshal(uctx, info); err != nil && IsRetryable(err) {
			t.Fatalf("malformed input gave a retryable error: %v", err)
		}
	})
}

// TestWriteFuzzSeeds rewrites the checked-in seed corpora from the
// generators above: go test -run TestWriteFuzzSeeds -update-seeds ./undo/
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz")
	}
	m := testManager(t, Config{MaxPayload: 1 << 20, CompressThreshold: 16})
	write := func(target, name string, args ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch a := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", a)
			case string:
				fmt.Fprintf(&b, "string(%q)\n", a)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, l := range map[string]*BranchLog{"full": fullLog(), "update2": sampleLog(2), "marker": {XID: "x", BranchID: 1}} {
		data, _ := encodeLog(nil, l)
		write("FuzzDecodeLog", name, data)
		write("FuzzDecodeLog", name+"-truncated", data[:len(data)/2])
		raw, uctx, _ := m.marshal(l)
		write("FuzzUnmarshal", name, uctx, raw)
	}
	write("FuzzDecodeLog", "future-version", []byte("ATU\x02"))
	write("FuzzUnmarshal", "jackson", "serializer=jackson&compressorType=NONE", []byte(`{"xid":"x"}`))
}

func BenchmarkEncode(b *testing.B) {
	for _, n := range []int{1, 100} {
		l := sampleLog(n)
		b.Run(fmt.Sprintf("update/%drows", n), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				data, err := encodeLog(nil, l)
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1, 100} {
		data, _ := encodeLog(nil, sampleLog(n))
		b.Run(fmt.Sprintf("update/%drows", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeLog(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package undo

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestValueOfCanonicalises(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("X", -5*3600)
	}
	a, b := 0.1, 0.2
	sum := a + b // 0.30000000000000004 (constants would fold to 0.3)
	// Each group holds forms of one value that different protocols and
	// options produce; all must canonicalise to want.
	cases := []struct {
		dbType string
		forms  []any
		want   Value
	}{
		{"BIGINT", []any{int64(math.MinInt64), []byte("-9223372036854775808"), "-9223372036854775808"}, Value{kind: KindInt, num: 1 << 63}},
		{"INT", []any{int64(-5), []byte("-5")}, Value{kind: KindInt, num: uint64(1<<64 - 5)}},
		{"YEAR", []any{int64(2155), []byte("2155")}, Value{kind: KindInt, num: 2155}},
		{"UNSIGNED BIGINT", []any{uint64(math.MaxUint64), []byte("18446744073709551615")}, Value{kind: KindUint, num: math.MaxUint64}},
		{"UNSIGNED BIGINT", []any{int64(7), uint64(7), []byte("7")}, Value{kind: KindUint, num: 7}},
		{"UNSIGNED TINYINT", []any{int64(255), []byte("255")}, Value{kind: KindUint, num: 255}},
		{"BIT", []any{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(math.MaxUint64)}, Value{kind: KindUint, num: math.MaxUint64}},
		{"BIT", []any{[]byte{1}, []byte{0, 1}, int64(1)}, Value{kind: KindUint, num: 1}},
		{"FLOAT", []any{float32(0.1), []byte("0.1"), float64(float32(0.1))}, Value{kind: KindFloat32, num: uint64(math.Float32bits(0.1))}},
		{"DOUBLE", []any{sum, []byte("0.30000000000000004")}, Value{kind: KindFloat64, num: math.Float64bits(sum)}},
		{"DECIMAL", []any{[]byte("-1.500"), "-1.500"}, Value{kind: KindDecimal, str: "-1.500"}},
		{"VARCHAR", []any{[]byte("dXNlcg=="), "dXNlcg=="}, Value{kind: KindString, str: "dXNlcg=="}},
		{"JSON", []any{[]byte(`{"a":1}`)}, Value{kind: KindString, str: `{"a":1}`}},
		{"BLOB", []any{[]byte{0, 0xff, 0xfe}}, Value{kind: KindBytes, str: "\x00\xff\xfe"}},
		{"DATE", []any{[]byte("2024-02-29"), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)}, Value{kind: KindTime, str: "2024-02-29"}},
		{"DATE", []any{[]byte("0000-00-00"), time.Time{}}, Value{kind: KindTime, str: "0000-00-00"}},
		{"DATETIME", []any{
			[]byte("2024-03-10 01:30:00.120000"), []byte("2024-03-10 01:30:00.12"),
			time.Date(2024, 3, 10, 1, 30, 0, 120000000, time.UTC),
			time.Date(2024, 3, 10, 1, 30, 0, 120000000, ny),
		}, Value{kind: KindTime, str: "2024-03-10 01:30:00.12"}},
		{"TIMESTAMP", []any{[]byte("2038-01-19 03:14:07.000000"), time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC)}, Value{kind: KindTime, str: "2038-01-19 03:14:07"}},
		{"DATETIME", []any{[]byte("0000-00-00 00:00:00.000000"), time.Time{}}, Value{kind: KindTime, str: "0000-00-00 00:00:00"}},
		{"TIME", []any{[]byte("-838:59:59.000000"), "-838:59:59"}, Value{kind: KindTime, str: "-838:59:59"}},
		{"TIME", []any{[]byte("-00:00:00.500000")}, Value{kind: KindTime, str: "-00:00:00.5"}},
		{"VARCHAR", []any{nil}, Value{}},
		{"NULL", []any{nil}, Value{}},
	}
	for _, c := range cases {
		for _, f := range c.forms {
			got, err := ValueOf(c.dbType, f)
			if err != nil {
				t.Errorf("ValueOf(%s, %#v): %v", c.dbType, f, err)
				continue
			}
			if !got.Equal(c.want) {
				t.Errorf("ValueOf(%s, %#v) = %#v, want %#v", c.dbType, f, got, c.want)
			}
		}
	}
}

func TestValueOfRejects(t *testing.T) {
	for _, c := range []struct {
		dbType string
		v      any
	}{
		{"GEOGRAPHY_X", []byte("x")},
		{"INT", 1.5},
		{"INT", []byte("12a")},
		{"BIGINT", uint64(math.MaxUint64)},
		{"UNSIGNED INT", int64(-1)},
		{"FLOAT", 0.1}, // not exactly a float32
		{"BIT", make([]byte, 9)},
		{"DECIMAL", 1.5}, // a float has already lost the decimal
		{"TIME", time.Now()},
		{"VARCHAR", int64(1)},
	} {
		if v, err := ValueOf(c.dbType, c.v); !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("ValueOf(%s, %#v) = %v, %v; want ErrUnsupportedType", c.dbType, c.v, v, err)
		}
	}
}

func TestValueOfCopiesBytes(t *testing.T) {
	b := []byte("abc")
	v, _ := ValueOf("VARBINARY", b)
	b[0] = 'x'
	if v.String() != "abc" {
		t.Fatal("value shares the driver's buffer")
	}
	arg := v.Arg().([]byte)
	arg[0] = 'y'
	if v.String() != "abc" {
		t.Fatal("Arg shares the value's bytes")
	}
}

func TestValueArgAndString(t *testing.T) {
	for _, c := range []struct {
		v    Value
		arg  any
		text string
	}{
		{Value{}, nil, "NULL"},
		{Value{kind: KindInt, num: uint64(1<<64 - 3)}, int64(-3), "-3"},
		{Value{kind: KindUint, num: math.MaxUint64}, uint64(math.MaxUint64), "18446744073709551615"},
		{Value{kind: KindFloat32, num: uint64(math.Float32bits(0.1))}, float64(float32(0.1)), "0.1"},
		{Value{kind: KindFloat64, num: math.Float64bits(5e-324)}, 5e-324, "5e-324"},
		{Value{kind: KindDecimal, str: "1.50"}, "1.50", "1.50"},
		{Value{kind: KindTime, str: "10:00:00"}, "10:00:00", "10:00:00"},
	} {
		if got := c.v.Arg(); got != c.arg {
			t.Errorf("%v.Arg() = %#v, want %#v", c.v.kind, got, c.arg)
		}
		if got := c.v.String(); got != c.text {
			t.Errorf("%v.String() = %q, want %q", c.v.kind, got, c.text)
		}
		if got := string(c.v.AppendString([]byte("x"))); got != "x"+c.text {
			t.Errorf("%v.AppendString(x) = %q, want %q", c.v.kind, got, "x"+c.text)
		}
	}
	if s := (Value{kind: KindBytes, str: "\x00"}).Arg().([]byte); len(s) != 1 || s[0] != 0 {
		t.Fatal("bytes arg")
	}
	if !(Value{}).IsNull() || (Value{kind: KindString}).IsNull() {
		t.Fatal("IsNull: the empty string is not NULL")
	}
}

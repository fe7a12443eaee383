package undo

import (
	"database/sql/driver"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a Value. Kinds are stored in undo logs: the numbers
// never change.
type Kind uint8

// The kinds of values. Each MySQL/MariaDB type maps to exactly one kind, so
// two reads of the same row compare equal whatever protocol or driver option
// produced them.
const (
	KindNull    Kind = 0 // SQL NULL, in any column type
	KindInt     Kind = 1 // TINYINT..BIGINT, YEAR
	KindUint    Kind = 2 // TINYINT..BIGINT UNSIGNED, BIT(1..64)
	KindFloat32 Kind = 3 // FLOAT, bit for bit
	KindFloat64 Kind = 4 // DOUBLE, bit for bit
	KindDecimal Kind = 5 // DECIMAL, the server's text (e.g. "-12.500")
	KindString  Kind = 6 // CHAR, VARCHAR, TEXT, ENUM, SET, JSON: character data
	KindBytes   Kind = 7 // BINARY, VARBINARY, BLOB, GEOMETRY: raw bytes
	KindTime    Kind = 8 // DATE, TIME, DATETIME, TIMESTAMP: text, fraction without trailing zeros
	numKinds         = 9
)

var kindNames = [numKinds]string{"null", "int", "uint", "float32", "float64", "decimal", "string", "bytes", "time"}

// String returns the kind's name: "null", "int", "uint", ...
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one column value of a row image, canonicalised by the column's
// database type. The zero Value is NULL. Values are immutable and compare
// with Equal (or ==).
type Value struct {
	str  string // Decimal, String, Bytes, Time payload
	num  uint64 // Int (two's complement), Uint, Float32/Float64 (IEEE bits)
	kind Kind
}

// Kind returns the kind of v.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Equal reports whether v and w are the same value: same kind and the same
// payload, bit for bit (floats compare by their bits, text byte by byte).
func (v Value) Equal(w Value) bool { return v == w }

// Arg returns v as a bind argument that stores exactly v back into a column
// of the type it was read from: nil, int64, uint64, float64 (FLOAT values
// widen exactly), string (DECIMAL, temporal and character data) or []byte
// (binary data, a fresh copy). go-sql-driver/mysql accepts all of them,
// uint64 included, in both protocols.
func (v Value) Arg() driver.Value {
	switch v.kind {
	case KindInt:
		return int64(v.num)
	case KindUint:
		return v.num
	case KindFloat32:
		return float64(math.Float32frombits(uint32(v.num)))
	case KindFloat64:
		return math.Float64frombits(v.num)
	case KindDecimal, KindString, KindTime:
		return v.str
	case KindBytes:
		return []byte(v.str)
	}
	return nil
}

// String returns v's text: NULL, the number in decimal (floats in the
// shortest form that reads back exactly), or the text or raw bytes as
// stored. It is meant for lock keys and messages.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "NULL"
	case KindInt:
		return strconv.FormatInt(int64(v.num), 10)
	case KindUint:
		return strconv.FormatUint(v.num, 10)
	case KindFloat32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32)
	case KindFloat64:
		return strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64)
	}
	return v.str
}

// AppendString appends String's text to dst and returns the extended
// buffer. Unlike String it allocates nothing for a number when dst has room.
func (v Value) AppendString(dst []byte) []byte {
	switch v.kind {
	case KindNull:
		return append(dst, "NULL"...)
	case KindInt:
		return strconv.AppendInt(dst, int64(v.num), 10)
	case KindUint:
		return strconv.AppendUint(dst, v.num, 10)
	case KindFloat32:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32)
	case KindFloat64:
		return strconv.AppendFloat(dst, math.Float64frombits(v.num), 'g', -1, 64)
	}
	return append(dst, v.str...)
}

// quoted is String, with character and binary data quoted for messages.
func (v Value) quoted() string {
	switch v.kind {
	case KindString, KindBytes, KindTime, KindDecimal:
		return strconv.Quote(v.str)
	}
	return v.String()
}

// class is how a database type canonicalises its driver values.
type class uint8

const (
	classUnknown class = iota
	classNull
	classInt
	classUint
	classFloat32
	classFloat64
	classDecimal
	classString
	classBytes
	classBit
	classDate
	classDateTime
	classTime
)

// classOf maps a database type name, as go-sql-driver/mysql reports it
// (driver.RowsColumnTypeDatabaseTypeName, sql.ColumnType.DatabaseTypeName),
// to its class.
func classOf(dbType string) class {
	switch strings.ToUpper(dbType) {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT", "YEAR":
		return classInt
	case "UNSIGNED TINYINT", "UNSIGNED SMALLINT", "UNSIGNED MEDIUMINT", "UNSIGNED INT", "UNSIGNED INTEGER", "UNSIGNED BIGINT":
		return classUint
	case "FLOAT":
		return classFloat32
	case "DOUBLE", "REAL":
		return classFloat64
	case "DECIMAL", "NUMERIC":
		return classDecimal
	case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "JSON":
		return classString
	case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "VECTOR":
		return classBytes
	case "BIT":
		return classBit
	case "DATE":
		return classDate
	case "DATETIME", "TIMESTAMP":
		return classDateTime
	case "TIME":
		return classTime
	case "NULL":
		return classNull
	}
	return classUnknown
}

// ValueOf canonicalises v, a value read from a column whose database type
// is dbType (as go-sql-driver/mysql names it: "BIGINT", "UNSIGNED BIGINT",
// "DECIMAL", "VARCHAR", "BLOB", "DATETIME", ...). v is what the driver
// returns in either protocol, with parseTime on or off: nil, int64, uint64,
// float32, float64, []byte (copied), string or time.Time. An unknown type or
// a value that cannot be represented exactly yields an error matching
// ErrUnsupportedType.
//
// A time.Time is written from its own wall clock fields (its Location is the
// driver's Loc); the zero time.Time, which the driver returns for
// 0000-00-00 (and for 0001-01-01 00:00:00 in UTC), becomes the zero date.
func ValueOf(dbType string, v driver.Value) (Value, error) {
	return classOf(dbType).value(dbType, v, nil)
}

// value canonicalises v; a, if not nil, holds the copies of byte payloads.
func (c class) value(dbType string, v driver.Value, a *arena) (Value, error) {
	if v == nil {
		return Value{}, nil
	}
	switch c {
	case classInt:
		switch x := v.(type) {
		case int64:
			return Value{kind: KindInt, num: uint64(x)}, nil
		case uint64:
			if x <= math.MaxInt64 {
				return Value{kind: KindInt, num: x}, nil
			}
		case []byte:
			return parseInt(dbType, string(x))
		case string:
			return parseInt(dbType, x)
		}
	case classUint:
		switch x := v.(type) {
		case int64:
			if x >= 0 {
				return Value{kind: KindUint, num: uint64(x)}, nil
			}
		case uint64:
			return Value{kind: KindUint, num: x}, nil
		case []byte:
			return parseUint(dbType, string(x))
		case string:
			return parseUint(dbType, x)
		}
	case classBit:
		switch x := v.(type) {
		case []byte:
			return bitValue(dbType, x)
		case string:
			return bitValue(dbType, []byte(x))
		case int64:
			return Value{kind: KindUint, num: uint64(x)}, nil
		case uint64:
			return Value{kind: KindUint, num: x}, nil
		}
	case classFloat32:
		switch x := v.(type) {
		case float32:
			return Value{kind: KindFloat32, num: uint64(math.Float32bits(x))}, nil
		case float64:
			if f := float32(x); float64(f) == x {
				return Value{kind: KindFloat32, num: uint64(math.Float32bits(f))}, nil
			}
		case []byte:
			return parseFloat32(dbType, string(x))
		case string:
			return parseFloat32(dbType, x)
		}
	case classFloat64:
		switch x := v.(type) {
		case float64:
			return Value{kind: KindFloat64, num: math.Float64bits(x)}, nil
		case float32:
			return Value{kind: KindFloat64, num: math.Float64bits(float64(x))}, nil
		case []byte:
			return parseFloat64(dbType, string(x))
		case string:
			return parseFloat64(dbType, x)
		}
	case classDecimal:
		switch x := v.(type) {
		case []byte:
			return Value{kind: KindDecimal, str: a.copy(x)}, nil
		case string:
			return Value{kind: KindDecimal, str: x}, nil
		case int64:
			return Value{kind: KindDecimal, str: strconv.FormatInt(x, 10)}, nil
		case uint64:
			return Value{kind: KindDecimal, str: strconv.FormatUint(x, 10)}, nil
		}
	case classString, classBytes:
		k := KindString
		if c == classBytes {
			k = KindBytes
		}
		switch x := v.(type) {
		case []byte:
			return Value{kind: k, str: a.copy(x)}, nil
		case string:
			return Value{kind: k, str: x}, nil
		}
	case classDate, classDateTime, classTime:
		switch x := v.(type) {
		case []byte:
			return Value{kind: KindTime, str: a.copy(x[:trimmedLen(x)])}, nil
		case string:
			return Value{kind: KindTime, str: x[:trimmedLen(x)]}, nil
		case time.Time:
			if c != classTime {
				return Value{kind: KindTime, str: formatTime(x, c == classDate)}, nil
			}
		}
	case classUnknown:
		return Value{}, fmt.Errorf("%w: database type %q", ErrUnsupportedType, dbType)
	}
	return Value{}, fmt.Errorf("%w: %T value for a %s column", ErrUnsupportedType, v, dbType)
}

func parseInt(dbType, s string) (Value, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %s value %q: %v", ErrUnsupportedType, dbType, s, err)
	}
	return Value{kind: KindInt, num: uint64(n)}, nil
}

func parseUint(dbType, s string) (Value, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %s value %q: %v", ErrUnsupportedType, dbType, s, err)
	}
	return Value{kind: KindUint, num: n}, nil
}

func parseFloat32(dbType, s string) (Value, error) {
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %s value %q: %v", ErrUnsupportedType, dbType, s, err)
	}
	return Value{kind: KindFloat32, num: uint64(math.Float32bits(float32(f)))}, nil
}

func parseFloat64(dbType, s string) (Value, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %s value %q: %v", ErrUnsupportedType, dbType, s, err)
	}
	return Value{kind: KindFloat64, num: math.Float64bits(f)}, nil
}

// bitValue reads a BIT value: big-endian bytes, at most 8.
func bitValue(dbType string, b []byte) (Value, error) {
	if len(b) > 8 {
		return Value{}, fmt.Errorf("%w: %s value of %d bytes", ErrUnsupportedType, dbType, len(b))
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return Value{kind: KindUint, num: n}, nil
}

// trimmedLen returns the length of a temporal value's text without the
// trailing zeros of its fraction, and without the dot if nothing is left:
// the server pads fractions to the column's precision in one protocol and a
// time.Time carries none.
func trimmedLen[T string | []byte](s T) int {
	dot := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return len(s)
	}
	end := len(s)
	for end > dot+1 && s[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end = dot
	}
	return end
}

// arenaBlock bounds the blocks an arena copies small values into.
const arenaBlock = 4 << 10

// arena copies the byte payloads of driver values into shared string
// blocks, which start small and double up to arenaBlock: one allocation per
// few KiB of small values instead of one per value. A nil *arena copies each
// value on its own.
type arena struct{ b strings.Builder }

func (a *arena) copy(p []byte) string {
	if a == nil || len(p) == 0 || len(p) > arenaBlock/4 {
		return string(p)
	}
	if a.b.Cap()-a.b.Len() < len(p) {
		size := min(max(2*a.b.Cap(), 256), arenaBlock)
		a.b = strings.Builder{}
		a.b.Grow(size)
	}
	start := a.b.Len()
	a.b.Write(p)
	return a.b.String()[start:]
}

// formatTime writes t's wall clock in its own location, as the server's text
// reads once trimmed (see trimmedLen).
func formatTime(t time.Time, dateOnly bool) string {
	if t.IsZero() {
		if dateOnly {
			return "0000-00-00"
		}
		return "0000-00-00 00:00:00"
	}
	if dateOnly {
		return t.Format(time.DateOnly)
	}
	return t.Format("2006-01-02 15:04:05.999999999")
}

package undo

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/atcc-go/atcc/internal/schema"
)

// errUntrusted marks a value its writer may have stored wrong, with no way
// to tell: foreignImage refuses it where it would be written back.
var errUntrusted = errors.New("seata-go v1.2.0 wrote this column from sql.RawBytes: the value may be overwritten garbage, and NULL is indistinguishable from empty")

// foreignValue reads one value of a foreign undo log into the Value a read
// of col yields (see ValueOf), so the dirty-write check compares like with
// like and a restore writes the original back.
//
// Java (Jackson) values carry their Java type: Integer, Double, Boolean and
// String are bare, the rest are [type id, value]: Long, Short, Byte,
// BigInteger, Float, BigDecimal (exact text), byte[] as "[B" (base64),
// SerialBlob, SerialClob, Timestamp and LocalDateTime (epoch milliseconds,
// or [ms, nanos]), Date (epoch milliseconds), Time ("HH:mm:ss"). Epoch values
// are read in Config.JavaTimeZone. A Boolean in an integer column (Connector/J's
// tinyInt1isBit) reads as 1 or 0, as Java Seata itself restores it.
//
// seata-go v1.2.0 values are bare and read by the column type: integers;
// DECIMAL, DOUBLE and FLOAT as float64; DATE, DATETIME and TIMESTAMP as RFC
// 3339 text with an offset; CHAR, VARCHAR, TINYTEXT, TEXT and JSON as text;
// every other type from sql.RawBytes as base64, which v1.2.0 may have
// overwritten (errUntrusted).
//
// Lossy spots are detected, not guessed at (ErrLossy): a DECIMAL whose
// float64 could come from more than one value of the column's scale, a FLOAT
// that is not a float32 (read through the text protocol's 6 digits), a TIME
// with a fraction written by Java's Time (whole seconds).
func foreignValue(w writer, col *schema.Column, v jsonV, zone *time.Location) (Value, error) {
	dbType := strings.ToUpper(col.DataType)
	c := foreignClass(col)
	if w == writerSeataGo && seataGoRawBytes(dbType) {
		return Value{}, errUntrusted
	}
	if v.v == nil {
		if v.javaType != "" {
			return Value{}, fmt.Errorf("%w: %s value null", ErrCorrupt, v.javaType)
		}
		return Value{}, nil
	}
	val, err := foreignClassValue(w, c, col, v, zone)
	if err != nil {
		return Value{}, err
	}
	return val, nil
}

// foreignClass is the class of a column by its DATA_TYPE: MariaDB's UUID,
// INET4 and INET6 are character data and the spatial types binary, as the
// driver reads them.
func foreignClass(col *schema.Column) class {
	dbType := strings.ToUpper(col.DataType)
	c := classOf(dbType)
	switch {
	case col.Unsigned && c == classInt && dbType != "YEAR":
		c = classUint
	case dbType == "UUID" || dbType == "INET4" || dbType == "INET6":
		c = classString
	case dbType == "POINT" || dbType == "LINESTRING" || dbType == "POLYGON" || dbType == "MULTIPOINT" ||
		dbType == "MULTILINESTRING" || dbType == "MULTIPOLYGON" || dbType == "GEOMETRYCOLLECTION":
		c = classBytes
	}
	return c
}

// seataGoRawBytes reports whether seata-go v1.2.0 scans a column of this
// DATA_TYPE into sql.RawBytes (exec/at/base_executor.go GetScanSlice).
func seataGoRawBytes(dbType string) bool {
	switch dbType {
	case "VARCHAR", "NVARCHAR", "VARCHAR2", "CHAR", "TEXT", "JSON", "TINYTEXT",
		"BIT", "INT", "LONGBLOB", "SMALLINT", "TINYINT", "BIGINT", "MEDIUMINT",
		"DATE", "DATETIME", "TIME", "TIMESTAMP", "YEAR",
		"DECIMAL", "DOUBLE", "FLOAT":
		return false
	}
	return true
}

// Java type ids of the values Field.value holds.
const (
	javaLong       = "java.lang.Long"
	javaInteger    = "java.lang.Integer"
	javaShort      = "java.lang.Short"
	javaByte       = "java.lang.Byte"
	javaBigInteger = "java.math.BigInteger"
	javaBigDecimal = "java.math.BigDecimal"
	javaFloat      = "java.lang.Float"
	javaDouble     = "java.lang.Double"
	javaBytes      = "[B"
	javaSerialBlob = "javax.sql.rowset.serial.SerialBlob"
	javaSerialClob = "javax.sql.rowset.serial.SerialClob"
	javaTimestamp  = "java.sql.Timestamp"
	javaLocalDT    = "java.time.LocalDateTime"
	javaDmdbTS     = "dm.jdbc.driver.DmdbTimestamp"
	javaSQLDate    = "java.sql.Date"
	javaSQLTime    = "java.sql.Time"
)

func foreignClassValue(w writer, c class, col *schema.Column, v jsonV, zone *time.Location) (Value, error) {
	bad := func() (Value, error) {
		shown := v.javaType
		if shown == "" {
			shown = fmt.Sprintf("%T", v.v)
		}
		return Value{}, fmt.Errorf("%w: %s value %v for a %s column", ErrUnsupportedType, shown, v.v, col.ColumnType)
	}
	num, isNum := v.v.(json.Number)
	str, isStr := v.v.(string)
	flag, isBool := v.v.(bool)
	integral := v.javaType == "" || v.javaType == javaLong || v.javaType == javaInteger ||
		v.javaType == javaShort || v.javaType == javaByte || v.javaType == javaBigInteger
	switch c {
	case classInt, classUint:
		switch {
		case isBool && v.javaType == "":
			return boolValue(c, flag), nil
		case isNum && integral:
			if c == classUint {
				return parseUint(col.DataType, string(num))
			}
			return parseInt(col.DataType, string(num))
		case col.DataType == "year" && (v.javaType == javaSQLDate || w == writerSeataGo && isStr):
			t, err := foreignTime(w, v, zone)
			if err != nil {
				return Value{}, err
			}
			return Value{kind: KindInt, num: uint64(t.Year())}, nil
		}
	case classBit:
		switch {
		case isBool && v.javaType == "":
			return boolValue(classUint, flag), nil
		case isNum && integral:
			return parseUint(col.DataType, string(num))
		case isStr && v.javaType == javaBytes:
			b, err := decodeBase64(str)
			if err != nil {
				return Value{}, err
			}
			return bitValue(col.DataType, b)
		}
	case classFloat32:
		if !isNum {
			break
		}
		if v.javaType == javaFloat {
			return parseFloat32(col.DataType, string(num))
		}
		if v.javaType == "" || v.javaType == javaDouble {
			f, err := strconv.ParseFloat(string(num), 64)
			if err != nil {
				return Value{}, fmt.Errorf("%w: FLOAT value %s", ErrCorrupt, num)
			}
			if f32 := float32(f); float64(f32) == f {
				return Value{kind: KindFloat32, num: uint64(math.Float32bits(f32))}, nil
			}
			return Value{}, fmt.Errorf("%w: FLOAT value %s is not a float32: it was read as text (6 significant digits) and may differ from the stored value", ErrLossy, num)
		}
	case classFloat64:
		if !isNum {
			break
		}
		switch v.javaType {
		case javaFloat:
			f, err := parseFloat32(col.DataType, string(num))
			if err != nil {
				return Value{}, err
			}
			return Value{kind: KindFloat64, num: math.Float64bits(float64(math.Float32frombits(uint32(f.num))))}, nil
		case "", javaDouble:
			return parseFloat64(col.DataType, string(num))
		}
	case classDecimal:
		scale, err := decimalScale(col.ColumnType)
		if err != nil {
			return Value{}, err
		}
		switch {
		case isNum && w == writerSeataGo:
			f, err := strconv.ParseFloat(string(num), 64)
			if err != nil {
				return Value{}, fmt.Errorf("%w: DECIMAL value %s", ErrCorrupt, num)
			}
			return recoverDecimal(f, scale)
		case isNum && (integral || v.javaType == javaBigDecimal):
			return exactDecimal(string(num), scale)
		}
	case classString:
		switch {
		case isStr && (v.javaType == "" || v.javaType == javaSerialClob):
			return Value{kind: KindString, str: str}, nil
		case isStr && v.javaType == javaBytes:
			b, err := decodeBase64(str)
			if err != nil {
				return Value{}, err
			}
			return Value{kind: KindString, str: string(b)}, nil
		}
	case classBytes:
		if isStr && (v.javaType == javaBytes || v.javaType == javaSerialBlob) {
			b, err := decodeBase64(str)
			if err != nil {
				return Value{}, err
			}
			return Value{kind: KindBytes, str: string(b)}, nil
		}
	case classDate, classDateTime:
		if w == writerJava && v.javaType != javaTimestamp && v.javaType != javaLocalDT &&
			v.javaType != javaDmdbTS && v.javaType != javaSQLDate {
			break
		}
		t, err := foreignTime(w, v, zone)
		if err != nil {
			return Value{}, err
		}
		if c == classDate {
			if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
				return Value{}, fmt.Errorf("%w: DATE value %s is not at midnight (is Config.JavaTimeZone the writer's zone?)", ErrCorrupt, t)
			}
			return Value{kind: KindTime, str: t.Format(time.DateOnly)}, nil
		}
		return Value{kind: KindTime, str: formatTime(t, false)}, nil
	case classTime:
		if w == writerJava && v.javaType == javaSQLTime && isStr {
			if _, err := time.Parse(time.TimeOnly, str); err != nil {
				return Value{}, fmt.Errorf("%w: TIME value %q", ErrCorrupt, str)
			}
			if strings.Contains(col.ColumnType, "(") && !strings.HasSuffix(col.ColumnType, "(0)") {
				return Value{}, fmt.Errorf("%w: Java wrote TIME value %q in whole seconds; the %s column may have held a fraction", ErrLossy, str, col.ColumnType)
			}
			return Value{kind: KindTime, str: str}, nil
		}
	}
	return bad()
}

func boolValue(c class, b bool) Value {
	k := KindInt
	if c == classUint {
		k = KindUint
	}
	if b {
		return Value{kind: k, num: 1}
	}
	return Value{kind: k}
}

func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrCorrupt, err)
	}
	return b, nil
}

// foreignTime reads a temporal value: Java's epoch milliseconds (with an
// optional nanosecond part) in zone, or seata-go's RFC 3339 text in its own
// offset. The result's wall clock is the column's value.
func foreignTime(w writer, v jsonV, zone *time.Location) (time.Time, error) {
	if w == writerSeataGo {
		s, ok := v.v.(string)
		if !ok {
			return time.Time{}, fmt.Errorf("%w: temporal value %v is not RFC 3339 text", ErrCorrupt, v.v)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: temporal value %q: %v", ErrCorrupt, s, err)
		}
		return t, nil
	}
	if zone == nil {
		return time.Time{}, fmt.Errorf("%w: a Java %s value is epoch milliseconds in the writer JVM's zone: set Config.JavaTimeZone", ErrUnsupportedFormat, v.javaType)
	}
	var msNum, nanosNum json.Number
	switch x := v.v.(type) {
	case json.Number:
		msNum = x
	case []any:
		if len(x) == 2 {
			msNum, _ = x[0].(json.Number)
			nanosNum, _ = x[1].(json.Number)
		}
	}
	ms, err := msNum.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s value %v", ErrCorrupt, v.javaType, v.v)
	}
	t := time.UnixMilli(ms)
	if nanosNum != "" {
		nanos, err := nanosNum.Int64()
		if err != nil || nanos < 0 || nanos >= 1e9 || v.javaType == javaSQLDate {
			return time.Time{}, fmt.Errorf("%w: %s value %v", ErrCorrupt, v.javaType, v.v)
		}
		if v.javaType == javaLocalDT {
			// LocalDateTime: ms holds the milliseconds, nanos the nano-of-second.
			t = t.Add(time.Duration(nanos % 1e6))
		} else {
			// Timestamp: nanos replaces the fraction of the second.
			t = time.Unix(floorDiv(ms, 1000), nanos)
		}
	}
	if v.javaType != javaLocalDT && ms < gregorianCutoverMillis {
		// java.util.Date and its subclasses count days before 1582-10-15 in
		// the Julian calendar; the same milliseconds name another date here.
		return time.Time{}, fmt.Errorf("%w: %s value %d lies before the Gregorian cutover (1582-10-15), where Java's calendar differs", ErrUnsupportedType, v.javaType, ms)
	}
	return t.In(zone), nil
}

// gregorianCutoverMillis is 1582-10-15T00:00:00Z, where java.util's hybrid
// calendar switches from Julian to Gregorian; a day's margin covers every
// zone.
const gregorianCutoverMillis = -12219292800000 + 86400000

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// decimalScale reads the scale of a DECIMAL column type: decimal(20,6) -> 6,
// decimal(10) -> 0.
func decimalScale(columnType string) (int, error) {
	_, args, ok := strings.Cut(columnType, "(")
	if !ok {
		return 0, nil
	}
	args, _, _ = strings.Cut(args, ")")
	_, s, ok := strings.Cut(args, ",")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 38 {
		return 0, fmt.Errorf("%w: column type %q", ErrUnsupportedType, columnType)
	}
	return n, nil
}

// maxDecimalExponent bounds the exponent of a number text read exactly
// (1E-7): big.Rat would otherwise allocate 10^exponent.
const maxDecimalExponent = 200

// exactDecimal writes number text (Java's BigDecimal.toString, or an
// integer) with the column's scale, as the server prints it. A value with
// more fraction digits than the scale does not come from the column.
func exactDecimal(text string, scale int) (Value, error) {
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		e, err := strconv.Atoi(text[i+1:])
		if err != nil || e > maxDecimalExponent || e < -maxDecimalExponent {
			return Value{}, fmt.Errorf("%w: DECIMAL value %s", ErrCorrupt, text)
		}
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return Value{}, fmt.Errorf("%w: DECIMAL value %s", ErrCorrupt, text)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(scale)))
	if !scaled.IsInt() {
		return Value{}, fmt.Errorf("%w: DECIMAL value %s has more than %d decimals", ErrSchemaChanged, text, scale)
	}
	return Value{kind: KindDecimal, str: r.FloatString(scale)}, nil
}

// recoverDecimal finds the DECIMAL value of the given scale that seata-go
// read as the float64 f (strconv.ParseFloat rounds to nearest). It exists
// only if exactly one multiple of 10^-scale lies in f's rounding interval;
// otherwise the float lost digits that cannot be guessed: ErrLossy.
func recoverDecimal(f float64, scale int) (Value, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return Value{}, fmt.Errorf("%w: DECIMAL value %v", ErrCorrupt, f)
	}
	p := new(big.Rat).SetInt(pow10(scale))
	half := big.NewRat(1, 2)
	mid := func(a, b float64) *big.Rat {
		s := new(big.Rat).Add(new(big.Rat).SetFloat64(a), new(big.Rat).SetFloat64(b))
		return s.Mul(s, half).Mul(s, p)
	}
	lo := mid(math.Nextafter(f, math.Inf(-1)), f)
	hi := mid(f, math.Nextafter(f, math.Inf(1)))
	// Both ends count: a tie would be two candidates, which refuses.
	kmin := ratCeil(lo)
	kmax := ratFloor(hi)
	switch kmin.Cmp(kmax) {
	case 1:
		return Value{}, fmt.Errorf("%w: DECIMAL value %v has no value with %d decimals", ErrSchemaChanged, f, scale)
	case -1:
		return Value{}, fmt.Errorf("%w: DECIMAL value %s was stored by seata-go as the float64 %v, which %s values with %d decimals read as",
			ErrLossy, new(big.Rat).SetFrac(kmin, pow10(scale)).FloatString(scale), f,
			new(big.Int).Add(new(big.Int).Sub(kmax, kmin), big.NewInt(1)), scale)
	}
	return Value{kind: KindDecimal, str: new(big.Rat).SetFrac(kmin, pow10(scale)).FloatString(scale)}, nil
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

func ratFloor(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int)) // Euclidean: floor for a positive denominator
	_ = m
	return q
}

func ratCeil(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

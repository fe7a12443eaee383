package undo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atcc-go/atcc/internal/schema"
)

// The formats Insert can write undo logs in (Config.Serializer).
const (
	// SerializerATCC is atcc's own binary format: compact, and lossless for
	// every MySQL type. The default.
	SerializerATCC = serializerName
	// SerializerJackson is Java Seata's jackson JSON with the class names of
	// Seata 0.8 to 2.0 (io.seata.*), so that Java RMs of those versions can
	// undo atcc's branches. Values are written as the Java objects
	// Connector/J returns (Integer, Long, BigInteger, BigDecimal, Float,
	// Double, Boolean for BIT(1) and TINYINT(1), byte[], String,
	// java.sql.Timestamp/Date/Time with epoch milliseconds in JavaTimeZone).
	// Java's format cannot hold, and Insert refuses with ErrUnsupportedType:
	// TIME outside 00:00:00..23:59:59 or with a fraction, zero dates, dates
	// before 1582-10-15, wall clocks JavaTimeZone skips, YEAR 0, character
	// data that is not UTF-8, and types without a Java value (UUID, INET6).
	SerializerJackson = "jackson"
	// SerializerJacksonApache is the same with the class names of Seata 2.1
	// and later (org.apache.seata.*); the two cannot read each other's logs.
	SerializerJacksonApache = "jackson-org.apache.seata"
)

// checkSerializer validates Config.Serializer.
func checkSerializer(cfg *Config) error {
	switch cfg.Serializer {
	case "", SerializerATCC:
		return nil
	case SerializerJackson, SerializerJacksonApache:
		if cfg.JavaTimeZone == nil {
			return fmt.Errorf("%w: Serializer %q needs JavaTimeZone", ErrInvalid, cfg.Serializer)
		}
		return nil
	}
	return fmt.Errorf("%w: Serializer %q", ErrInvalid, cfg.Serializer)
}

// encodeUndoLog encodes l for the rollback_info column in the configured
// format and returns the matching context value.
func (m *Manager) encodeUndoLog(ctx context.Context, l *BranchLog) (payload []byte, uctx string, err error) {
	switch m.cfg.Serializer {
	case SerializerJackson:
		return m.marshalJackson(ctx, l, "io.seata.")
	case SerializerJacksonApache:
		return m.marshalJackson(ctx, l, "org.apache.seata.")
	}
	return m.marshal(l)
}

// marshalJackson writes l as Java Seata's JacksonUndoLogParser would: the
// Java types Connector/J returns for each column (looked up in the table
// metadata), java.sql.Types codes, epoch milliseconds in
// Config.JavaTimeZone. A value Java's format cannot hold exactly (see
// jacksonValue) fails with ErrUnsupportedType. Above CompressThreshold the
// JSON is gzip-compressed (compressorType=GZIP, which Java reads since 1.4.2).
func (m *Manager) marshalJackson(ctx context.Context, l *BranchLog, prefix string) ([]byte, string, error) {
	w := jacksonWriter{prefix: prefix, zone: m.cfg.JavaTimeZone}
	w.b.WriteString(`{"@class":"` + prefix + javaBranchUndoLog + `","xid":`)
	w.str(l.XID)
	w.b.WriteString(`,"branchId":` + strconv.FormatInt(l.BranchID, 10) + `,"sqlUndoLogs":["java.util.ArrayList",[`)
	for i := range l.Records {
		r := &l.Records[i]
		if i > 0 {
			w.b.WriteByte(',')
		}
		var t *schema.Table
		if len(r.Before.Rows) > 0 || len(r.After.Rows) > 0 {
			var err error
			if t, err = m.tables.Table(ctx, r.Schema, r.Table); err != nil {
				return nil, "", tableError(err)
			}
		}
		if err := w.record(r, t); err != nil {
			return nil, "", fmt.Errorf("atcc/undo: jackson: record %d (%s %s): %w", i, r.Op, r.Table, err)
		}
		if w.b.Len() > m.cfg.MaxPayload {
			return nil, "", fmt.Errorf("%w: more than %d bytes", ErrPayloadTooLarge, m.cfg.MaxPayload)
		}
	}
	w.b.WriteString(`]]}`)
	data := w.b.Bytes()
	const uctx = "serializer=" + serializerJackson + "&compressorType="
	if m.cfg.CompressThreshold < 0 || len(data) <= m.cfg.CompressThreshold {
		return data, uctx + compressorNone, nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // the level is valid: no error
	if _, err := zw.Write(data); err != nil {
		return nil, "", fmt.Errorf("atcc/undo: compress: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, "", fmt.Errorf("atcc/undo: compress: %w", err)
	}
	return buf.Bytes(), uctx + compressorGzip, nil
}

type jacksonWriter struct {
	b      bytes.Buffer
	prefix string
	zone   *time.Location
}

func (w *jacksonWriter) str(s string) {
	q, _ := json.Marshal(s) // a string always marshals
	w.b.Write(q)
}

func (w *jacksonWriter) record(r *Record, t *schema.Table) error {
	sqlType := map[Op]string{OpInsert: "INSERT", OpUpdate: "UPDATE", OpDelete: "DELETE"}[r.Op]
	if sqlType == "" {
		return fmt.Errorf("%w: op %d", ErrInvalid, r.Op)
	}
	// Java builds its undo SQL from this name in its own database: the
	// schema is not written.
	w.b.WriteString(`{"@class":"` + w.prefix + javaSQLUndoLog + `","sqlType":"` + sqlType + `","tableName":`)
	w.str(r.Table)
	w.b.WriteString(`,"beforeImage":`)
	if err := w.image(r.Table, &r.Before, t); err != nil {
		return fmt.Errorf("before image: %w", err)
	}
	w.b.WriteString(`,"afterImage":`)
	if err := w.image(r.Table, &r.After, t); err != nil {
		return fmt.Errorf("after image: %w", err)
	}
	w.b.WriteByte('}')
	return nil
}

func (w *jacksonWriter) image(table string, img *Image, t *schema.Table) error {
	class := javaTableRecords
	if len(img.Rows) == 0 {
		class = javaEmptyRecords
	}
	w.b.WriteString(`{"@class":"` + w.prefix + class + `","tableName":`)
	w.str(table)
	w.b.WriteString(`,"rows":["java.util.ArrayList",[`)
	if len(img.Rows) == 0 {
		w.b.WriteString(`]]}`)
		return nil
	}
	cols := make([]*schema.Column, len(img.Columns))
	isKey := primaryKeySet(t)
	keys := make([]bool, len(img.Columns))
	for j, name := range img.Columns {
		ti := t.ColumnIndex(name)
		if ti < 0 {
			return fmt.Errorf("%w: %s has no column %s", ErrSchemaChanged, t.QuotedName(), schema.QuoteIdent(name))
		}
		cols[j], keys[j] = &t.Columns[ti], isKey[ti]
	}
	for i, row := range img.Rows {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.b.WriteString(`{"@class":"` + w.prefix + javaRow + `","fields":["java.util.ArrayList",[`)
		for j, v := range row {
			if j > 0 {
				w.b.WriteByte(',')
			}
			keyType := "NULL"
			if keys[j] {
				keyType = "PRIMARY_KEY"
			}
			w.b.WriteString(`{"@class":"` + w.prefix + javaField + `","name":`)
			w.str(cols[j].Name)
			w.b.WriteString(`,"keyType":"` + keyType + `","type":` + strconv.Itoa(jdbcType(cols[j])) + `,"value":`)
			if err := w.value(cols[j], v); err != nil {
				return fmt.Errorf("row %d column %s: %w", i, schema.QuoteIdent(cols[j].Name), err)
			}
			w.b.WriteByte('}')
		}
		w.b.WriteString(`]]}`)
	}
	w.b.WriteString(`]]}`)
	return nil
}

// jdbcType is the java.sql.Types code Connector/J reports for col.
func jdbcType(col *schema.Column) int {
	switch col.DataType {
	case "tinyint":
		if isTinyInt1(col) {
			return -7 // BIT: tinyInt1isBit
		}
		return -6
	case "smallint":
		return 5
	case "mediumint", "int", "integer":
		return 4
	case "bigint":
		return -5
	case "float":
		return 7
	case "double", "real":
		return 8
	case "decimal", "numeric":
		return 3
	case "bit":
		return -7
	case "char", "enum", "set", "uuid", "inet4", "inet6":
		return 1
	case "varchar":
		return 12
	case "tinytext", "text", "mediumtext", "longtext", "json":
		return -1
	case "binary", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return -2
	case "varbinary":
		return -3
	case "tinyblob", "blob", "mediumblob", "longblob":
		return -4
	case "date", "year":
		return 91
	case "time":
		return 92
	case "datetime", "timestamp":
		return 93
	}
	return 1111 // OTHER
}

func isTinyInt1(col *schema.Column) bool {
	return strings.HasPrefix(strings.ToLower(col.ColumnType), "tinyint(1)")
}

// value writes v as the Java object Connector/J returns for col. Values
// Java's format cannot hold are refused with ErrUnsupportedType: TIME
// outside 00:00:00..23:59:59 or with a fraction (java.sql.Time is written as
// "HH:mm:ss"), zero dates, dates before the Gregorian cutover, wall clocks
// that JavaTimeZone skips, YEAR 0, character data that is not UTF-8, and
// types Connector/J has no Java value for in Seata's format.
func (w *jacksonWriter) value(col *schema.Column, v Value) error {
	if v.kind == KindNull {
		w.b.WriteString("null")
		return nil
	}
	dbType := strings.ToUpper(col.DataType)
	bad := func(why string) error {
		return fmt.Errorf("%w: %s value %s cannot be written for Java Seata: %s", ErrUnsupportedType, col.ColumnType, v.quoted(), why)
	}
	c := foreignClass(col)
	switch {
	case v.kind == KindInt && c == classInt:
		switch {
		case dbType == "YEAR":
			if v.num == 0 {
				return bad("Connector/J has no date for YEAR 0")
			}
			t := time.Date(int(int64(v.num)), 1, 1, 0, 0, 0, 0, w.zone)
			return w.epoch(javaSQLDate, t, false, bad)
		case dbType == "BIGINT":
			w.b.WriteString(`["` + javaLong + `",` + strconv.FormatInt(int64(v.num), 10) + `]`)
		case isTinyInt1(col) && v.num <= 1:
			w.b.WriteString(strconv.FormatBool(v.num == 1))
		default:
			w.b.WriteString(strconv.FormatInt(int64(v.num), 10))
		}
		return nil
	case v.kind == KindUint && c == classBit:
		if strings.HasPrefix(strings.ToLower(col.ColumnType), "bit(1)") {
			w.b.WriteString(strconv.FormatBool(v.num == 1))
			return nil
		}
		n := 8
		if _, args, ok := strings.Cut(col.ColumnType, "("); ok {
			if m, err := strconv.Atoi(strings.TrimSuffix(args, ")")); err == nil && m > 0 {
				n = (m + 7) / 8
			}
		}
		b := make([]byte, n)
		for i := range b {
			b[n-1-i] = byte(v.num >> (8 * i))
		}
		w.tagged(javaBytes, base64.StdEncoding.EncodeToString(b))
		return nil
	case v.kind == KindUint && c == classUint:
		switch dbType {
		case "BIGINT":
			w.b.WriteString(`["` + javaBigInteger + `",` + strconv.FormatUint(v.num, 10) + `]`)
		case "INT", "INTEGER":
			w.b.WriteString(`["` + javaLong + `",` + strconv.FormatUint(v.num, 10) + `]`)
		default:
			w.b.WriteString(strconv.FormatUint(v.num, 10))
		}
		return nil
	case v.kind == KindFloat32 && c == classFloat32:
		w.b.WriteString(`["` + javaFloat + `",` + strconv.FormatFloat(float64(math.Float32frombits(uint32(v.num))), 'g', -1, 32) + `]`)
		return nil
	case v.kind == KindFloat64 && c == classFloat64:
		s := strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0" // a Double, not an Integer, to Jackson
		}
		w.b.WriteString(s)
		return nil
	case v.kind == KindDecimal && c == classDecimal:
		if !json.Valid([]byte(v.str)) {
			return bad("not a number")
		}
		w.b.WriteString(`["` + javaBigDecimal + `",` + v.str + `]`)
		return nil
	case v.kind == KindString && c == classString:
		if !utf8.ValidString(v.str) {
			return bad("not UTF-8")
		}
		w.str(v.str)
		return nil
	case v.kind == KindBytes && c == classBytes:
		w.tagged(javaBytes, base64.StdEncoding.EncodeToString([]byte(v.str)))
		return nil
	case v.kind == KindTime && c == classTime:
		t, err := time.Parse(time.TimeOnly, v.str)
		if err != nil || t.Format(time.TimeOnly) != v.str {
			return bad("java.sql.Time holds whole seconds of one day")
		}
		w.tagged(javaSQLTime, v.str)
		return nil
	case v.kind == KindTime && (c == classDate || c == classDateTime):
		layout := "2006-01-02 15:04:05.999999999"
		if c == classDate {
			layout = time.DateOnly
		}
		t, err := time.ParseInLocation(layout, v.str, w.zone)
		if err != nil || t.Format(layout) != v.str {
			return bad("not a date, or skipped in JavaTimeZone")
		}
		if c == classDate {
			return w.epoch(javaSQLDate, t, false, bad)
		}
		return w.epoch(javaTimestamp, t, true, bad)
	}
	return bad("no Java type for it")
}

func (w *jacksonWriter) tagged(javaType, s string) {
	w.b.WriteString(`["` + javaType + `",`)
	w.str(s)
	w.b.WriteByte(']')
}

// epoch writes t as java.util.Date milliseconds; a Timestamp always as
// [ms, nanos], the form every Seata version since 0.8 reads.
func (w *jacksonWriter) epoch(javaType string, t time.Time, nanos bool, bad func(string) error) error {
	ms := t.UnixMilli()
	if ms < gregorianCutoverMillis {
		return bad("before the Gregorian cutover, where Java's calendar differs")
	}
	if nanos {
		w.b.WriteString(`["` + javaType + `",[` + strconv.FormatInt(ms, 10) + `,` + strconv.Itoa(t.Nanosecond()) + `]]`)
	} else {
		w.b.WriteString(`["` + javaType + `",` + strconv.FormatInt(ms, 10) + `]`)
	}
	return nil
}

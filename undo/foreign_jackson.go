package undo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// A foreign undo log as written, before the live table metadata says how to
// read its values.
type foreignLog struct {
	writer   writer
	xid      string
	branchID int64
	records  []foreignRecord
}

// writer is the client that wrote a foreign undo log.
type writer uint8

const (
	writerJava    writer = 1 // Java Seata, JacksonUndoLogParser
	writerSeataGo writer = 2 // seata-go v1.2.0, parser.JsonParser
)

func (w writer) String() string {
	if w == writerJava {
		return "Java Seata (jackson)"
	}
	return "seata-go (json)"
}

type foreignRecord struct {
	sqlType string // Seata's SQLType name: INSERT, UPDATE, DELETE, ...
	table   string // as the statement named it: t, db.t, `t`
	before  []foreignRow
	after   []foreignRow
}

type foreignRow []foreignField

type foreignField struct {
	name     string
	jdbcType int   // java.sql.Types
	value    jsonV // as written
}

// jsonV is one field value as written: JSON null, number (its text), string
// or boolean, optionally with a Java type id (Jackson's ["java.lang.Long",
// 5]); a Java value may also be the [ms, nanos] pair of a timestamp.
type jsonV struct {
	javaType string // "" when untagged
	v        any    // nil, json.Number, string, bool, or []any (a tagged value's array)
}

// parseForeignLog parses a Java Jackson or seata-go payload, telling them
// apart by content: Java's root object starts with "@class".
func parseForeignLog(data []byte) (*foreignLog, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("{")) {
		return nil, fmt.Errorf("%w: context says jackson, but the payload is not a JSON object", ErrUnsupportedFormat)
	}
	if bytes.HasPrefix(trimmed, []byte(`{"@class"`)) {
		return parseJackson(data)
	}
	return parseSeataGo(data)
}

// decodeJSON decodes data into v, numbers as json.Number, and refuses
// trailing data.
func decodeJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON document")
	}
	return nil
}

// Java Seata's classes, without the package prefix (io.seata. up to 2.0,
// org.apache.seata. from 2.1).
const (
	javaBranchUndoLog = "rm.datasource.undo.BranchUndoLog"
	javaSQLUndoLog    = "rm.datasource.undo.SQLUndoLog"
	javaTableRecords  = "rm.datasource.sql.struct.TableRecords"
	javaEmptyRecords  = "rm.datasource.sql.struct.TableRecords$EmptyTableRecords"
	javaRow           = "rm.datasource.sql.struct.Row"
	javaField         = "rm.datasource.sql.struct.Field"
)

// isJavaClass reports whether class is Seata's class name (suffix) under
// either package prefix.
func isJavaClass(class, name string) bool {
	rest, ok := strings.CutPrefix(class, "io.seata.")
	if !ok {
		rest, ok = strings.CutPrefix(class, "org.apache.seata.")
	}
	return ok && rest == name
}

type jacksonBranch struct {
	Class       string          `json:"@class"`
	XID         string          `json:"xid"`
	BranchID    json.Number     `json:"branchId"`
	SQLUndoLogs json.RawMessage `json:"sqlUndoLogs"`
}

type jacksonSQLUndoLog struct {
	Class       string          `json:"@class"`
	SQLType     string          `json:"sqlType"`
	TableName   string          `json:"tableName"`
	BeforeImage json.RawMessage `json:"beforeImage"`
	AfterImage  json.RawMessage `json:"afterImage"`
}

type jacksonImage struct {
	Class string          `json:"@class"`
	Rows  json.RawMessage `json:"rows"`
}

type jacksonRow struct {
	Class  string          `json:"@class"`
	Fields json.RawMessage `json:"fields"`
}

type jacksonField struct {
	Class string          `json:"@class"`
	Name  string          `json:"name"`
	Type  int             `json:"type"`
	Value json.RawMessage `json:"value"`
}

// parseJackson parses the JSON written by Java Seata's JacksonUndoLogParser
// (default typing: beans carry "@class", lists are ["java.util.ArrayList",
// [...]], non-natural values are [type id, value]).
func parseJackson(data []byte) (*foreignLog, error) {
	var b jacksonBranch
	if err := decodeJSON(data, &b); err != nil {
		return nil, fmt.Errorf("%w: jackson: %v", ErrCorrupt, err)
	}
	if !isJavaClass(b.Class, javaBranchUndoLog) {
		return nil, fmt.Errorf("%w: jackson root class %q", ErrUnsupportedFormat, b.Class)
	}
	l := &foreignLog{writer: writerJava, xid: b.XID}
	var err error
	if l.branchID, err = parseBranchID(b.BranchID); err != nil {
		return nil, err
	}
	logs, err := javaList(b.SQLUndoLogs, "sqlUndoLogs")
	if err != nil {
		return nil, err
	}
	l.records = make([]foreignRecord, len(logs))
	for i, raw := range logs {
		var s jacksonSQLUndoLog
		if err := decodeJSON(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: jackson sqlUndoLogs[%d]: %v", ErrCorrupt, i, err)
		}
		if !isJavaClass(s.Class, javaSQLUndoLog) {
			return nil, fmt.Errorf("%w: jackson sqlUndoLogs[%d] class %q", ErrCorrupt, i, s.Class)
		}
		r := &l.records[i]
		r.sqlType, r.table = s.SQLType, s.TableName
		if r.before, err = jacksonRows(s.BeforeImage); err != nil {
			return nil, fmt.Errorf("sqlUndoLogs[%d] beforeImage: %w", i, err)
		}
		if r.after, err = jacksonRows(s.AfterImage); err != nil {
			return nil, fmt.Errorf("sqlUndoLogs[%d] afterImage: %w", i, err)
		}
	}
	return l, nil
}

func parseBranchID(n json.Number) (int64, error) {
	id, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("%w: branchId %q", ErrCorrupt, n)
	}
	return id, nil
}

// javaList unwraps a Jackson list, ["java.util.ArrayList", [...]]; null is
// an empty list.
func javaList(raw json.RawMessage, what string) ([]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var pair []json.RawMessage
	if err := decodeJSON(raw, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("%w: jackson %s is not a typed list", ErrCorrupt, what)
	}
	var class string
	if err := decodeJSON(pair[0], &class); err != nil || !strings.HasPrefix(class, "java.util.") {
		return nil, fmt.Errorf("%w: jackson %s is not a typed list", ErrCorrupt, what)
	}
	var items []json.RawMessage
	if err := decodeJSON(pair[1], &items); err != nil {
		return nil, fmt.Errorf("%w: jackson %s: %v", ErrCorrupt, what, err)
	}
	return items, nil
}

func jacksonRows(raw json.RawMessage) ([]foreignRow, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var img jacksonImage
	if err := decodeJSON(raw, &img); err != nil {
		return nil, fmt.Errorf("%w: jackson image: %v", ErrCorrupt, err)
	}
	if !isJavaClass(img.Class, javaTableRecords) && !isJavaClass(img.Class, javaEmptyRecords) {
		return nil, fmt.Errorf("%w: jackson image class %q", ErrCorrupt, img.Class)
	}
	rows, err := javaList(img.Rows, "rows")
	if err != nil {
		return nil, err
	}
	out := make([]foreignRow, len(rows))
	for i, rawRow := range rows {
		var r jacksonRow
		if err := decodeJSON(rawRow, &r); err != nil || !isJavaClass(r.Class, javaRow) {
			return nil, fmt.Errorf("%w: jackson row %d is not a Row", ErrCorrupt, i)
		}
		fields, err := javaList(r.Fields, "fields")
		if err != nil {
			return nil, err
		}
		out[i] = make(foreignRow, len(fields))
		for j, rawField := range fields {
			var f jacksonField
			if err := decodeJSON(rawField, &f); err != nil || !isJavaClass(f.Class, javaField) {
				return nil, fmt.Errorf("%w: jackson row %d field %d is not a Field", ErrCorrupt, i, j)
			}
			v, err := jacksonValue(f.Value)
			if err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", i, f.Name, err)
			}
			out[i][j] = foreignField{name: f.Name, jdbcType: f.Type, value: v}
		}
	}
	return out, nil
}

// jacksonValue reads a Field value: a natural JSON value (null, String,
// Integer, Double, Boolean) or a [type id, value] pair.
func jacksonValue(raw json.RawMessage) (jsonV, error) {
	var v any
	if len(raw) > 0 {
		if err := decodeJSON(raw, &v); err != nil {
			return jsonV{}, fmt.Errorf("%w: jackson value: %v", ErrCorrupt, err)
		}
	}
	arr, ok := v.([]any)
	if !ok {
		if _, obj := v.(map[string]any); obj {
			// A bean Jackson wrote without a serializer (LocalDateTime before
			// Seata 1.5): Java itself cannot read it back.
			return jsonV{}, fmt.Errorf("%w: jackson value is an object: %.64s", ErrUnsupportedType, raw)
		}
		return jsonV{v: v}, nil
	}
	if len(arr) != 2 {
		return jsonV{}, fmt.Errorf("%w: jackson value is an array of %d items", ErrCorrupt, len(arr))
	}
	tag, ok := arr[0].(string)
	if !ok {
		return jsonV{}, fmt.Errorf("%w: jackson value without a type id", ErrCorrupt)
	}
	return jsonV{javaType: tag, v: arr[1]}, nil
}

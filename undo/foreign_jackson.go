package undo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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

// parseJackson parses the JSON written by Java Seata's JacksonUndoLogParser
// (default typing: beans carry "@class", lists are ["java.util.ArrayList",
// [...]], non-natural values are [type id, value]). The document is decoded
// once, numbers as json.Number, and walked.
func parseJackson(data []byte) (*foreignLog, error) {
	var doc any
	if err := decodeJSON(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: jackson: %v", ErrCorrupt, err)
	}
	root, _ := doc.(map[string]any)
	if class, _ := root["@class"].(string); !isJavaClass(class, javaBranchUndoLog) {
		return nil, fmt.Errorf("%w: jackson root class %q", ErrUnsupportedFormat, class)
	}
	xid, ok := root["xid"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: jackson xid is not a string", ErrCorrupt)
	}
	branchID, _ := root["branchId"].(json.Number)
	l := &foreignLog{writer: writerJava, xid: xid}
	var err error
	if l.branchID, err = parseBranchID(branchID); err != nil {
		return nil, err
	}
	logs, err := javaList(root["sqlUndoLogs"], "sqlUndoLogs")
	if err != nil {
		return nil, err
	}
	l.records = make([]foreignRecord, len(logs))
	for i, item := range logs {
		s, ok := javaBean(item, javaSQLUndoLog)
		if !ok {
			return nil, fmt.Errorf("%w: jackson sqlUndoLogs[%d] is not a SQLUndoLog", ErrCorrupt, i)
		}
		r := &l.records[i]
		r.sqlType, _ = s["sqlType"].(string)
		r.table, _ = s["tableName"].(string)
		if r.before, err = jacksonRows(s["beforeImage"]); err != nil {
			return nil, fmt.Errorf("sqlUndoLogs[%d] beforeImage: %w", i, err)
		}
		if r.after, err = jacksonRows(s["afterImage"]); err != nil {
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

// javaBean returns v as an object whose "@class" is Seata's class name.
func javaBean(v any, name string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	class, _ := m["@class"].(string)
	return m, isJavaClass(class, name)
}

// javaList unwraps a Jackson list, ["java.util.ArrayList", [...]]; null is
// an empty list.
func javaList(v any, what string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	pair, ok := v.([]any)
	if ok && len(pair) == 2 {
		class, _ := pair[0].(string)
		items, isList := pair[1].([]any)
		if isList && strings.HasPrefix(class, "java.util.") {
			return items, nil
		}
	}
	return nil, fmt.Errorf("%w: jackson %s is not a typed list", ErrCorrupt, what)
}

func jacksonRows(v any) ([]foreignRow, error) {
	if v == nil {
		return nil, nil
	}
	img, ok := javaBean(v, javaTableRecords)
	if !ok {
		if img, ok = javaBean(v, javaEmptyRecords); !ok {
			return nil, fmt.Errorf("%w: jackson image is not a TableRecords", ErrCorrupt)
		}
	}
	rows, err := javaList(img["rows"], "rows")
	if err != nil {
		return nil, err
	}
	out := make([]foreignRow, len(rows))
	for i, item := range rows {
		r, ok := javaBean(item, javaRow)
		if !ok {
			return nil, fmt.Errorf("%w: jackson row %d is not a Row", ErrCorrupt, i)
		}
		fields, err := javaList(r["fields"], "fields")
		if err != nil {
			return nil, err
		}
		out[i] = make(foreignRow, len(fields))
		for j, item := range fields {
			f, ok := javaBean(item, javaField)
			if !ok {
				return nil, fmt.Errorf("%w: jackson row %d field %d is not a Field", ErrCorrupt, i, j)
			}
			name, _ := f["name"].(string)
			typ, _ := f["type"].(json.Number)
			jdbc, err := strconv.Atoi(string(typ))
			if err != nil {
				return nil, fmt.Errorf("%w: jackson row %d column %s: type %q", ErrCorrupt, i, name, typ)
			}
			v, err := jacksonValue(f["value"])
			if err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", i, name, err)
			}
			out[i][j] = foreignField{name: name, jdbcType: jdbc, value: v}
		}
	}
	return out, nil
}

// jacksonValue reads a Field value: a natural JSON value (null, String,
// Integer, Double, Boolean) or a [type id, value] pair.
func jacksonValue(v any) (jsonV, error) {
	switch x := v.(type) {
	case map[string]any:
		// A bean Jackson wrote without a serializer (LocalDateTime before
		// Seata 1.5): Java itself cannot read it back.
		return jsonV{}, fmt.Errorf("%w: jackson value is an object", ErrUnsupportedType)
	case []any:
		if len(x) != 2 {
			return jsonV{}, fmt.Errorf("%w: jackson value is an array of %d items", ErrCorrupt, len(x))
		}
		tag, ok := x[0].(string)
		if !ok {
			return jsonV{}, fmt.Errorf("%w: jackson value without a type id", ErrCorrupt)
		}
		return jsonV{javaType: tag, v: x[1]}, nil
	}
	return jsonV{v: v}, nil
}

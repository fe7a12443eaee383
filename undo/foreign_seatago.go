package undo

import (
	"encoding/json"
	"fmt"
)

// seata-go v1.2.0's undo log: encoding/json of its undo.BranchUndoLog, with
// untyped values whose meaning depends on the column type (see
// foreignValue).
type seataGoBranch struct {
	XID         *string             `json:"xid"`
	BranchID    json.Number         `json:"branchId"`
	SQLUndoLogs []seataGoSQLUndoLog `json:"sqlUndoLogs"`
}

type seataGoSQLUndoLog struct {
	SQLType     string        `json:"sqlType"`
	TableName   string        `json:"tableName"`
	BeforeImage *seataGoImage `json:"beforeImage"`
	AfterImage  *seataGoImage `json:"afterImage"`
}

type seataGoImage struct {
	Rows []struct {
		Fields []seataGoField `json:"fields"`
	} `json:"rows"`
}

type seataGoField struct {
	Name  string `json:"name"`
	Type  int    `json:"type"`
	Value any    `json:"value"`
}

// parseSeataGo parses the JSON written by seata-go v1.2.0's JsonParser.
func parseSeataGo(data []byte) (*foreignLog, error) {
	var b seataGoBranch
	if err := decodeJSON(data, &b); err != nil {
		return nil, fmt.Errorf("%w: seata-go json: %v", ErrCorrupt, err)
	}
	if b.XID == nil {
		return nil, fmt.Errorf("%w: neither a Java jackson nor a seata-go undo log (no xid)", ErrUnsupportedFormat)
	}
	l := &foreignLog{writer: writerSeataGo, xid: *b.XID}
	var err error
	if l.branchID, err = parseBranchID(b.BranchID); err != nil {
		return nil, err
	}
	l.records = make([]foreignRecord, len(b.SQLUndoLogs))
	for i, s := range b.SQLUndoLogs {
		r := &l.records[i]
		r.sqlType, r.table = s.SQLType, s.TableName
		r.before, err = seataGoRows(s.BeforeImage)
		if err == nil {
			r.after, err = seataGoRows(s.AfterImage)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlUndoLogs[%d]: %w", i, err)
		}
	}
	return l, nil
}

func seataGoRows(img *seataGoImage) ([]foreignRow, error) {
	if img == nil {
		return nil, nil
	}
	out := make([]foreignRow, len(img.Rows))
	for i, r := range img.Rows {
		out[i] = make(foreignRow, len(r.Fields))
		for j, f := range r.Fields {
			switch f.Value.(type) {
			case nil, json.Number, string, bool:
			default:
				return nil, fmt.Errorf("%w: seata-go row %d column %s: %T value", ErrCorrupt, i, f.Name, f.Value)
			}
			out[i][j] = foreignField{name: f.Name, jdbcType: f.Type, value: jsonV{v: f.Value}}
		}
	}
	return out, nil
}

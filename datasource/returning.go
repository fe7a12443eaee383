package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// written is what running a write told: its result, or, for a statement
// with RETURNING, the rows it returned, read to the end.
type written struct {
	res  driver.Result
	rows *returnedRows
}

// write runs a write statement: through Exec, or, when it has a RETURNING
// clause, through Query, keeping its rows for the caller.
func (e *executor) write(ctx context.Context, s statement, returning bool) (written, error) {
	if !returning {
		res, err := e.q.exec(ctx, s)
		return written{res: res}, err
	}
	rows, err := e.q.query(ctx, s)
	if err != nil {
		return written{}, err
	}
	rr, err := readRows(rows)
	return written{rows: rr}, err
}

// lastInsertID returns the first key the statement generated, as the
// client protocol reports it, or, for a statement that returned rows
// (which carries none), as LAST_INSERT_ID() tells right after it.
func (w *written) lastInsertID(ctx context.Context, q querier) (int64, error) {
	if w.res != nil {
		return w.res.LastInsertId()
	}
	img, err := q.image(ctx, "SELECT LAST_INSERT_ID()", nil)
	if err != nil {
		return 0, err
	}
	if len(img.Rows) != 1 || len(img.Rows[0]) != 1 {
		return 0, errors.New("atcc/datasource: reading LAST_INSERT_ID() returned no value")
	}
	id, ok := img.Rows[0][0].Arg().(int64)
	if !ok {
		if u, isUint := img.Rows[0][0].Arg().(uint64); isUint {
			id, ok = int64(u), true // the bits, as the client protocol's LastInsertId gives them
		}
	}
	if !ok {
		return 0, fmt.Errorf("atcc/datasource: LAST_INSERT_ID() %s", img.Rows[0][0].String())
	}
	w.rows.lastID = id
	return id, nil
}

// result is the statement's driver.Result: its own, or the returned rows,
// which are one too.
func (w *written) result() driver.Result {
	if w.rows != nil {
		return w.rows
	}
	return w.res
}

// returnedRows are the rows of a write with RETURNING, read before the
// statement is imaged, handed to the caller of Query (or dropped by Exec).
// As a driver.Result (for Exec) it reports the rows returned as affected and
// the first generated key when AT mode read it (0 otherwise). Like any
// driver.Rows it belongs to one goroutine.
type returnedRows struct {
	cols   []string
	types  []columnType
	data   [][]driver.Value
	next   int
	lastID int64
}

type columnType struct {
	dbType           string
	scan             reflect.Type
	nullable, hasNul bool
}

var (
	_ driver.Result                         = (*returnedRows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*returnedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*returnedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*returnedRows)(nil)
)

// readRows reads rows to the end and closes them.
func readRows(rows driver.Rows) (rr *returnedRows, err error) {
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			rr, err = nil, cerr
		}
	}()
	rr = &returnedRows{cols: rows.Columns()}
	rr.types = make([]columnType, len(rr.cols))
	for i := range rr.types {
		ct := &rr.types[i]
		if r, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
			ct.dbType = r.ColumnTypeDatabaseTypeName(i)
		}
		if r, ok := rows.(driver.RowsColumnTypeScanType); ok {
			ct.scan = r.ColumnTypeScanType(i)
		}
		if r, ok := rows.(driver.RowsColumnTypeNullable); ok {
			ct.nullable, ct.hasNul = r.ColumnTypeNullable(i)
		}
	}
	for {
		row := make([]driver.Value, len(rr.cols))
		if err := rows.Next(row); err == io.EOF {
			return rr, nil
		} else if err != nil {
			return nil, err
		}
		for i, v := range row {
			if b, ok := v.([]byte); ok { // the driver may reuse its buffer
				row[i] = append(make([]byte, 0, len(b)), b...) // empty stays non-nil: '' is not NULL
			}
		}
		rr.data = append(rr.data, row)
	}
}

func (r *returnedRows) Columns() []string { return r.cols }
func (r *returnedRows) Close() error      { return nil }

func (r *returnedRows) Next(dest []driver.Value) error {
	if r.next >= len(r.data) {
		return io.EOF
	}
	copy(dest, r.data[r.next])
	r.next++
	return nil
}

func (r *returnedRows) ColumnTypeDatabaseTypeName(i int) string { return r.types[i].dbType }

func (r *returnedRows) ColumnTypeScanType(i int) reflect.Type {
	if t := r.types[i].scan; t != nil {
		return t
	}
	return reflect.TypeFor[any]()
}

func (r *returnedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	return r.types[i].nullable, r.types[i].hasNul
}

func (r *returnedRows) LastInsertId() (int64, error) { return r.lastID, nil }
func (r *returnedRows) RowsAffected() (int64, error) { return int64(len(r.data)), nil }

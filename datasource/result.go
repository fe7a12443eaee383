package datasource

import (
	"database/sql/driver"
	"io"

	"github.com/go-sql-driver/mysql"
)

// multiResult is the result of a query holding several statements, run one
// by one: LastInsertId and RowsAffected are the last statement's, as
// go-sql-driver/mysql reports them, and it implements mysql.Result for
// every statement's.
type multiResult []driver.Result

var _ mysql.Result = multiResult(nil)

func (m multiResult) LastInsertId() (int64, error) { return m[len(m)-1].LastInsertId() }
func (m multiResult) RowsAffected() (int64, error) { return m[len(m)-1].RowsAffected() }

// AllLastInsertIds returns each statement's last insert id (0 where the
// driver reports none).
func (m multiResult) AllLastInsertIds() []int64 {
	out := make([]int64, len(m))
	for i, r := range m {
		out[i], _ = r.LastInsertId()
	}
	return out
}

// AllRowsAffected returns each statement's affected row count (0 where the
// driver reports none).
func (m multiResult) AllRowsAffected() []int64 {
	out := make([]int64, len(m))
	for i, r := range m {
		out[i], _ = r.RowsAffected()
	}
	return out
}

// emptyRows is the result set of a write run through Query.
type emptyRows struct{}

func (emptyRows) Columns() []string              { return nil }
func (emptyRows) Close() error                   { return nil }
func (emptyRows) Next(dest []driver.Value) error { return io.EOF }

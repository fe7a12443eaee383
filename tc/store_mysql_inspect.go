package tc

import (
	"context"
	"database/sql"
	"strings"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// The MySQL store's operations for operators (operator.go). They are rare:
// the listing's statement depends on the filter and is not kept prepared.

const (
	sqlBranchFailed       = "UPDATE branch_table SET attempts = attempts + 1, last_error = ?, gmt_modified = NOW(6) WHERE branch_id = ? AND xid = ?"
	sqlBranchFailedStatus = "UPDATE branch_table SET attempts = attempts + 1, last_error = ?, status = ?, gmt_modified = NOW(6) WHERE branch_id = ? AND xid = ?"
	sqlLocksHeld          = "SELECT row_key, branch_id, resource_id, table_name, pk FROM lock_table WHERE xid = ? ORDER BY row_key LIMIT ?"
)

func (s *mysqlStore) branchFailed(ctx context.Context, xid string, branchID int64, status protocol.BranchStatus, msg string) error {
	if !s.audit {
		return nil // the schema predates the columns; Server.Start warned
	}
	var err error
	if status == 0 {
		_, err = s.exec(ctx, nil, sqlBranchFailed, msg, branchID, xid)
	} else {
		_, err = s.exec(ctx, nil, sqlBranchFailedStatus, msg, status, branchID, xid)
	}
	return err
}

func (s *mysqlStore) listGlobals(ctx context.Context, f listFilter, limit int) ([]globalTx, error) {
	var q strings.Builder
	q.WriteString("SELECT " + globalCols + " FROM global_table WHERE begin_time <= ?")
	args := []any{f.beganBy}
	if len(f.statuses) > 0 {
		q.WriteString(" AND status IN (?" + strings.Repeat(", ?", len(f.statuses)-1) + ")")
		for _, st := range f.statuses {
			args = append(args, st)
		}
	}
	if f.app != "" {
		q.WriteString(" AND application_id = ?")
		args = append(args, f.app)
	}
	if f.afterXID != "" {
		q.WriteString(" AND (begin_time > ? OR begin_time = ? AND xid > ?)")
		args = append(args, f.afterBegin, f.afterBegin, f.afterXID)
	}
	q.WriteString(" ORDER BY begin_time, xid LIMIT ?")
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []globalTx
	for rows.Next() {
		g, err := scanGlobal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// scanGlobal reads a row of globalCols.
func scanGlobal(rows *sql.Rows) (globalTx, error) {
	var g globalTx
	var appID, group, name, appData sql.NullString
	var timeout sql.NullInt32
	var txID, begin sql.NullInt64
	err := rows.Scan(&g.xid, &txID, &g.status, &appID, &group, &name, &timeout, &begin, &appData, &g.dueAt, &g.owner, &g.attempts)
	g.txID, g.appID, g.group, g.name, g.timeoutMs, g.beginTime, g.appData = txID.Int64, appID.String, group.String, name.String, timeout.Int32, begin.Int64, appData.String
	return g, err
}

func (s *mysqlStore) locksOf(ctx context.Context, xid string, limit int) ([]heldLock, error) {
	rows, err := s.db.QueryContext(ctx, sqlLocksHeld, xid, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []heldLock
	for rows.Next() {
		var l heldLock
		var key []byte
		var resource, table, pk sql.NullString
		if err := rows.Scan(&key, &l.branchID, &resource, &table, &pk); err != nil {
			return nil, err
		}
		l.key, l.resourceID, l.table, l.pk = string(key), resource.String, table.String, pk.String
		out = append(out, l)
	}
	return out, rows.Err()
}

func (s *mysqlStore) ping(ctx context.Context) error { return s.db.PingContext(ctx) }

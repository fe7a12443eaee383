package undo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/atcc-go/atcc/internal/schema"
)

// DefaultTable is the undo log table's default name.
const DefaultTable = "undo_log"

// DDL creates the undo log table with Java Seata's (1.5+) columns and keys,
// so an existing Seata schema works unchanged. log_status is 0 for a normal
// log and 1 for the marker a rollback leaves when it finds no log. Apply it
// in each database that AT branches write to, or call CreateTable.
const DDL = "CREATE TABLE IF NOT EXISTS `undo_log`" + ` (
  branch_id     BIGINT       NOT NULL COMMENT 'branch transaction id',
  xid           VARCHAR(128) NOT NULL COMMENT 'global transaction id',
  context       VARCHAR(128) NOT NULL COMMENT 'undo_log context, such as serialization',
  rollback_info LONGBLOB     NOT NULL COMMENT 'rollback info',
  log_status    INT(11)      NOT NULL COMMENT '0: normal status, 1: global finished',
  log_created   DATETIME(6)  NOT NULL COMMENT 'create datetime',
  log_modified  DATETIME(6)  NOT NULL COMMENT 'modify datetime',
  UNIQUE KEY ux_undo_log (xid, branch_id),
  KEY ix_log_created (log_created)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COMMENT = 'AT transaction mode undo table'`

// log_status values.
const (
	statusNormal         = 0
	statusGlobalFinished = 1
)

// maxXIDLen is the xid column's width in characters.
const maxXIDLen = 128

// CreateTable creates the undo log table named table (DefaultTable if empty)
// unless it exists.
func CreateTable(ctx context.Context, db *sql.DB, table string) error {
	q, err := checkTableName(table)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, strings.Replace(DDL, "`"+DefaultTable+"`", q, 1)); err != nil {
		return fmt.Errorf("atcc/undo: create table %s: %w", q, err)
	}
	return nil
}

// checkTableName validates an undo table name and returns it quoted.
func checkTableName(name string) (string, error) {
	if name == "" {
		name = DefaultTable
	}
	if len(name) > 64 || !utf8.ValidString(name) || strings.ContainsRune(name, 0) ||
		strings.HasSuffix(name, " ") {
		return "", fmt.Errorf("%w: undo table name %q", ErrInvalid, name)
	}
	return schema.QuoteIdent(name), nil
}

func checkXID(xid string) error {
	if xid == "" || utf8.RuneCountInString(xid) > maxXIDLen || !utf8.ValidString(xid) {
		return fmt.Errorf("%w: xid %q (want 1..%d characters)", ErrInvalid, xid, maxXIDLen)
	}
	return nil
}

// statements holds the undo_log SQL for one table name.
type statements struct {
	insert          string
	insertHead      string // insert up to its values, for InsertCommit's text
	insertMarker    string
	selectForUpdate string
	deleteOne       string
	deleteOld       string
	deleteBatchHead string // + "(?,?),(?,?)...)"
}

// insertRest follows the four values of a normal undo log's INSERT.
const insertRest = ", 0, now(6), now(6))"

func newStatements(q string) statements {
	cols := " (branch_id, xid, context, rollback_info, log_status, log_created, log_modified)"
	head := "INSERT INTO " + q + cols + " VALUES ("
	return statements{
		insert:          head + "?, ?, ?, ?" + insertRest,
		insertHead:      head,
		insertMarker:    "INSERT INTO " + q + cols + " VALUES (?, ?, ?, ?, 1, now(6), now(6))",
		selectForUpdate: "SELECT context, rollback_info, log_status FROM " + q + " WHERE xid = ? AND branch_id = ? FOR UPDATE",
		deleteOne:       "DELETE FROM " + q + " WHERE xid = ? AND branch_id = ?",
		deleteOld:       "DELETE FROM " + q + " WHERE log_created <= now(6) - INTERVAL ? DAY LIMIT ?",
		deleteBatchHead: "DELETE FROM " + q + " WHERE (xid, branch_id) IN (",
	}
}

// deleteBatch returns the statement deleting n (xid, branch_id) pairs.
func (s *statements) deleteBatch(n int) string {
	var b strings.Builder
	b.Grow(len(s.deleteBatchHead) + 6*n + 1)
	b.WriteString(s.deleteBatchHead)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?)")
	}
	b.WriteByte(')')
	return b.String()
}

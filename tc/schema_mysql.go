package tc

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/internal/mysqlerr"
)

// DDL is the DDL of the MySQL store (MySQL 5.7+, 8.x, MariaDB 10.3+):
// Seata's global_table, branch_table and lock_table, with these differences:
//
//   - global_table has four more columns: due_at (when a coordinator must
//     next act on the transaction: its deadline, the end of a lease, the
//     next retry, or when an ended transaction is forgotten), lease_owner
//     (the coordinator driving phase two), attempts (failed phase-two
//     attempts, for the backoff) and branch_count (branches registered, so
//     that a transaction without any ends in one statement); its index is
//     on (status, due_at);
//   - branch_table has two more: attempts and last_error (failed
//     phase-two calls of the branch and the latest failure, for operators);
//     a store on tables without them works, without recording them, and
//     CreateTables adds them;
//   - lock_table.row_key is VARBINARY, so that lock keys compare byte for
//     byte whatever the collation, and table_name and pk are wider;
//   - tc_sequence holds the id counter the coordinators share ('id') and
//     the key that turns its ids into unguessable XIDs ('xid_key_0',
//     'xid_key_1'): whoever reads it can predict XIDs, as whoever reads
//     global_table can list them.
//
// Statements are separated by ";\n". CreateTables runs them.
const DDL = `CREATE TABLE IF NOT EXISTS global_table (
  xid                       VARCHAR(128)  NOT NULL,
  transaction_id            BIGINT,
  status                    TINYINT       NOT NULL,
  application_id            VARCHAR(128),
  transaction_service_group VARCHAR(128),
  transaction_name          VARCHAR(256),
  timeout                   INT,
  begin_time                BIGINT,
  application_data          VARCHAR(2000),
  gmt_create                DATETIME,
  gmt_modified              DATETIME,
  due_at                    BIGINT        NOT NULL DEFAULT 0,
  lease_owner               VARCHAR(64)   NOT NULL DEFAULT '',
  attempts                  INT           NOT NULL DEFAULT 0,
  branch_count              INT           NOT NULL DEFAULT 0,
  PRIMARY KEY (xid),
  KEY idx_status_due_at (status, due_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS branch_table (
  branch_id         BIGINT       NOT NULL,
  xid               VARCHAR(128) NOT NULL,
  transaction_id    BIGINT,
  resource_group_id VARCHAR(128),
  resource_id       VARCHAR(256),
  branch_type       VARCHAR(8),
  status            TINYINT,
  client_id         VARCHAR(256),
  application_data  TEXT,
  gmt_create        DATETIME(6),
  gmt_modified      DATETIME(6),
  attempts          INT           NOT NULL DEFAULT 0,
  last_error        VARCHAR(1024) NOT NULL DEFAULT '',
  PRIMARY KEY (branch_id),
  KEY idx_xid (xid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS lock_table (
  row_key        VARBINARY(768) NOT NULL,
  xid            VARCHAR(128),
  transaction_id BIGINT,
  branch_id      BIGINT         NOT NULL,
  resource_id    VARCHAR(256),
  table_name     VARCHAR(768),
  pk             VARCHAR(768),
  status         TINYINT        NOT NULL DEFAULT 0 COMMENT '0: locked (whether the holder is rolling back is read from global_table)',
  gmt_create     DATETIME,
  gmt_modified   DATETIME,
  PRIMARY KEY (row_key),
  KEY idx_branch_id (branch_id),
  KEY idx_xid (xid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE IF NOT EXISTS tc_sequence (
  name  VARCHAR(32) NOT NULL,
  value BIGINT      NOT NULL,
  PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`

// CreateTables creates the MySQL store's tables in db's database when they
// do not exist (see DDL), and adds to existing tables the optional columns
// that later versions introduced (ALTER TABLE ... ADD COLUMN, with a
// default, so coordinators of the earlier version keep working on them).
// It does not add the columns the store cannot work without: a Seata
// schema without them makes Server.Start fail with ErrSchema, naming what
// is missing.
func CreateTables(ctx context.Context, db *sql.DB) error {
	for stmt := range strings.SplitSeq(DDL, ";\n") {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("atcc/tc: create tables: %w", err)
		}
	}
	for _, c := range addedColumns {
		var n int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
			c.table, c.column).Scan(&n)
		if err != nil {
			return fmt.Errorf("atcc/tc: create tables: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.def); err != nil {
			return fmt.Errorf("atcc/tc: add column %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// addedColumns are the optional columns added to DDL after its first
// version, as CreateTables adds them to older tables (the same definitions
// as in DDL). The store checks for them at start (hasBranchAudit).
var addedColumns = []struct{ table, column, def string }{
	{"branch_table", "attempts", "INT NOT NULL DEFAULT 0"},
	{"branch_table", "last_error", "VARCHAR(1024) NOT NULL DEFAULT ''"},
}

// hasBranchAudit reports whether branch_table has the attempts and
// last_error columns.
func hasBranchAudit(ctx context.Context, db *sql.DB) (bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT attempts, last_error FROM branch_table WHERE 1 = 0")
	if err != nil {
		if mysqlerr.Is(err, mysqlerr.BadField) {
			return false, nil
		}
		return false, fmt.Errorf("atcc/tc: check schema: %w", err)
	}
	rows.Close()
	return true, nil
}

// checkSchema verifies that every table and column the store uses exists.
func checkSchema(ctx context.Context, db *sql.DB) error {
	probes := []string{
		"SELECT " + globalCols + ", branch_count FROM global_table WHERE 1 = 0",
		"SELECT " + branchCols + ", gmt_create, gmt_modified FROM branch_table WHERE 1 = 0",
		"SELECT row_key, xid, transaction_id, branch_id, resource_id, table_name, pk, status, gmt_create, gmt_modified FROM lock_table WHERE 1 = 0",
		"SELECT name, value FROM tc_sequence WHERE 1 = 0",
	}
	for _, q := range probes {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			if mysqlerr.Is(err, mysqlerr.NoSuchTable, mysqlerr.BadField) {
				return fmt.Errorf("%w: %s (CreateTables, or the binary's -init-schema, creates the tables)", ErrSchema, mysqlerr.Server(err).Message)
			}
			return fmt.Errorf("atcc/tc: check schema: %w", err)
		}
		rows.Close()
	}
	return nil
}

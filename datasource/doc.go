// Package datasource is AT mode's database/sql driver wrapper: a
// driver.Connector around go-sql-driver/mysql whose connections record undo
// logs for the SQL they run inside a global transaction, register their local
// transactions as branches, and undo them when the coordinator asks.
//
//	target, _ := mysql.NewConnector(mysqlCfg)
//	conn, err := datasource.NewConnector(target, client, datasource.Config{ResourceID: "orders-db"})
//	if err != nil { ... }
//	db := sql.OpenDB(conn) // db.Close closes conn
//
//	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
//		tx, err := db.BeginTx(ctx, nil) // ctx carries the XID: this is a branch
//		if err != nil {
//			return err
//		}
//		defer tx.Rollback()
//		if _, err := tx.ExecContext(ctx, "UPDATE stock SET qty = qty - ? WHERE sku = ?", 1, "A-1"); err != nil {
//			return err
//		}
//		return tx.Commit() // registers the branch, writes the undo log, commits
//	})
//
// Register installs a named driver instead, for sql.Open(name, dsn).
//
// # Outside a global transaction
//
// Without an XID in the context (tm.XID) and without WithGlobalLock, every
// call goes straight to the target connection after a context lookup; the
// wrapper allocates nothing per call.
//
// # Inside one
//
// A local transaction begun with an XID in its context is a branch of that
// global transaction. A statement run outside a transaction with an XID in its
// context that writes rows gets a local transaction of its own, committed as
// a branch at once. In both cases each statement is parsed (once per query
// text) and:
//
//   - UPDATE and DELETE (single- or multi-table, with WHERE, ORDER BY,
//     LIMIT, joins) first read and lock the rows they will change with their
//     own clauses (SELECT ... FOR UPDATE), run, and, for UPDATE, read the rows
//     again by primary key. UPDATE images hold the primary key, the assigned
//     columns and the ON UPDATE columns; DELETE images whole rows.
//   - INSERT reads back the rows it added by primary key, given (as the
//     server stores them: a number for a character key as text, a short
//     BINARY(n) key zero-padded) or generated (LAST_INSERT_ID, row order and
//     @@auto_increment_increment, read once per connection), and counts
//     them. INSERT IGNORE, REPLACE and INSERT ... ON DUPLICATE KEY UPDATE
//     first read and lock the rows their primary and unique key values
//     collide with, so that their rollback deletes what they inserted and
//     puts back what they replaced or updated. INSERT, REPLACE and DELETE
//     ... RETURNING (MariaDB) run through Query and hand their rows to the
//     caller.
//   - SELECT ... FOR UPDATE locks its rows, then waits until no other global
//     transaction holds them (rm.Manager.LockQuery).
//   - Other reads and session statements run as they are.
//
// Several statements in one query run one by one (the driver need not allow
// multiStatements), each checked before the first runs. Prepared statements
// are intercepted when they execute. At COMMIT the branch is registered with
// the keys of every row it changed ("table:pk1,pk2;table2:pk", table names in
// lower case), retrying briefly while another global transaction holds one
// (see Lock conflicts) while the after images still to read are read,
// then its undo log is inserted in the same local transaction, then it
// commits (with Config.MultiStatements, the INSERT and
// the COMMIT go to the server as one query).
// A transaction that changed nothing registers nothing. When the COMMIT
// itself fails, the branch stays registered: the commit may have happened
// with its answer lost, and the global rollback then undoes it (or, if it
// did not happen, finds nothing to undo).
//
// Statements AT mode cannot undo are refused before they run, changing
// nothing, with an *UnsupportedError: DDL (ErrDDLInGlobalTx), writes to a
// table without a primary key (ErrNoPrimaryKey), assignments to primary key
// columns (ErrPrimaryKeyUpdate), INSERT ... SELECT, statements that do not
// parse, transaction control statements, and key values only the server
// knows (an expression such as UUID() for a primary key).
//
// # Lock conflicts
//
// A branch that needs a row's global lock while another global transaction
// holds it (at COMMIT; for SELECT ... FOR UPDATE) already holds the row's
// lock in the database. The holder may need that row to roll back, so the
// waiter does not sit on it: it asks the coordinator again at most
// Config.LockRetries times, Config.LockRetryInterval apart (by default 20 ×
// 1 ms: a committing holder releases its locks a round trip or two after
// its local COMMIT), and at
// once gives up when the coordinator answers that the holder is rolling
// back (LockKeyConflictFailFast: branches register with
// {"autoCommit":false} to ask for that answer, as Java Seata's AT RM does).
// Giving up rolls the local transaction back (at COMMIT; after a statement
// the caller does) and returns a *LockConflictError. It matches
// tm.ErrConflict, and so does a statement's deadlock (MySQL error 1213) or
// lock wait timeout (1205) in a global transaction:
// tm.Manager.WithGlobalTx then rolls the global transaction back and runs
// it again after a jittered backoff, holding no row locks while it waits.
// Code that begins and ends global transactions itself should do the same
// on errors.Is(err, tm.ErrConflict).
//
// # Limits
//
// Isolation is Seata's: other transactions see a branch's committed local
// changes before the global outcome (only GlobalLock mode and SELECT ... FOR
// UPDATE wait for global locks). The images assume the server's default
// REPEATABLE READ isolation, whose gap locks keep other transactions from
// inserting rows that match an INSERT IGNORE / REPLACE / ON DUPLICATE KEY
// UPDATE's keys while it runs. Changes made by triggers and cascading
// foreign keys are not imaged (a DELETE cascading onto a row of its own
// image fails with ErrRowsMismatch). An UPDATE or DELETE runs on exactly
// the rows its before image locked: its own text up to WHERE, then WHERE
// those primary keys, so ORDER BY on non-unique columns, LIMIT without
// ORDER BY or a row inserted meanwhile under READ COMMITTED cannot make it
// change other rows. SQL built from a statement takes its clauses from the
// statement's original text, never from the parser's re-rendering, so
// literals keep their meaning. The current database is tracked per
// connection (USE), and table metadata is reloaded when an image shows the
// table changed, or after Config.SchemaRefreshInterval. The query parser
// uses the sql_mode of the data source's sessions, read once.
//
// # Phase two
//
// The Connector registers the data source as an rm.Resource (branch type
// AT). On BranchCommit it queues the branch's undo log for deletion; on
// BranchRollback it restores the before images, refusing when rows were
// changed outside the global transaction since (a dirty write: the branch ends
// PhaseTwoRollbackFailedUnretryable, the data is left for a person and the
// coordinator keeps the row locks).
//
// # Concurrency
//
// A Connector is safe for concurrent use. Connections, statements and
// transactions are used by one goroutine at a time, as database/sql does.
package datasource

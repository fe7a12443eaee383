package undo_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"log"

	"github.com/atcc-go/atcc/undo"
)

var (
	ctx context.Context
	db  *sql.DB // a pool of the raw target driver (go-sql-driver/mysql)
	m   *undo.Manager
)

// A data source creates one Manager and closes it on shutdown, which
// flushes the undo logs queued by Commit.
func ExampleNewManager() {
	m, err := undo.NewManager(db, undo.Config{}) // undo_log, validation on
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	if err := undo.CreateTable(ctx, db, undo.DefaultTable); err != nil {
		log.Fatal(err)
	}
}

// Phase one, as the driver wrapper runs it on the connection that holds the
// branch's local transaction: images around each DML statement, the undo
// log just before COMMIT.
func ExampleManager_Insert() {
	conn, _ := db.Conn(ctx)
	defer conn.Close()
	conn.ExecContext(ctx, "BEGIN")
	err := conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		args := []driver.NamedValue{{Ordinal: 1, Value: int64(42)}}
		before, err := undo.QueryImage(ctx, c, "SELECT id, balance FROM account WHERE id = ? FOR UPDATE", args)
		if err != nil {
			return err
		}
		// ... run the UPDATE, then read the same rows by primary key ...
		after, err := undo.QueryImage(ctx, c, "SELECT id, balance FROM account WHERE id = ?", args)
		if err != nil {
			return err
		}
		l := &undo.BranchLog{XID: "10.0.0.1:8091:123", BranchID: 456, Records: []undo.Record{
			{Op: undo.OpUpdate, Table: "account", Before: before, After: after},
		}}
		return m.Insert(ctx, c.(driver.ExecerContext), l)
	})
	if errors.Is(err, undo.ErrGlobalFinished) {
		conn.ExecContext(ctx, "ROLLBACK") // the global transaction is already rolled back
		return
	}
	conn.ExecContext(ctx, "COMMIT")
}

// Phase two, as the resource manager answers a BranchRollback.
func ExampleManager_Rollback() {
	err := m.Rollback(ctx, "10.0.0.1:8091:123", 456)
	switch {
	case err == nil:
		// PhaseTwo_Rollbacked
	case undo.IsRetryable(err):
		// PhaseTwo_RollbackFailed_Retryable: the coordinator asks again later.
	default:
		// PhaseTwo_RollbackFailed_Unretryable: a person must look, e.g. at
		// the rows of a *undo.DirtyWriteError.
		var dirty *undo.DirtyWriteError
		if errors.As(err, &dirty) {
			log.Printf("dirty rows in %s: %d", dirty.Table, len(dirty.Rows))
		}
	}
}

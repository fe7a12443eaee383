package undo

import "strconv"

// Op is the kind of DML statement a Record undoes. Ops are stored in undo
// logs: the numbers never change.
type Op uint8

// The statements AT mode records.
const (
	OpInsert Op = 1 // rows inserted: undone by deleting them
	OpUpdate Op = 2 // rows updated: undone by writing the before image back
	OpDelete Op = 3 // rows deleted: undone by inserting the before image
)

// String returns "insert", "update" or "delete".
func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Record is the undo information of one DML statement on one table.
//
// Every image includes all primary key columns. By Op:
//   - OpInsert: After holds the inserted rows, read back by primary key
//     (all columns, so the dirty check sees any later change); Before is
//     empty.
//   - OpUpdate: Before and After have the same Columns and the same primary
//     keys (rows are matched by key, not position; the primary key itself
//     must not change). Rollback writes back the before values of every
//     image column outside the key.
//   - OpDelete: Before holds the deleted rows with every column, so they can
//     be inserted again (auto-increment keys included); After is empty.
type Record struct {
	Op     Op
	Schema string // the table's schema; "" means the default database
	Table  string // the table name as stored
	Before Image
	After  Image
}

// BranchLog is everything needed to undo one AT branch: its records in the
// order the statements ran. It is written to the undo_log table in the
// branch's local transaction (Manager.Insert) and read back by
// Manager.Rollback.
type BranchLog struct {
	XID      string
	BranchID int64
	Records  []Record
	// Bytes is set by Manager.Insert: the size of the undo log as
	// written (its rollback_info column, compressed if it was).
	Bytes int
}

package undo

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A process that dies with deletes still queued (acknowledged to the
// coordinator, which forgets the branches) leaves their undo rows. They are
// harmless, the log of a committed branch is never read, and the clean-up the
// coordinator asks for (DeleteOlderThan, from its UndoLogDelete requests)
// removes them once they are SaveDays old, whichever process runs it.
func TestQueuedDeletesLostInACrashAreCleanedLater(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 100, DeleteMaxDelay: time.Hour})
	e.addUndoRows(t, "crash", 3)
	for i := range 3 {
		if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-crash-%d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The process dies: its deleter never runs its batch. Another one
	// (the restarted RM) shares the table.
	restarted, err := NewManager(openDB(t, e.d, nil), Config{Tables: e.tables})
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close(context.Background())
	if n := e.undoCount(t); n != 3 {
		t.Fatalf("%d undo rows after the crash, want the 3 queued ones", n)
	}
	if n, err := restarted.DeleteOlderThan(context.Background(), 7, 100); err != nil || n != 0 {
		t.Fatalf("fresh rows deleted: %d, %v", n, err)
	}
	e.d.Exec(t, "UPDATE undo_log SET log_created = now(6) - INTERVAL 8 DAY")
	if n, err := restarted.DeleteOlderThan(context.Background(), 7, 100); err != nil || n != 3 {
		t.Fatalf("clean-up: %d, %v; want the 3 left by the crash", n, err)
	}
	if n := e.undoCount(t); n != 0 {
		t.Fatalf("%d undo rows left", n)
	}
}

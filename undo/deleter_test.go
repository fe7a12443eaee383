package undo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// addUndoRows inserts n undo rows xid-<prefix>-<i>, branch i.
func (e *env) addUndoRows(t testing.TB, prefix string, n int) {
	t.Helper()
	var vals []string
	for i := range n {
		vals = append(vals, fmt.Sprintf("(%d, 'xid-%s-%d', '%s', '', 0, now(6), now(6))", i, prefix, i, contextNone))
	}
	e.d.Exec(t, "INSERT INTO undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES "+strings.Join(vals, ","))
}

func (e *env) undoCount(t testing.TB) int {
	t.Helper()
	return count(t, e.d.DB, "undo_log")
}

// waitFor polls cond until it holds; the deadline only guards against hangs.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCommitDeletesInBatches(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 5, DeleteMaxDelay: time.Hour, DeleteQueueSize: 100})
	e.addUndoRows(t, "b", 12)
	e.addUndoRows(t, "keep", 1)
	for i := range 12 {
		if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-b-%d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Two full batches go at once; the last two wait for the (hour-long)
	// delay or for Close.
	waitFor(t, "two batches", func() bool { return e.m.del.statements.Load() == 2 })
	if n := e.undoCount(t); n != 3 {
		t.Fatalf("%d rows left after two batches, want 3", n)
	}
	if err := e.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.undoCount(t); n != 1 || e.m.del.statements.Load() != 3 {
		t.Fatalf("%d rows, %d statements after Close", n, e.m.del.statements.Load())
	}
	if err := e.m.Commit(context.Background(), "xid-keep-0", 0); !errors.Is(err, ErrClosed) || !IsRetryable(err) {
		t.Fatalf("commit after close: %v", err)
	}
	if err := e.m.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestCommitMaxDelayFlushesPartialBatch(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 100, DeleteMaxDelay: 20 * time.Millisecond})
	e.addUndoRows(t, "d", 3)
	for i := range 3 {
		if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-d-%d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "partial batch", func() bool { return e.undoCount(t) == 0 })
}

func TestCommitQueueFullDeletesSynchronously(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 1, DeleteMaxDelay: time.Millisecond, DeleteQueueSize: 1})
	e.addUndoRows(t, "q", 3)
	// Hold row 0 so the worker's first batch blocks.
	tx, err := e.d.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("SELECT * FROM undo_log WHERE xid = 'xid-q-0' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.m.Commit(ctx, "xid-q-0", 0); err != nil {
		t.Fatal(err)
	}
	// With batches of one, the worker deletes an entry as soon as it takes
	// it, and blocks on the lock.
	waitFor(t, "the worker to take the first entry", func() bool { return len(e.m.del.queue) == 0 })
	if err := e.m.Commit(ctx, "xid-q-1", 1); err != nil { // fills the queue
		t.Fatal(err)
	}
	if err := e.m.Commit(ctx, "xid-q-2", 2); err != nil { // queue full: deleted here
		t.Fatal(err)
	}
	if e.undoStatus(t, "xid-q-2", 2) != -1 || e.undoStatus(t, "xid-q-1", 1) != statusNormal {
		t.Fatal("the queue-full path did not delete synchronously")
	}
	tx.Rollback()
	if err := e.m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.undoCount(t); n != 0 {
		t.Fatalf("%d rows left", n)
	}
}

func TestDeleterRetriesFailedBatches(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 10, DeleteMaxDelay: time.Millisecond, DeleteRetryBackoff: time.Millisecond, DeleteMaxBackoff: 5 * time.Millisecond})
	e.addUndoRows(t, "r", 4)
	e.d.Exec(t, "RENAME TABLE undo_log TO undo_log_away")
	for i := range 4 {
		if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-r-%d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "failed attempts", func() bool { return e.m.del.failures.Load() >= 3 })
	e.d.Exec(t, "RENAME TABLE undo_log_away TO undo_log")
	waitFor(t, "the retried batch", func() bool { return e.undoCount(t) == 0 })
	if !strings.Contains(e.logs.String(), "level=WARN") {
		t.Fatal("failures not logged")
	}
}

func TestCloseReportsWhatItCouldNotDelete(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 10, DeleteMaxDelay: time.Hour, DeleteRetryBackoff: time.Millisecond})
	e.addUndoRows(t, "c", 3)
	e.d.Exec(t, "RENAME TABLE undo_log TO undo_log_away")
	for i := range 3 {
		if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-c-%d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := e.m.Close(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "3 undo log(s)") {
		t.Fatalf("close: %v", err)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "xid-c-2/2") {
		t.Fatalf("left-over entries not logged:\n%s", logs)
	}
	e.d.Exec(t, "RENAME TABLE undo_log_away TO undo_log")
	if n := e.undoCount(t); n != 3 {
		t.Fatalf("%d rows", n)
	}
}

func TestCommitConcurrent(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 7, DeleteMaxDelay: time.Millisecond, DeleteQueueSize: 4})
	const workers, each = 8, 40
	for w := range workers {
		e.addUndoRows(t, fmt.Sprint(w), each)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := e.m.Commit(context.Background(), fmt.Sprintf("xid-%d-%d", w, i), int64(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Close races with nothing here: all commits are in before it.
	wg.Wait()
	if err := e.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.undoCount(t); n != 0 {
		t.Fatalf("%d rows left", n)
	}
}

func TestCommitRacesClose(t *testing.T) {
	e := newEnv(t, Config{DeleteBatchSize: 3, DeleteMaxDelay: time.Millisecond, DeleteQueueSize: 2})
	e.addUndoRows(t, "x", 60)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var accepted []int
	for i := range 60 {
		wg.Go(func() {
			err := e.m.Commit(context.Background(), fmt.Sprintf("xid-x-%d", i), int64(i))
			switch {
			case err == nil:
				mu.Lock()
				accepted = append(accepted, i)
				mu.Unlock()
			case !errors.Is(err, ErrClosed):
				t.Error(err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := e.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// Every accepted commit was deleted; every refused one is still there.
	for _, i := range accepted {
		if e.undoStatus(t, fmt.Sprintf("xid-x-%d", i), int64(i)) != -1 {
			t.Fatalf("accepted commit %d not deleted", i)
		}
	}
	if n := e.undoCount(t); n != 60-len(accepted) {
		t.Fatalf("%d rows left, %d commits refused", n, 60-len(accepted))
	}
}

func TestDeleteOlderThan(t *testing.T) {
	e := newEnv(t, Config{})
	e.addUndoRows(t, "old", 5)
	e.addUndoRows(t, "new", 2)
	e.d.Exec(t, "UPDATE undo_log SET log_created = now(6) - INTERVAL 8 DAY WHERE xid LIKE 'xid-old-%'",
		"UPDATE undo_log SET log_created = now(6) - INTERVAL 6 DAY WHERE xid = 'xid-new-0'",
		"UPDATE undo_log SET log_status = 1 WHERE xid = 'xid-old-0'")
	ctx := context.Background()
	n, err := e.m.DeleteOlderThan(ctx, 7, 3)
	if err != nil || n != 3 {
		t.Fatalf("first call: %d, %v", n, err)
	}
	n, err = e.m.DeleteOlderThan(ctx, 7, 100)
	if err != nil || n != 2 {
		t.Fatalf("second call: %d, %v", n, err)
	}
	if c := e.undoCount(t); c != 2 {
		t.Fatalf("%d rows left, want the 2 recent ones", c)
	}
	for _, bad := range [][2]int{{0, 1}, {7, 0}, {-1, 5}} {
		if _, err := e.m.DeleteOlderThan(ctx, bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

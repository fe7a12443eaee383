package datasource

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// holdGlobalLock begins a global transaction that adds 1 to account 1 and
// commits the branch locally, so that it holds the row's global lock until
// the returned transaction ends. The test rolls it back at the end if it
// is still open.
func holdGlobalLock(t *testing.T, e *env) *tm.GlobalTx {
	t.Helper()
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "holder"})
	require.NoError(t, err)
	t.Cleanup(func() { gtx.Rollback(context.Background()) })
	require.NoError(t, inTx(ctx, e.db, q("UPDATE account SET balance = balance + 1 WHERE id = 1")))
	return gtx
}

// A transaction that loses a global lock conflict is rolled back and run
// again by WithGlobalTx, and commits once the holder has committed.
func TestConflictRetriedToSuccess(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	holder := holdGlobalLock(t, e)
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "waiter", ConflictRetries: 1000},
			func(ctx context.Context) error {
				runs.Add(1)
				return inTx(ctx, e.db, q("UPDATE account SET balance = balance + 10 WHERE id = 1"))
			})
	}()
	waitFor(t, "a retry", func() bool { return runs.Load() >= 2 })
	require.NoError(t, holder.Commit(context.Background()))
	require.NoError(t, <-done)
	requireRows(t, [][]any{{"1", "111"}}, snapshot(t, e.d.DB, "account"), "both committed")
}

// With retries off, the conflict comes back at once, as is.
func TestConflictRetriesOff(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	holder := holdGlobalLock(t, e)
	runs := 0
	err := e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "waiter", ConflictRetries: -1},
		func(ctx context.Context) error {
			runs++
			return inTx(ctx, e.db, q("UPDATE account SET balance = balance + 10 WHERE id = 1"))
		})
	require.Equal(t, 1, runs)
	var lce *LockConflictError
	require.ErrorAs(t, err, &lce)
	require.ErrorIs(t, err, ErrLockConflict)
	require.ErrorIs(t, err, tm.ErrConflict)
	var ce *tm.ConflictError
	require.False(t, errors.As(err, &ce), "no retry, no attempt count: %v", err)
	require.NoError(t, holder.Commit(context.Background()))
	requireRows(t, [][]any{{"1", "101"}}, snapshot(t, e.d.DB, "account"), "only the holder committed")
}

// A branch waiting for a global lock holds the row locally; when the
// holder rolls back, its undo needs that row. The waiter gives up at once
// (the coordinator answers LockKeyConflictFailFast), so the rollback goes
// through, and WithGlobalTx then runs the waiter again. Before, the waiter
// kept the row for LockRetries × LockRetryInterval (here made endless),
// and the holder's rollback could not finish.
func TestWaiterLetsHolderRollBack(t *testing.T) {
	e := newEnv(t, Config{LockRetries: 1 << 30, LockRetryInterval: time.Millisecond}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	holder := holdGlobalLock(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		runs     atomic.Int32
		mu       sync.Mutex
		firstErr error
	)
	updated := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "waiter"}, func(ctx context.Context) error {
			n := runs.Add(1)
			tx, err := e.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "UPDATE account SET balance = balance + 10 WHERE id = 1"); err != nil {
				return err
			}
			if n == 1 {
				close(updated) // the row is locked here until Commit gives up
			}
			err = tx.Commit()
			if n == 1 {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			return err
		})
	}()
	<-updated
	require.NoError(t, holder.Rollback(ctx))
	status, err := holder.Status(ctx)
	require.NoError(t, err)
	require.Contains(t, []string{"Rollbacked", "Finished"}, status.String(), "the holder's rollback finished")
	require.NoError(t, <-done)
	require.GreaterOrEqual(t, runs.Load(), int32(2))
	mu.Lock()
	require.ErrorIs(t, firstErr, protocol.ErrLockKeyConflictFailFast)
	require.ErrorIs(t, firstErr, tm.ErrConflict)
	mu.Unlock()
	requireRows(t, [][]any{{"1", "110"}}, snapshot(t, e.d.DB, "account"), "holder undone, waiter committed")
}

// Two global transactions that update two rows in opposite orders
// deadlock in the database; the victim's error (MySQL 1213) matches
// tm.ErrConflict and still unwraps to the driver's error, and WithGlobalTx
// runs it again.
func TestLocalDeadlockRetried(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100), (2, 100)")
	var (
		barrier  sync.WaitGroup
		runs     atomic.Int32
		mu       sync.Mutex
		firstErr []error
	)
	barrier.Add(2)
	transfer := func(from, to int) error {
		first := true
		return e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "deadlock"}, func(ctx context.Context) error {
			runs.Add(1)
			tx, err := e.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "UPDATE account SET balance = balance - 1 WHERE id = ?", from); err != nil {
				return err
			}
			if first {
				first = false
				barrier.Done()
				barrier.Wait() // both hold their first row
			}
			if _, err := tx.ExecContext(ctx, "UPDATE account SET balance = balance + 1 WHERE id = ?", to); err != nil {
				mu.Lock()
				firstErr = append(firstErr, err)
				mu.Unlock()
				return err
			}
			return tx.Commit()
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = transfer(1, 2) })
	wg.Go(func() { errs[1] = transfer(2, 1) })
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	// One victim ran again (more than once if its retry met the other's
	// global lock before that one's global commit).
	require.GreaterOrEqual(t, runs.Load(), int32(3))
	require.Len(t, firstErr, 1)
	var me *mysql.MySQLError
	require.ErrorAs(t, firstErr[0], &me)
	require.Equal(t, uint16(1213), me.Number)
	require.ErrorIs(t, firstErr[0], tm.ErrConflict)
	requireRows(t, [][]any{{"1", "100"}, {"2", "100"}}, snapshot(t, e.d.DB, "account"), "both transfers")
}

// Hot rows: many workers transferring among a few accounts with
// WithGlobalTx's default options. Every transfer commits or fails with a
// conflict after its retries; the balances are exactly those of the
// committed transfers, and their sum is unchanged.
func TestHotRows(t *testing.T) {
	const workers, accounts, each, initial = 16, 3, 6, 1000
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 1000), (2, 1000), (3, 1000)")
	var (
		mu        sync.Mutex
		want      = [accounts + 1]int{0, initial, initial, initial}
		committed int
		runs      atomic.Int32
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				from := 1 + (w+i)%accounts
				to := 1 + (from+w%2)%accounts
				lo, hi, amount := min(from, to), max(from, to), 1
				if lo == from {
					amount = -1
				}
				err := e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: "hot"}, func(ctx context.Context) error {
					runs.Add(1)
					return inTx(ctx, e.db, q("UPDATE account SET balance = balance + ? WHERE id = ?", amount, lo),
						q("UPDATE account SET balance = balance + ? WHERE id = ?", -amount, hi))
				})
				mu.Lock()
				switch {
				case err == nil:
					committed++
					want[from]--
					want[to]++
				case !errors.Is(err, tm.ErrConflict):
					t.Errorf("transfer %d->%d: %v", from, to, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d of %d transfers committed, %d runs", committed, workers*each, runs.Load())
	require.Positive(t, committed)
	var rows [][]any
	for id := 1; id <= accounts; id++ {
		rows = append(rows, []any{strconv.Itoa(id), strconv.Itoa(want[id])})
	}
	requireRows(t, rows, snapshot(t, e.d.DB, "account"), "balances of the committed transfers")
	var sum int
	require.NoError(t, e.d.DB.QueryRow("SELECT SUM(balance) FROM account").Scan(&sum))
	require.Equal(t, accounts*initial, sum)
}

// A statement of a branch that times out waiting for a row lock (MySQL
// 1205) matches tm.ErrConflict; WithGlobalTx runs the transaction again,
// and it commits once the row is free.
func TestLockWaitTimeoutRetried(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	ctx := context.Background()
	blocker, err := e.d.DB.BeginTx(ctx, nil) // a plain local transaction holding the row
	require.NoError(t, err)
	t.Cleanup(func() { blocker.Rollback() })
	_, err = blocker.ExecContext(ctx, "UPDATE account SET balance = balance + 1 WHERE id = 1")
	require.NoError(t, err)

	var (
		runs     atomic.Int32
		mu       sync.Mutex
		firstErr error
	)
	done := make(chan error, 1)
	go func() {
		done <- e.client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "waiter", ConflictRetries: 1000}, func(ctx context.Context) error {
			runs.Add(1)
			err := inTx(ctx, e.db, q("SET SESSION innodb_lock_wait_timeout = 1"),
				q("UPDATE account SET balance = balance + 10 WHERE id = 1"))
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
			return err
		})
	}()
	waitFor(t, "a retry", func() bool { return runs.Load() >= 2 })
	require.NoError(t, blocker.Commit())
	require.NoError(t, <-done)
	mu.Lock()
	var me *mysql.MySQLError
	require.ErrorAs(t, firstErr, &me)
	require.Equal(t, uint16(1205), me.Number)
	require.ErrorIs(t, firstErr, tm.ErrConflict)
	mu.Unlock()
	requireRows(t, [][]any{{"1", "111"}}, snapshot(t, e.d.DB, "account"), "both committed")
}

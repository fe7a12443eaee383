package datasource

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

const uqDDL = "CREATE TABLE uq (id INT PRIMARY KEY, uq INT NULL, v INT NOT NULL DEFAULT 0, UNIQUE KEY uk_uq (uq))"

func uqEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, Config{}, uqDDL,
		"INSERT INTO uq (id, uq) VALUES (1, 12), (2, 13), (3, 14), (4, 15), (5, 16)")
	return e
}

// settled checks what a finished global rollback leaves: no undo row of
// the data source, and no row lock at the coordinator (a new global
// transaction changes and commits the same rows).
func (e *env) settled(t *testing.T) {
	t.Helper()
	require.Zero(t, count(t, e.d.DB, "undo_log", ""), "undo rows left after a successful rollback")
	e.global(t, true, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE uq SET v = v + 1"))
	})
	waitFor(t, "the commit's undo rows to be deleted", func() bool {
		return count(t, e.d.DB, "undo_log", "") == 0
	})
}

// The reproduction of issue 11: a statement that shifts a unique column,
// rolled back through the coordinator. It used to fail with error 1062 on
// every retry, for ever, while the caller was told the rollback went well.
func TestGlobalRollbackUniqueShift(t *testing.T) {
	e := uqEnv(t)
	before := snapshot(t, e.d.DB, "uq")
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, e.db, q("UPDATE uq SET uq = uq + 1 WHERE uq BETWEEN 12 AND 16 ORDER BY uq DESC"))
	})
	requireRows(t, before, snapshot(t, e.d.DB, "uq"), "after rollback")
	e.settled(t)
}

// Two branches of one global transaction whose unique changes depend on each
// other: the first moves row 1 off 12, the second moves row 2 onto 12. Only
// the reverse of their order restores without a collision, which is the
// order the coordinator rolls branches back in.
func TestGlobalRollbackBranchesInReverseOrder(t *testing.T) {
	e := uqEnv(t)
	before := snapshot(t, e.d.DB, "uq")
	e.global(t, false, func(ctx context.Context) error {
		if err := inTx(ctx, e.db, q("UPDATE uq SET uq = 30 WHERE id = 1")); err != nil {
			return err
		}
		return inTx(ctx, e.db, q("UPDATE uq SET uq = 12 WHERE id = 2"))
	})
	requireRows(t, before, snapshot(t, e.d.DB, "uq"), "after rollback")
	e.settled(t)
}

// A branch whose rows cannot be restored (a row outside the global
// transaction took the unique value back) ends the global transaction
// RollbackFailed, and the caller hears it: the rollback failed and the data
// needs attention. The undo log and the data stay for a person.
func TestGlobalRollbackFailureReachesCaller(t *testing.T) {
	e := uqEnv(t)
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: t.Name()})
	require.NoError(t, err)
	require.NoError(t, inTx(ctx, e.db, q("UPDATE uq SET uq = 30 WHERE id = 1")))
	// A writer outside any global transaction, straight to the database.
	e.d.Exec(t, "INSERT INTO uq (id, uq) VALUES (9, 12)")

	err = gtx.Rollback(context.Background())
	var se *tm.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, protocol.GlobalRollbackFailed, se.Got)
	require.True(t, se.Failed())
	require.Contains(t, err.Error(), "rollback failed")
	require.Contains(t, err.Error(), "need attention")
	require.Equal(t, 1, count(t, e.d.DB, "undo_log", "log_status = 0"), "undo log not kept")
	require.Equal(t, 1, count(t, e.d.DB, "uq", "id = 1 AND uq = 30"), "a failed rollback changed data")
}

// WithGlobalTx's caller sees the same when its function failed and the
// rollback could not undo the branch.
func TestWithGlobalTxReportsFailedRollback(t *testing.T) {
	e := uqEnv(t)
	fnErr := errors.New("business failure")
	err := e.client.TM().WithGlobalTx(context.Background(), tm.TxOptions{Name: t.Name()}, func(ctx context.Context) error {
		if err := inTx(ctx, e.db, q("UPDATE uq SET uq = 30 WHERE id = 1")); err != nil {
			return err
		}
		e.d.Exec(t, "INSERT INTO uq (id, uq) VALUES (9, 12)")
		return fnErr
	})
	require.ErrorIs(t, err, fnErr)
	var se *tm.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, protocol.GlobalRollbackFailed, se.Got)
	require.True(t, strings.Contains(err.Error(), "rollback failed"), err.Error())
}

// A REPLACE that collides on both the primary key and the unique key of
// every row it writes: the rows trade unique values in cycles (a swap and a
// rotation), and one statement deletes a row whose value another takes.
func TestGlobalRollbackReplaceCycles(t *testing.T) {
	e := uqEnv(t)
	before := snapshot(t, e.d.DB, "uq")
	e.global(t, false, func(ctx context.Context) error {
		return inTx(ctx, e.db,
			q("REPLACE INTO uq (id, uq) VALUES (1, 13), (2, 12)"),
			q("REPLACE INTO uq (id, uq) VALUES (3, 15), (4, 16), (5, 14)"),
			q("REPLACE INTO uq (id, uq) VALUES (1, 16)"))
	})
	requireRows(t, before, snapshot(t, e.d.DB, "uq"), "after rollback")
	e.settled(t)
}

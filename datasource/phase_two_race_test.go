package datasource

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// Phase two racing phase one: the global transaction is committed between a
// branch's registration and its undo log insert (a TM that did not wait for
// the branch). The coordinator answers at once and the RM acknowledges the
// BranchCommit when its undo log delete is queued, so the delete may run
// before the undo log exists. The branch's data is committed all the same,
// and an undo row the batched delete missed is harmless (the log of a
// committed branch is never read) and goes with the periodic clean-up the
// coordinator asks for (UndoLogDelete, rows older than SaveDays).
func TestCommitRacingPhaseOne(t *testing.T) {
	e := newEnv(t, Config{}, accountDDL, "INSERT INTO account VALUES (1, 100)")
	ctx, gtx, err := e.client.TM().Begin(context.Background(), tm.TxOptions{Name: "race"})
	require.NoError(t, err)
	e.conn.res.afterRegister = func(xid string, branchID int64) {
		require.NoError(t, gtx.Commit(context.Background()))
		// The branch's phase two is acknowledged (its delete queued, perhaps
		// run) before its phase one is over.
		waitFor(t, "phase two of the branch", func() bool {
			st, err := gtx.Status(context.Background())
			return err == nil && (st == protocol.GlobalCommitted || st == protocol.GlobalFinished)
		})
	}
	err = inTx(ctx, e.db, q("UPDATE account SET balance = 0 WHERE id = 1"))
	e.conn.res.afterRegister = nil
	require.NoError(t, err)
	requireRows(t, [][]any{{"1", "0"}}, snapshot(t, e.d.DB, "account"), "the branch's change is committed")

	// Whatever the delete missed is removed by the clean-up, once old enough.
	e.d.Exec(t, "UPDATE undo_log SET log_created = now(6) - INTERVAL 8 DAY")
	require.NoError(t, e.conn.res.DeleteUndoLogs(context.Background(), 7))
	require.Equal(t, 0, count(t, e.d.DB, "undo_log", ""))
}

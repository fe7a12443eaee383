package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// endedStatus reports whether a global transaction in status st has
// nothing left to do: it ended, well or badly.
func endedStatus(st protocol.GlobalStatus) bool {
	switch st {
	case protocol.GlobalCommitted, protocol.GlobalRollbacked, protocol.GlobalTimeoutRollbacked, protocol.GlobalFinished:
		return true
	}
	return failedStatus(st)
}

// failedStatus reports whether st is an end that needs manual repair.
func failedStatus(st protocol.GlobalStatus) bool {
	switch st {
	case protocol.GlobalCommitFailed, protocol.GlobalRollbackFailed, protocol.GlobalTimeoutRollbackFailed,
		protocol.GlobalCommitRetryTimeout, protocol.GlobalRollbackRetryTimeout:
		return true
	}
	return false
}

// globalsByStatus counts the store's global transactions by status.
func globalsByStatus(ctx context.Context, admin *sql.DB, storeDB string) (map[protocol.GlobalStatus]int, error) {
	rows, err := admin.QueryContext(ctx, "SELECT status, COUNT(*) FROM `"+storeDB+"`.global_table GROUP BY status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[protocol.GlobalStatus]int{}
	for rows.Next() {
		var st uint8
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[protocol.GlobalStatus(st)] = n
	}
	return out, rows.Err()
}

// count runs a COUNT query.
func count(ctx context.Context, db *sql.DB, query string) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

// pollZero runs a COUNT query until it answers 0, for at most bound, and
// returns the last answer.
func pollZero(ctx context.Context, db *sql.DB, query string, bound time.Duration) (int64, error) {
	deadline := time.Now().Add(bound)
	for {
		n, err := count(ctx, db, query)
		if err != nil || n == 0 || time.Now().After(deadline) {
			return n, err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return n, err
		}
	}
}

// checkInvariants checks the bank at quiescence and fills the checks'
// fields and Violations of sum: the total is unchanged, no balance is
// negative, no TCC amount is left frozen or incoming, every account agrees
// with the ledger, the undo logs hold only "global finished" markers, the
// fences hold no Try without its second phase, the coordinator holds no
// lock, branch or unfinished transaction, and no database connection of
// the run is left open.
func checkInvariants(ctx context.Context, admin *sql.DB, names bankDBs, o *options, l *ledger, sum *summary) error {
	violate := func(format string, args ...any) {
		sum.Violations = append(sum.Violations, fmt.Sprintf(format, args...))
	}
	q := func(query string) (int64, error) { return count(ctx, admin, query) }
	for _, mode := range o.modes() {
		table := atTable
		if mode == "tcc" {
			table = tccTable
		}
		balances := map[int64]int64{}
		for _, db := range names.bank {
			cols := "id, balance"
			if mode == "tcc" {
				cols = "id, balance, frozen, incoming"
			}
			rows, err := admin.QueryContext(ctx, "SELECT "+cols+" FROM `"+db+"`."+table)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id, bal, frozen, incoming int64
				dest := []any{&id, &bal}
				if mode == "tcc" {
					dest = append(dest, &frozen, &incoming)
				}
				if err := rows.Scan(dest...); err != nil {
					rows.Close()
					return err
				}
				if frozen != 0 || incoming != 0 {
					sum.Unsettled++
				}
				balances[id] = bal
				sum.Sum += bal
				if bal < 0 {
					sum.Negatives++
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		off, lines := l.check(mode, o.Balance, balances, 5)
		sum.LedgerOff += int64(off)
		for _, line := range lines {
			violate("ledger: %s", line)
		}
	}
	if sum.Sum != sum.Initial {
		violate("sum %d, want %d", sum.Sum, sum.Initial)
	}
	if sum.Negatives > 0 {
		violate("%d negative balances", sum.Negatives)
	}
	if sum.Unsettled > 0 {
		violate("%d TCC accounts with an amount left frozen or incoming", sum.Unsettled)
	}

	for _, db := range names.bank {
		// The undo logs of committed branches are deleted in the
		// background; the nodes flushed their queues when closed.
		n, err := pollZero(ctx, admin, "SELECT COUNT(*) FROM `"+db+"`.undo_log WHERE log_status <> 1", o.Settle)
		if err != nil {
			return err
		}
		sum.Undo += n
		if n, err = q("SELECT COUNT(*) FROM `" + db + "`.undo_log WHERE log_status = 1"); err != nil {
			return err
		}
		sum.Markers += n
		if n, err = q("SELECT COUNT(*) FROM `" + db + "`.tcc_fence_log WHERE status = 1"); err != nil {
			return err
		}
		sum.FenceTried += n
	}
	if sum.Undo > 0 {
		violate("%d undo_log rows left that are not markers", sum.Undo)
	}
	if sum.FenceTried > 0 {
		violate("%d tcc_fence_log rows left in status tried", sum.FenceTried)
	}

	var err error
	if sum.Locks, err = q("SELECT COUNT(*) FROM `" + names.store + "`.lock_table"); err != nil {
		return err
	}
	if sum.Branches, err = q("SELECT COUNT(*) FROM `" + names.store + "`.branch_table"); err != nil {
		return err
	}
	byStatus, err := globalsByStatus(ctx, admin, names.store)
	if err != nil {
		return err
	}
	for st, n := range byStatus {
		switch {
		case failedStatus(st):
			violate("%d global transactions ended %s", n, st)
			sum.Globals += int64(n)
		case !endedStatus(st):
			violate("%d global transactions still %s", n, st)
			sum.Globals += int64(n)
		}
	}
	if sum.Locks > 0 {
		violate("%d global locks left", sum.Locks)
	}
	if sum.Branches > 0 {
		violate("%d branch sessions left", sum.Branches)
	}

	// Every pool of the run is closed: no connection of the server may
	// still sit in one of its databases.
	in := "'" + strings.Join(append(names.bank[:], names.store), "','") + "'"
	if sum.Conns, err = pollZero(ctx, admin, "SELECT COUNT(*) FROM information_schema.processlist WHERE db IN ("+in+")", o.Settle); err != nil {
		return err
	}
	if sum.Conns > 0 {
		violate("%d database connections left open", sum.Conns)
	}
	return nil
}

package tc

import (
	"context"
	"database/sql"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Ending many transactions at once: the async committer ends a batch of
// committed AT transactions with one store write. The method belongs to the
// store interface (store.go):
//
//	endAll(ctx, xids, from, owner, c) (ended []string, err error)
//
// applies c, a successful end, to every transaction of xids that is in
// status from and owned by owner, as transition does for one, atomically,
// and returns the xids it ended, in the order of xids (the others were
// taken over, or ended, by someone else).

func (s *memStore) endAll(_ context.Context, xids []string, from protocol.GlobalStatus, owner string, c change) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ended := make([]string, 0, len(xids))
	for _, xid := range xids {
		mg := s.globals[xid]
		if mg == nil || mg.g.status != from || mg.g.owner != owner {
			continue
		}
		s.apply(mg, c)
		ended = append(ended, xid)
	}
	return ended, nil
}

// SQL of endAll; "?s" is a list of placeholders.
const (
	sqlOwnedOf         = "SELECT xid FROM global_table WHERE status = ? AND lease_owner = ? AND xid IN (?s) FOR UPDATE"
	sqlEndGlobals      = "UPDATE global_table SET status = ?, lease_owner = ?, due_at = ?, attempts = ?, gmt_modified = NOW() WHERE xid IN (?s)"
	sqlDeleteGlobals   = "DELETE FROM global_table WHERE xid IN (?s)"
	sqlLocksOfXIDs     = "SELECT row_key FROM lock_table WHERE xid IN (?s)"
	sqlDeleteLockKeys  = "DELETE FROM lock_table WHERE row_key IN (?s)"
	sqlBranchIDsOfXIDs = "SELECT branch_id FROM branch_table WHERE xid IN (?s)"
	sqlDeleteBranchIDs = "DELETE FROM branch_table WHERE branch_id IN (?s)"
)

// endAllQueries lists endAll's statements in every batch size.
func endAllQueries() []string {
	var qs []string
	for n := 1; n <= maxBatch; n *= 2 {
		for _, q := range []string{sqlOwnedOf, sqlEndGlobals, sqlDeleteGlobals, sqlLocksOfXIDs, sqlDeleteLockKeys, sqlBranchIDsOfXIDs, sqlDeleteBranchIDs} {
			qs = append(qs, batchSQL(q, "?", ", ", n))
		}
	}
	return qs
}

// endAll locks the global rows of xids that are still from and owner's, then
// ends them, and deletes their row locks and branches by primary key, in
// one database transaction: a handful of statements for the whole batch
// instead of as many per transaction. The lock rows deleted by key are those
// of transactions whose global row this transaction holds, which nobody
// else can take or free meanwhile.
func (s *mysqlStore) endAll(ctx context.Context, xids []string, from protocol.GlobalStatus, owner string, c change) ([]string, error) {
	var ended []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ended = ended[:0]
		owned := make(map[string]bool, len(xids))
		args := make([]any, 0, 2+min(len(xids), maxBatch))
		for ch := range batches(len(xids)) {
			args = append(args[:0], from, owner)
			for _, x := range xids[ch.lo:ch.hi] {
				args = append(args, x)
			}
			vals, err := s.column(ctx, tx, batchSQL(sqlOwnedOf, "?", ", ", ch.n()), args...)
			if err != nil {
				return err
			}
			for _, v := range vals {
				owned[asString(v)] = true
			}
		}
		for _, x := range xids { // in the caller's order
			if owned[x] {
				ended = append(ended, x)
			}
		}
		if len(ended) == 0 {
			return errNoChange
		}
		keys := make([]any, len(ended))
		for i, x := range ended {
			keys[i] = x
		}
		for ch := range batches(len(keys)) {
			var err error
			if c.dueAt == 0 {
				_, err = s.exec(ctx, tx, batchSQL(sqlDeleteGlobals, "?", ", ", ch.n()), keys[ch.lo:ch.hi]...)
			} else {
				args = append(args[:0], c.status, c.owner, c.dueAt, c.attempts)
				_, err = s.exec(ctx, tx, batchSQL(sqlEndGlobals, "?", ", ", ch.n()), append(args, keys[ch.lo:ch.hi]...)...)
			}
			if err != nil {
				return err
			}
		}
		if err := s.deleteByKey(ctx, tx, sqlLocksOfXIDs, sqlDeleteLockKeys, keys); err != nil {
			return err
		}
		return s.deleteByKey(ctx, tx, sqlBranchIDsOfXIDs, sqlDeleteBranchIDs, keys)
	})
	if err == errNoChange {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// deleteByKey reads the primary keys query returns for the xids, and
// deletes those rows with del, chunk by chunk.
func (s *mysqlStore) deleteByKey(ctx context.Context, tx *sql.Tx, query, del string, xids []any) error {
	var pks []any
	for ch := range batches(len(xids)) {
		vals, err := s.column(ctx, tx, batchSQL(query, "?", ", ", ch.n()), xids[ch.lo:ch.hi]...)
		if err != nil {
			return err
		}
		pks = append(pks, vals...)
	}
	for ch := range batches(len(pks)) {
		if _, err := s.exec(ctx, tx, batchSQL(del, "?", ", ", ch.n()), pks[ch.lo:ch.hi]...); err != nil {
			return err
		}
	}
	return nil
}

// asString returns a driver value read from a VARCHAR column as a string.
func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

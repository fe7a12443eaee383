package tc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/atcc-go/atcc/internal/mysqlerr"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// mysqlStore keeps transactions in MySQL/MariaDB tables (DDL), so a
// restart loses nothing and several coordinators can share them.
//
// Every decision is a database transaction that locks the global row:
// BranchRegister by counting itself in it (an update that only matches
// status Begin), GlobalCommit / GlobalRollback by reading it FOR UPDATE, so
// no branch can join a transaction after its end was decided, and a commit
// and a timeout cannot both win. Row locks
// are rows of lock_table keyed by the row key, so a conflict is decided by
// the primary key, across every coordinator. Phase-two progress is a
// compare-and-set on (status, lease_owner).
//
// Database transactions are kept short and never span a call to a client.
// Deletes go by primary key (after a plain read of the keys), so they take
// no gap locks that would block other transactions' inserts. Statements are
// prepared once (database/sql re-prepares them per connection).
type mysqlStore struct {
	db    *sql.DB
	ids   blockIDs
	stmts stmtCache
	// audit is set by init when branch_table has the attempts and
	// last_error columns (hasBranchAudit); without them, branchFailed
	// records nothing.
	audit bool
}

// idBlock is how many ids a coordinator takes from tc_sequence at once.
const idBlock = 10_000

// maxBatch is the largest IN list or multi-row INSERT the store sends; a
// longer one is split into powers of two, so a few prepared statements
// serve every size.
const maxBatch = 256

func newMySQLStore(db *sql.DB) *mysqlStore {
	s := &mysqlStore{db: db, stmts: stmtCache{db: db, m: make(map[string]*sql.Stmt)}}
	s.ids.s = s
	return s
}

// init checks the schema and creates the id counter; Start calls it.
func (s *mysqlStore) init(ctx context.Context, now time.Time) error {
	if err := checkSchema(ctx, s.db); err != nil {
		return err
	}
	audit, err := hasBranchAudit(ctx, s.db)
	if err != nil {
		return err
	}
	s.audit = audit
	queries := allQueries()
	if audit {
		queries = append(queries, sqlBranchesAudit, sqlBranchFailed, sqlBranchFailedStatus)
	}
	if err := s.stmts.prepare(ctx, queries); err != nil {
		return fmt.Errorf("atcc/tc: prepare statements: %w", err)
	}
	// The counter starts at the current time in the layout of timeIDs, so
	// that ids stay above those of any earlier incarnation of the tables.
	_, err = s.db.ExecContext(ctx, "INSERT IGNORE INTO tc_sequence (name, value) VALUES ('id', ?)", now.UnixMilli()<<22)
	if err != nil {
		return fmt.Errorf("atcc/tc: create id counter: %w", err)
	}
	return nil
}

const globalCols = "xid, transaction_id, status, application_id, transaction_service_group, transaction_name, timeout, begin_time, application_data, due_at, lease_owner, attempts"

const branchCols = "branch_id, xid, transaction_id, resource_group_id, resource_id, branch_type, status, client_id, application_data"

// SQL. The "?s" in a batch statement stands for a list of placeholders.
const (
	sqlInsertGlobal = "INSERT INTO global_table (" + globalCols + ", gmt_create, gmt_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(), NOW())"
	sqlGlobal       = "SELECT " + globalCols + " FROM global_table WHERE xid = ?"
	sqlGlobalX      = sqlGlobal + " FOR UPDATE"
	sqlJoin         = "UPDATE global_table SET branch_count = branch_count + 1 WHERE xid = ? AND status = 1"
	sqlEndEmpty     = "UPDATE global_table SET status = ?, lease_owner = '', due_at = ?, attempts = 0, gmt_modified = NOW() WHERE xid = ? AND status = 1 AND branch_count = 0 AND due_at > ? AND (? = '' OR application_id = ?)"
	sqlDropEmpty    = "DELETE FROM global_table WHERE xid = ? AND status = 1 AND branch_count = 0 AND due_at > ? AND (? = '' OR application_id = ?)"
	sqlGlobalStatus = "SELECT status FROM global_table WHERE xid = ?"
	sqlTransition   = "UPDATE global_table SET status = ?, lease_owner = ?, due_at = ?, attempts = ?, gmt_modified = NOW() WHERE xid = ? AND status = ? AND lease_owner = ?"
	sqlSetGlobal    = "UPDATE global_table SET status = ?, lease_owner = ?, due_at = ?, attempts = ?, gmt_modified = NOW() WHERE xid = ?"
	sqlDeleteGlobal = "DELETE FROM global_table WHERE xid = ? AND status = ? AND lease_owner = ?"
	sqlDeleteGlobX  = "DELETE FROM global_table WHERE xid = ?"
	sqlDue          = "SELECT " + globalCols + " FROM global_table WHERE status IN (1, 2, 3, 4, 5, 6, 7, 8) AND due_at <= ? ORDER BY due_at LIMIT ?"
	sqlClaim        = "UPDATE global_table SET status = ?, lease_owner = ?, due_at = ?, gmt_modified = NOW() WHERE xid = ? AND status = ? AND due_at = ?"
	sqlMakeDue      = "UPDATE global_table SET due_at = ? WHERE xid = ? AND lease_owner = '' AND status IN (2, 3, 4, 5, 6, 7, 8) AND due_at > ?"
	sqlOwned        = "SELECT xid FROM global_table WHERE lease_owner = ?"
	sqlRelease      = "UPDATE global_table SET lease_owner = '', due_at = ? WHERE xid = ? AND lease_owner = ?"
	sqlEnded        = "SELECT xid FROM global_table WHERE status IN (9, 11, 13) AND due_at <= ? LIMIT ?"
	sqlPurge        = "DELETE FROM global_table WHERE status IN (9, 11, 13) AND due_at <= ? AND xid IN (?s)"

	sqlBranches      = "SELECT " + branchCols + " FROM branch_table WHERE xid = ? ORDER BY gmt_create, branch_id"
	sqlBranchesAudit = "SELECT " + branchCols + ", attempts, last_error FROM branch_table WHERE xid = ? ORDER BY gmt_create, branch_id"
	sqlBranchIDs     = "SELECT branch_id FROM branch_table WHERE xid = ?"
	sqlInsertBranch  = "INSERT INTO branch_table (" + branchCols + ", gmt_create, gmt_modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NOW(6), NOW(6))"
	sqlReport        = "UPDATE branch_table SET status = ?, gmt_modified = NOW(6) WHERE branch_id = ? AND xid = ?"
	sqlReportData    = "UPDATE branch_table SET status = ?, application_data = ?, gmt_modified = NOW(6) WHERE branch_id = ? AND xid = ?"
	sqlBranchExists  = "SELECT 1 FROM branch_table WHERE branch_id = ? AND xid = ?"
	sqlDeleteBranch  = "DELETE FROM branch_table WHERE branch_id = ? AND xid = ?"
	sqlDeleteBranchs = "DELETE FROM branch_table WHERE xid = ? AND branch_id IN (?s)"

	sqlInsertLocks   = "INSERT IGNORE INTO lock_table (row_key, xid, transaction_id, branch_id, resource_id, table_name, pk, status, gmt_create, gmt_modified) VALUES ?s"
	sqlLockRow       = "(?, ?, ?, ?, ?, ?, ?, 0, NOW(), NOW())"
	sqlLockOwnersS   = "SELECT row_key, xid FROM lock_table WHERE row_key IN (?s) LOCK IN SHARE MODE"
	sqlLockOwners    = "SELECT row_key, xid FROM lock_table WHERE row_key IN (?s)"
	sqlLocksOfXID    = "SELECT row_key FROM lock_table WHERE xid = ?"
	sqlLocksOfBranch = "SELECT row_key FROM lock_table WHERE branch_id = ?"
	sqlDeleteLocks   = "DELETE FROM lock_table WHERE xid = ? AND row_key IN (?s)"

	sqlNextIDs = "UPDATE tc_sequence SET value = LAST_INSERT_ID(value + ?) WHERE name = 'id'"
)

func (s *mysqlStore) nextID(ctx context.Context) (int64, error) { return s.ids.next(ctx) }

func (s *mysqlStore) insertGlobal(ctx context.Context, g globalTx) error {
	_, err := s.exec(ctx, nil, sqlInsertGlobal, g.xid, g.txID, g.status, g.appID, g.group, g.name,
		g.timeoutMs, g.beginTime, g.appData, g.dueAt, g.owner, g.attempts)
	return err
}

func (s *mysqlStore) global(ctx context.Context, xid string) (globalTx, error) {
	return s.readGlobal(ctx, nil, sqlGlobal, xid)
}

func (s *mysqlStore) readGlobal(ctx context.Context, tx *sql.Tx, query, xid string) (globalTx, error) {
	stmt, err := s.stmt(ctx, tx, query)
	if err != nil {
		return globalTx{}, err
	}
	var g globalTx
	var appID, group, name, appData sql.NullString
	var timeout sql.NullInt32
	var txID, begin sql.NullInt64
	err = stmt.QueryRowContext(ctx, xid).Scan(&g.xid, &txID, &g.status, &appID, &group, &name, &timeout, &begin, &appData, &g.dueAt, &g.owner, &g.attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return globalTx{}, errNoGlobal
	}
	g.txID, g.appID, g.group, g.name, g.timeoutMs, g.beginTime, g.appData = txID.Int64, appID.String, group.String, name.String, timeout.Int32, begin.Int64, appData.String
	return g, err
}

func (s *mysqlStore) branches(ctx context.Context, xid string) ([]branchTx, error) {
	return s.readBranches(ctx, nil, xid)
}

func (s *mysqlStore) readBranches(ctx context.Context, tx *sql.Tx, xid string) ([]branchTx, error) {
	query := sqlBranches
	if s.audit {
		query = sqlBranchesAudit
	}
	stmt, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, xid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var bs []branchTx
	for rows.Next() {
		var b branchTx
		var txID sql.NullInt64
		var group, resource, typ, client, appData sql.NullString
		var status sql.NullInt16
		dest := []any{&b.branchID, &b.xid, &txID, &group, &resource, &typ, &status, &client, &appData}
		if s.audit {
			dest = append(dest, &b.attempts, &b.lastError)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		bt, ok := parseBranchType(typ.String)
		if !ok {
			return nil, fmt.Errorf("atcc/tc: branch %d has unknown branch_type %q", b.branchID, typ.String)
		}
		b.txID, b.resourceGroup, b.resourceID, b.branchType = txID.Int64, group.String, resource.String, bt
		b.status, b.clientID, b.appData = protocol.BranchStatus(status.Int16), client.String, appData.String
		bs = append(bs, b)
	}
	return bs, rows.Err()
}

func parseBranchType(s string) (protocol.BranchType, bool) {
	for _, t := range [...]protocol.BranchType{protocol.BranchAT, protocol.BranchTCC, protocol.BranchSAGA, protocol.BranchXA} {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

func (s *mysqlStore) registerBranch(ctx context.Context, b branchTx, locks []rowLock) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Counting the branch locks the global row if, and only if, it is
		// in Begin; an end waits for this transaction to finish.
		res, err := s.exec(ctx, tx, sqlJoin, b.xid)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			var status protocol.GlobalStatus
			if err := s.queryRow(ctx, tx, sqlGlobalStatus, []any{b.xid}, &status); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return errNoGlobal
				}
				return err
			}
			return &notActiveError{status: status}
		}
		if len(locks) > 0 {
			if err := s.takeLocks(ctx, tx, &b, locks); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, sqlInsertBranch, b.branchID, b.xid, b.txID, b.resourceGroup, b.resourceID,
			b.branchType.String(), b.status, b.clientID, b.appData)
		return err
	})
}

// takeLocks inserts the lock rows that do not exist yet (in key order, so
// that two registrations cannot deadlock on each other's rows), then, if
// some existed, reads their holders under a shared lock, which keeps them
// from being released or taken before this transaction ends.
func (s *mysqlStore) takeLocks(ctx context.Context, tx *sql.Tx, b *branchTx, locks []rowLock) error {
	inserted := 0
	for chunk := range batches(len(locks)) {
		args := make([]any, 0, 7*chunk.n())
		for _, l := range locks[chunk.lo:chunk.hi] {
			args = append(args, l.key, b.xid, b.txID, b.branchID, l.resourceID, l.table, l.pk)
		}
		res, err := s.exec(ctx, tx, batchSQL(sqlInsertLocks, sqlLockRow, ", ", chunk.n()), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		inserted += int(n)
	}
	if inserted == len(locks) {
		return nil
	}
	holders, err := s.lockHolders(ctx, tx, sqlLockOwnersS, locks)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if h, ok := holders[l.key]; ok && h != b.xid {
			e := &lockConflictError{rowKey: l.key, holderXID: h}
			var st protocol.GlobalStatus
			if err := s.queryRow(ctx, tx, sqlGlobalStatus, []any{h}, &st); err == nil {
				e.holderRollingBack = isRollbackPhase(st)
			}
			return e
		}
	}
	return nil
}

// lockHolders maps the row keys of locks that are held to their holders.
func (s *mysqlStore) lockHolders(ctx context.Context, tx *sql.Tx, query string, locks []rowLock) (map[string]string, error) {
	holders := make(map[string]string)
	for chunk := range batches(len(locks)) {
		args := make([]any, 0, chunk.n())
		for _, l := range locks[chunk.lo:chunk.hi] {
			args = append(args, []byte(l.key))
		}
		stmt, err := s.stmt(ctx, tx, batchSQL(query, "?", ", ", chunk.n()))
		if err != nil {
			return nil, err
		}
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var key []byte
			var xid sql.NullString
			if err := rows.Scan(&key, &xid); err != nil {
				rows.Close()
				return nil, err
			}
			holders[string(key)] = xid.String
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return holders, nil
}

func (s *mysqlStore) reportBranch(ctx context.Context, xid string, branchID int64, status protocol.BranchStatus, appData string) error {
	var st protocol.GlobalStatus
	if err := s.queryRow(ctx, nil, sqlGlobalStatus, []any{xid}, &st); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errNoGlobal
		}
		return err
	}
	var res sql.Result
	var err error
	if appData != "" {
		res, err = s.exec(ctx, nil, sqlReportData, status, appData, branchID, xid)
	} else {
		res, err = s.exec(ctx, nil, sqlReport, status, branchID, xid)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	// 0 rows changed: no such branch, or nothing to change.
	var one int
	if err := s.queryRow(ctx, nil, sqlBranchExists, []any{branchID, xid}, &one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errNoBranch
		}
		return err
	}
	return nil
}

func (s *mysqlStore) lockable(ctx context.Context, xid string, locks []rowLock) (bool, error) {
	if len(locks) == 0 {
		return true, nil
	}
	holders, err := s.lockHolders(ctx, nil, sqlLockOwners, locks)
	if err != nil {
		return false, err
	}
	for _, h := range holders {
		if h != xid {
			return false, nil
		}
	}
	return true, nil
}

func (s *mysqlStore) endGlobal(ctx context.Context, xid string, r endRule) (globalTx, endVerdict, error) {
	var g globalTx
	var v endVerdict
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if g, err = s.readGlobal(ctx, tx, sqlGlobalX, xid); err != nil {
			return err
		}
		// Registrations hold the global row until they commit, so with it
		// held every branch is visible, and no other can join. (This read
		// creates the transaction's snapshot; the locking read before it
		// does not.)
		bs := branchSummary{onlyAT: true}
		if g.status == protocol.GlobalBegin {
			branches, err := s.readBranches(ctx, tx, xid)
			if err != nil {
				return err
			}
			for i := range branches {
				bs.add(&branches[i])
			}
		}
		var d decision
		if d, v = r.decide(&g, bs); !d.apply {
			return errNoChange
		}
		if d.releaseLocks {
			if err := s.deleteLocks(ctx, tx, sqlLocksOfXID, xid, xid); err != nil {
				return err
			}
		}
		if err := s.applyChange(ctx, tx, xid, d.change); err != nil {
			return err
		}
		g.status, g.owner, g.dueAt, g.attempts = d.status, d.owner, d.dueAt, d.attempts
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return g, v, err
}

// errNoChange makes inTx roll back without an error.
var errNoChange = errors.New("atcc/tc: no change")

// applyChange writes c to a global row this transaction holds; entering a
// successful end also deletes the branches and row locks left.
func (s *mysqlStore) applyChange(ctx context.Context, tx *sql.Tx, xid string, c change) error {
	if isSuccessEnd(c.status) {
		if err := s.deleteLocks(ctx, tx, sqlLocksOfXID, xid, xid); err != nil {
			return err
		}
		if err := s.deleteBranches(ctx, tx, xid); err != nil {
			return err
		}
		if c.dueAt == 0 {
			_, err := s.exec(ctx, tx, sqlDeleteGlobX, xid)
			return err
		}
	}
	_, err := s.exec(ctx, tx, sqlSetGlobal, c.status, c.owner, c.dueAt, c.attempts, xid)
	return err
}

// deleteLocks deletes, by primary key, the lock rows of xid that query
// (with argument arg) returns.
func (s *mysqlStore) deleteLocks(ctx context.Context, tx *sql.Tx, query string, arg any, xid string) error {
	keys, err := s.column(ctx, tx, query, arg)
	if err != nil {
		return err
	}
	for chunk := range batches(len(keys)) {
		args := append([]any{xid}, keys[chunk.lo:chunk.hi]...)
		if _, err := s.exec(ctx, tx, batchSQL(sqlDeleteLocks, "?", ", ", chunk.n()), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *mysqlStore) deleteBranches(ctx context.Context, tx *sql.Tx, xid string) error {
	ids, err := s.column(ctx, tx, sqlBranchIDs, xid)
	if err != nil {
		return err
	}
	for chunk := range batches(len(ids)) {
		args := append([]any{xid}, ids[chunk.lo:chunk.hi]...)
		if _, err := s.exec(ctx, tx, batchSQL(sqlDeleteBranchs, "?", ", ", chunk.n()), args...); err != nil {
			return err
		}
	}
	return nil
}

// column returns the first column of query's rows, as driver values.
func (s *mysqlStore) column(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]any, error) {
	stmt, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []any
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *mysqlStore) endEmpty(ctx context.Context, xid string, now int64, c change) (bool, error) {
	var res sql.Result
	var err error
	if c.dueAt == 0 {
		res, err = s.exec(ctx, nil, sqlDropEmpty, xid, now, c.ifApp, c.ifApp)
	} else {
		res, err = s.exec(ctx, nil, sqlEndEmpty, c.status, c.dueAt, xid, now, c.ifApp, c.ifApp)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (s *mysqlStore) transition(ctx context.Context, xid string, from protocol.GlobalStatus, owner string, c change) (bool, error) {
	if !isSuccessEnd(c.status) {
		res, err := s.exec(ctx, nil, sqlTransition, c.status, c.owner, c.dueAt, c.attempts, xid, from, owner)
		if err != nil {
			return false, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return n == 1, err
		}
		// 0 rows changed: either the row does not match, or it already
		// holds exactly c (MySQL counts changed rows, not matched ones).
		g, err := s.global(ctx, xid)
		if errors.Is(err, errNoGlobal) {
			return false, nil
		}
		return err == nil && g.status == c.status && g.owner == c.owner && g.dueAt == c.dueAt && g.attempts == c.attempts, err
	}
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if c.dueAt == 0 {
			res, err = s.exec(ctx, tx, sqlDeleteGlobal, xid, from, owner)
		} else {
			res, err = s.exec(ctx, tx, sqlTransition, c.status, c.owner, c.dueAt, c.attempts, xid, from, owner)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return cmp(err, errNoChange)
		}
		ok = true
		if err := s.deleteLocks(ctx, tx, sqlLocksOfXID, xid, xid); err != nil {
			return err
		}
		return s.deleteBranches(ctx, tx, xid)
	})
	if errors.Is(err, errNoChange) {
		return false, nil
	}
	return ok && err == nil, err
}

// cmp returns err if it is not nil, else alt.
func cmp(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

func (s *mysqlStore) removeBranch(ctx context.Context, xid string, branchID int64, locked bool) error {
	if !locked {
		_, err := s.exec(ctx, nil, sqlDeleteBranch, branchID, xid)
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.deleteLocks(ctx, tx, sqlLocksOfBranch, branchID, xid); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, sqlDeleteBranch, branchID, xid)
		return err
	})
}

func (s *mysqlStore) claimDue(ctx context.Context, now int64, owner string, leaseUntil int64, limit int) ([]globalTx, error) {
	stmt, err := s.stmt(ctx, nil, sqlDue)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, now, limit)
	if err != nil {
		return nil, err
	}
	var due []globalTx
	for rows.Next() {
		var g globalTx
		var appID, group, name, appData sql.NullString
		var timeout sql.NullInt32
		var txID, begin sql.NullInt64
		if err := rows.Scan(&g.xid, &txID, &g.status, &appID, &group, &name, &timeout, &begin, &appData, &g.dueAt, &g.owner, &g.attempts); err != nil {
			rows.Close()
			return nil, err
		}
		g.txID, g.appID, g.group, g.name, g.timeoutMs, g.beginTime, g.appData = txID.Int64, appID.String, group.String, name.String, timeout.Int32, begin.Int64, appData.String
		due = append(due, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	claimed := due[:0]
	for _, g := range due {
		st := g.status
		if st == protocol.GlobalBegin {
			st = protocol.GlobalTimeoutRollbacking
		}
		res, err := s.exec(ctx, nil, sqlClaim, st, owner, leaseUntil, g.xid, g.status, g.dueAt)
		if err != nil {
			return claimed, err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			continue // claimed or changed by someone else meanwhile
		}
		g.status, g.owner, g.dueAt = st, owner, leaseUntil
		claimed = append(claimed, g)
	}
	return claimed, nil
}

func (s *mysqlStore) makeDue(ctx context.Context, xids []string, now int64) error {
	for _, xid := range xids {
		if _, err := s.exec(ctx, nil, sqlMakeDue, now, xid, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *mysqlStore) releaseOwner(ctx context.Context, owner string, now int64) error {
	xids, err := s.column(ctx, nil, sqlOwned, owner)
	if err != nil {
		return err
	}
	for _, xid := range xids {
		if _, err := s.exec(ctx, nil, sqlRelease, now, xid, owner); err != nil {
			return err
		}
	}
	return nil
}

func (s *mysqlStore) purge(ctx context.Context, now int64, limit int) (int, error) {
	xids, err := s.column(ctx, nil, sqlEnded, now, limit)
	if err != nil || len(xids) == 0 {
		return 0, err
	}
	n := 0
	for chunk := range batches(len(xids)) {
		args := append([]any{now}, xids[chunk.lo:chunk.hi]...)
		res, err := s.exec(ctx, nil, batchSQL(sqlPurge, "?", ", ", chunk.n()), args...)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	// Report a full batch when the query found one, so the caller goes on.
	if len(xids) == limit {
		return limit, nil
	}
	return n, nil
}

func (s *mysqlStore) close() error { return s.stmts.close() }

// inTx runs fn in a database transaction and commits it, or rolls it back
// when fn fails. A deadlock or lock-wait timeout (MySQL errors 1213 and
// 1205) runs fn again, up to three times in all.
func (s *mysqlStore) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
		if err == nil || attempt == 3 || !isLockContention(err) {
			return err
		}
	}
}

func isLockContention(err error) bool {
	return mysqlerr.IsLockConflict(err)
}

func (s *mysqlStore) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	stmt, err := s.stmts.get(ctx, query)
	if err != nil || tx == nil {
		return stmt, err
	}
	return tx.StmtContext(ctx, stmt), nil
}

func (s *mysqlStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	stmt, err := s.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

func (s *mysqlStore) queryRow(ctx context.Context, tx *sql.Tx, query string, args []any, dest ...any) error {
	stmt, err := s.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	return stmt.QueryRowContext(ctx, args...).Scan(dest...)
}

// allQueries lists every statement the store runs, batch statements in
// every size batches produces.
func allQueries() []string {
	qs := []string{
		sqlInsertGlobal, sqlGlobal, sqlGlobalX, sqlJoin, sqlEndEmpty, sqlDropEmpty, sqlGlobalStatus, sqlTransition, sqlSetGlobal,
		sqlDeleteGlobal, sqlDeleteGlobX, sqlDue, sqlClaim, sqlMakeDue, sqlOwned, sqlRelease, sqlEnded,
		sqlBranches, sqlBranchIDs, sqlInsertBranch, sqlReport, sqlReportData, sqlBranchExists, sqlDeleteBranch,
		sqlLocksOfXID, sqlLocksOfBranch, sqlNextIDs,
	}
	for n := 1; n <= maxBatch; n *= 2 {
		qs = append(qs,
			batchSQL(sqlPurge, "?", ", ", n),
			batchSQL(sqlDeleteBranchs, "?", ", ", n),
			batchSQL(sqlInsertLocks, sqlLockRow, ", ", n),
			batchSQL(sqlLockOwnersS, "?", ", ", n),
			batchSQL(sqlLockOwners, "?", ", ", n),
			batchSQL(sqlDeleteLocks, "?", ", ", n))
	}
	return append(qs, endAllQueries()...)
}

// stmtCache holds the store's prepared statements. They are all prepared
// by init, outside any database transaction: preparing one inside a
// transaction would need a second connection from the pool, and with the
// pool exhausted by transactions doing the same, every one of them would
// wait forever.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) prepare(ctx context.Context, queries []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range queries {
		if c.m[q] != nil {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.m[q] = st
	}
	return nil
}

func (c *stmtCache) get(_ context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if st := c.m[query]; st != nil {
		return st, nil
	}
	if c.m == nil {
		return nil, errors.New("atcc/tc: mysql store closed")
	}
	return nil, fmt.Errorf("atcc/tc: statement not prepared: %s", query) // a bug: allQueries misses it
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// chunk is a range [lo, hi) of a batch.
type chunk struct{ lo, hi int }

func (c chunk) n() int { return c.hi - c.lo }

// batches cuts n items into chunks whose sizes are powers of two of at most
// maxBatch, largest first.
func batches(n int) func(func(chunk) bool) {
	return func(yield func(chunk) bool) {
		lo := 0
		for lo < n {
			size := min(maxBatch, 1<<(bits.Len(uint(n-lo))-1))
			if !yield(chunk{lo, lo + size}) {
				return
			}
			lo += size
		}
	}
}

// batchSQL replaces the "?s" in query by n copies of item joined by sep.
func batchSQL(query, item, sep string, n int) string {
	return strings.Replace(query, "?s", strings.Repeat(item+sep, n-1)+item, 1)
}

// blockIDs hands out ids from blocks of idBlock taken from tc_sequence, so
// that ids are unique across restarts and across coordinators.
type blockIDs struct {
	s      *mysqlStore
	mu     sync.Mutex
	lo, hi int64 // the current block is [lo, hi)
}

func (b *blockIDs) next(ctx context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lo >= b.hi {
		res, err := b.s.exec(ctx, nil, sqlNextIDs, idBlock)
		if err != nil {
			return 0, fmt.Errorf("atcc/tc: allocate ids: %w", err)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return 0, fmt.Errorf("atcc/tc: allocate ids: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, errors.New("atcc/tc: allocate ids: tc_sequence has no 'id' row")
		}
		b.lo, b.hi = last-idBlock+1, last+1
	}
	id := b.lo
	b.lo++
	return id, nil
}

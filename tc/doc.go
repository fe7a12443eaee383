// Package tc is a Seata transaction coordinator (TC): the server that Java
// Seata clients and atcc clients talk to over the Seata RPC protocol v1. It
// begins global transactions, registers their branches, keeps global row
// locks, and drives phase two (commit or rollback of every branch), with
// retries and timeouts.
//
// # Running one
//
// New builds a Server from a Config (no I/O), Start opens the store and
// listens, Shutdown or Close stop it. To embed one in a test:
//
//	srv, err := tc.New(tc.Config{})
//	...
//	err = srv.Start(ctx, "127.0.0.1:0")
//	addr := srv.Addr().String() // give this to the clients
//	defer srv.Close()
//
// The command atcc-tc (cmd/atcc-tc) runs one as a process.
//
// # Stores
//
// With Config.DB nil, transactions live in memory: fast, and lost with the
// process. With a *sql.DB (MySQL 5.7+/8.x or MariaDB), they live in Seata's
// global_table, branch_table and lock_table (see DDL and
// CreateTables): a restart loses nothing, and several coordinators can share
// the database, each serving clients, with lock conflicts and every status
// change decided in the database (conditional updates on the status and on
// the coordinator that drives phase two, which holds it under a lease).
//
// # Semantics
//
// The coordinator answers as the Java TC (2.x) does, including for bad
// input: an unknown XID gets status Finished from GlobalCommit, GlobalRollback
// and GlobalStatus, and GlobalTransactionNotExist from BranchRegister and
// BranchReport; a branch that registers after its transaction's end was
// decided gets GlobalTransactionNotActive. Differences:
//
//   - Ended transactions are remembered for Config.EndedRetention (10
//     minutes), so a TM that retries a commit whose answer it lost learns
//     the real outcome instead of Finished.
//   - A GlobalCommit that arrives after the transaction's timeout rolls it
//     back (and answers a TimeoutRollback status) instead of committing.
//   - A commit is asynchronous, as in Java, when every branch is AT: the
//     row locks are released and Committed answered (never AsyncCommitting,
//     which GlobalStatus reports meanwhile), then BranchCommit is sent in
//     the background, in batches: one committer takes the transactions of
//     a short period, calls their branches ordered by resource, and ends
//     those that committed with one store write. The commits for an atcc
//     RM, which announces at registration that it takes them merged, go
//     out as one MergedWarpMessage per RM session (Java and seata-go RMs
//     get one BranchCommit per branch, as from Java). An RM acknowledges an AT
//     BranchCommit once its undo_log delete is queued; rows a crashed RM
//     did not delete are harmless and go with the periodic UndoLogDelete.
//     With any other branch, the branches are committed before the answer. Rollback always runs before the answer,
//     branch by branch in reverse registration order, stopping at the first
//     failure.
//   - Failed phase two is retried with a backoff that doubles from
//     RetryPeriod to MaxRetryBackoff, and at once when an RM session for the
//     branch's resource registers. TimeoutRollbackRetrying is used (Java
//     never reaches it).
//   - A transaction that ends RollbackFailed (an RM answered
//     PhaseTwo_RollbackFailed_Unretryable) or RollbackRetryTimeout keeps the
//     row locks of the branches not rolled back, like Java, and is logged
//     at Error as needing manual action; so is CommitFailed. Such
//     transactions stay in the store until an operator retries them
//     (Server.RetryNow, once the data is repaired) or resolves them
//     (Server.Resolve); package tc/admin serves both over HTTP.
//   - SAGA branches are refused (BranchRegisterFailed); XA branches are
//     driven like TCC ones. GlobalReport changes nothing and answers the
//     transaction's status, as Java does for every mode but SAGA.
//   - LockKeyConflictFailFast is answered, as by Java 1.5+, when the lock
//     holder is rolling back and the RM holds local locks
//     ({"autoCommit":false}).
//   - Lock keys that Java would silently truncate (a segment without ':'
//     or without values) are refused with BranchRegisterFailed.
//
// Phase two reaches each branch at least once: after a timeout, a lost
// connection or a coordinator restart, the same BranchCommit or
// BranchRollback may be sent again, so RMs must be idempotent (Seata's undo
// log and TCC fence are). A branch never receives both.
package tc

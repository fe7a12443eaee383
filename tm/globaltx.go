package tm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Role says what a GlobalTx may do.
type Role uint8

// Roles.
const (
	// RoleNone: no global transaction (NotSupported, Supports or Never
	// without an XID). Commit and Rollback do nothing.
	RoleNone Role = iota
	// RoleLauncher: this GlobalTx began the global transaction; its Commit
	// and Rollback end it at the coordinator.
	RoleLauncher
	// RoleParticipant: the global transaction was begun upstream (its XID
	// came with the context); Commit and Rollback do not end it.
	RoleParticipant
)

// String returns "None", "Launcher" or "Participant".
func (r Role) String() string {
	switch r {
	case RoleNone:
		return "None"
	case RoleLauncher:
		return "Launcher"
	case RoleParticipant:
		return "Participant"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// txState is where a GlobalTx is in its life.
type txState uint8

const (
	txActive     txState = iota
	txCommitted          // Commit was called (whatever it returned)
	txRolledBack         // Rollback was called (whatever it returned)
)

// GlobalTx is the handle of a global transaction returned by Begin. It is
// safe for concurrent use. Like database/sql's Tx it ends once: after
// Commit or Rollback, further calls return ErrTxDone, except Rollback
// after Commit, which does nothing and returns nil, so that
//
//	ctx, tx, err := m.Begin(ctx, tm.TxOptions{Name: "purchase"})
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback(ctx)
//	... work with ctx ...
//	return tx.Commit(ctx)
//
// is the idiom.
type GlobalTx struct {
	m       *Manager
	xid     string // immutable: the context of begin points at it
	role    Role
	timeout time.Duration // launcher only: the global transaction timeout
	obs     *txObs        // launcher with an Observer only
	msgs    *launcherMsgs // launcher only

	mu    sync.Mutex
	state txState
}

// XID returns the id of the global transaction, or "" for RoleNone.
func (tx *GlobalTx) XID() string { return tx.xid }

// Role returns the role of this handle.
func (tx *GlobalTx) Role() Role { return tx.role }

// end moves an active transaction to state and reports whether it did.
// When the transaction has already ended it returns the error the caller
// must return: ErrTxDone, or nil for Rollback after Commit.
func (tx *GlobalTx) end(to txState) (bool, error) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	switch {
	case tx.state == txActive:
		tx.state = to
		return true, nil
	case tx.state == txCommitted && to == txRolledBack:
		return false, nil
	}
	return false, ErrTxDone
}

// Commit commits the global transaction. For RoleLauncher it sends
// GlobalCommit, resending it with backoff (Config.CommitRetries) after
// failures that leave the outcome open: the request was not sent, or was
// sent and the connection broke or no answer came in time, or the
// coordinator reported a transient failure of its own (IO, FailedStore,
// FailedWriteSession, FailedLockGlobalTransaction, NotRaftLeader). Commit
// is idempotent for an XID at the coordinator, so resending is safe. It
// stops when ctx ends. It
// returns nil when the coordinator reports Committed, AsyncCommitting
// (phase two runs in the background, as for AT-only transactions),
// Committing or CommitRetrying (the coordinator has taken the decision
// and keeps driving the branches until they commit); any other status
// yields a *StatusError, e.g. TimeoutRollbacked when the transaction
// timed out before the commit arrived, CommitFailed when a branch failed
// phase two for good, Finished when the coordinator no longer knows the
// XID. When every attempt fails the last error is returned and the
// outcome is open: the coordinator rolls the transaction back when it
// times out unless one of the commits reached it.
//
// For RoleParticipant Commit sends nothing and returns nil: the launcher
// decides. A participant's failure must reach the launcher (return the
// error to it, e.g. as the gRPC or HTTP error of the call that carried
// the XID) so that the launcher rolls back. For RoleNone Commit returns
// nil.
//
// Commit ends the GlobalTx whatever it returns.
func (tx *GlobalTx) Commit(ctx context.Context) (err error) {
	ok, err := tx.end(txCommitted)
	if !ok || tx.role != RoleLauncher {
		return err
	}
	if tx.obs != nil {
		defer func() { tx.endTx(true, err) }()
	}
	status, err := tx.m.endGlobal(ctx, tx, true)
	if err != nil {
		return err
	}
	switch status {
	case protocol.GlobalCommitted, protocol.GlobalAsyncCommitting,
		protocol.GlobalCommitting, protocol.GlobalCommitRetrying:
		return nil
	}
	return &StatusError{XID: tx.xid, Want: protocol.GlobalCommitted, Got: status}
}

// Rollback rolls the global transaction back. For RoleLauncher it sends
// GlobalRollback, resending it like Commit resends a commit. It returns
// nil when the coordinator reports Rollbacked, Rollbacking or
// RollbackRetrying (the coordinator drives the branches until they roll
// back), or one of the TimeoutRollback* statuses except
// TimeoutRollbackFailed (the transaction had timed out and is being or
// has been rolled back); any other status yields a *StatusError, e.g.
// RollbackFailed when a branch could not roll back (its data needs
// manual repair), or Finished when the coordinator no longer knows the
// XID (normally because it rolled the transaction back on timeout and
// then forgot it; after a coordinator restart that lost its sessions, the
// branches may never be rolled back).
//
// For RoleParticipant and RoleNone Rollback sends nothing and returns nil;
// see Commit.
//
// Rollback after Commit does nothing and returns nil, whatever Commit
// returned. Rollback after Rollback returns ErrTxDone.
func (tx *GlobalTx) Rollback(ctx context.Context) (err error) {
	ok, err := tx.end(txRolledBack)
	if !ok || tx.role != RoleLauncher {
		return err
	}
	if tx.obs != nil {
		defer func() { tx.endTx(false, err) }()
	}
	status, err := tx.m.endGlobal(ctx, tx, false)
	if err != nil {
		return err
	}
	switch status {
	case protocol.GlobalRollbacked, protocol.GlobalRollbacking, protocol.GlobalRollbackRetrying,
		protocol.GlobalTimeoutRollbacked, protocol.GlobalTimeoutRollbacking, protocol.GlobalTimeoutRollbackRetrying:
		return nil
	}
	return &StatusError{XID: tx.xid, Want: protocol.GlobalRollbacked, Got: status}
}

// Status asks the coordinator for the status of the global transaction.
// It works in every state, also after Commit or Rollback (e.g. to see
// whether an AsyncCommitting transaction has finished), and for
// participants. The coordinator reports Finished for an XID it does not
// know (any more). For RoleNone Status returns ErrNoTx. Status is sent
// once; it is not retried.
func (tx *GlobalTx) Status(ctx context.Context) (protocol.GlobalStatus, error) {
	if tx.role == RoleNone {
		return protocol.GlobalUnknown, ErrNoTx
	}
	resp, err := call[*protocol.GlobalStatusResponse](ctx, tx.m.caller, &protocol.GlobalStatusRequest{XID: tx.xid})
	if err != nil {
		return protocol.GlobalUnknown, fmt.Errorf("atcc/tm: status of %s: %w", tx.xid, err)
	}
	return resp.GlobalStatus, nil
}

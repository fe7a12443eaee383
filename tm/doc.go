// Package tm is the transaction manager: it begins global transactions,
// commits and rolls them back, and carries their XID in context.Context.
//
// # Global transactions
//
// A Manager (from atcc.Client.TM) begins a global transaction with Begin,
// which returns a context carrying the new XID and a *GlobalTx, much like
// a tracer starts a span:
//
//	ctx, tx, err := client.TM().Begin(ctx, tm.TxOptions{Name: "purchase"})
//	if err != nil {
//		return err
//	}
//	defer tx.Rollback(ctx) // does nothing after Commit
//	if err := order(ctx); err != nil { // AT/TCC work joins through ctx
//		return err
//	}
//	return tx.Commit(ctx)
//
// WithGlobalTx does the same around a function, rolling back on an error
// or a panic, and running the function again in a new global transaction
// when it lost a conflict with another one (ErrConflict: a row's global
// lock held too long, a deadlock): the function may run more than once, as
// with Cloud Spanner's ReadWriteTransaction. TxOptions.Propagation chooses what happens when the context
// already carries an XID (Required joins it, RequiresNew suspends it, ...).
//
// # Launcher and participants
//
// Only the GlobalTx that began a global transaction (RoleLauncher) ends it.
// A service that receives the XID from upstream (through grpcxid or
// httpxid) is a participant: its Commit and Rollback do not reach the
// coordinator, and its failure must travel back to the launcher as an
// error so that the launcher rolls back.
//
// # Outcomes
//
// Commit and Rollback resend their request with backoff after failures
// that leave the outcome open (the coordinator treats them as idempotent
// per XID); GlobalBegin is resent only when it provably was not sent. When
// the coordinator reports a status other than the one asked for (the
// transaction timed out and was rolled back before the commit arrived,
// say), the caller gets a *StatusError carrying that status.
//
// # The XID in a context
//
// WithXID, XID and WithoutXID put, read and remove the XID. Contexts are
// immutable: deriving one never changes another, so suspending a
// transaction is just going on with a context without (or with another)
// XID, and resuming it is going back to the caller's context.
//
// A Manager and a GlobalTx are safe for concurrent use. A Manager holds no
// goroutines and no connections; the atcc.Client it comes from does.
package tm

// Package tcc runs TCC (try, confirm, cancel) actions as branches of
// Seata global transactions.
//
// An Action has three methods: Try reserves (an amount on an account, a
// seat), Confirm makes the reservation final, Cancel releases it. Register
// turns an Action into a Participant of a client's global transactions:
//
//	p, err := tcc.Register(client, debitAction{db}, tcc.Config{Fence: db})
//	if err != nil { ... }
//	defer p.Close()
//
//	err = client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
//		return p.Try(ctx, tcc.Params{"account": 17, "amount": 250})
//	})
//
// Participant.Try registers a branch with the coordinator, its Params
// travelling as the branch's application data, and calls the action's Try.
// When the global transaction commits, the coordinator asks the action's
// resource (its name) to commit the branch and the Participant calls
// Confirm; when it rolls back (an error, a timeout), Cancel. Confirm and
// Cancel get the Params back from the coordinator (ActionContext.Params),
// so they may run in another instance of the service, or after a restart,
// as long as an action of the same name is registered there.
//
// # Phase two and failures
//
// A Confirm or Cancel that returns an error is retried by the coordinator
// (every RetryPeriod, with backoff) until it succeeds; wrap the error with
// Unretryable to make the global transaction end as CommitFailed or
// RollbackFailed instead, for manual repair.
//
// # Fence
//
// Phase two is delivered at least once, and a rollback may overtake a slow
// Try. Without a fence the action must cope (see Action). With
// Config.Fence the Participant keeps Seata's fence table (tcc_fence_log,
// see DDL) and guarantees that Confirm and Cancel take effect once,
// that a Cancel without a committed Try does nothing (empty rollback), and
// that a Try after its Cancel is refused (ErrSuspended), for the database
// work the action does in ActionContext.Tx. Finished rows are deleted
// after a day by default (Config.FenceCleanupAfter).
//
// # Compatibility
//
// Branches carry Seata's application data, {"actionContext":{...}}, with
// the Params next to the keys Java Seata and seata-go write
// ("action-start-time", "actionName", "host-name", "sys::prepare",
// "sys::commit", "sys::rollback"), and the fence table has Seata's layout,
// so an existing tcc_fence_log works.
package tcc

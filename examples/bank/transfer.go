package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

var (
	// errInsufficient is the business failure of a debit that would make
	// the balance negative.
	errInsufficient = errors.New("bank: insufficient balance")
	// errInjected is the random business failure.
	errInjected = errors.New("bank: injected business failure")
	// errKilled is the fate of a transfer whose process was killed before
	// it could commit.
	errKilled = errors.New("bank: process killed before the commit")
)

// Timeouts of the global transactions.
const (
	normalTimeout = 5 * time.Second
	// killTimeout is the timeout of a transfer whose process is killed:
	// the coordinator rolls it back after this long.
	killTimeout = time.Second
	// shortTimeout and timeoutPause make the timeout fault: the pause in
	// phase one outlasts the timeout.
	shortTimeout = 150 * time.Millisecond
	timeoutPause = 400 * time.Millisecond
)

// failPoint is where a transfer's injected business failure happens.
type failPoint uint8

const (
	noFailure failPoint = iota
	failAfterDebit
	failAfterCredit
)

// killPoint is when a transfer's process is killed.
type killPoint uint8

const (
	noKill killPoint = iota
	killBeforeCommit
	killAfterCommit
)

// transfer is one planned transfer: a global transaction with a debit
// branch on the payer's database and a credit branch on the payee's.
type transfer struct {
	mode     string // "at" or "tcc"
	from, to int64
	amount   int64
	fail     failPoint
	timeout  bool // the timeout fault: short timeout, long pause
	kill     killPoint
}

// plan draws a transfer.
func plan(rng *rand.Rand, o *options) transfer {
	modes := o.modes()
	t := transfer{
		mode:   modes[rng.IntN(len(modes))],
		from:   rng.Int64N(int64(o.Accounts)),
		amount: 1 + rng.Int64N(o.MaxAmount),
	}
	t.to = (t.from + 1 + rng.Int64N(int64(o.Accounts-1))) % int64(o.Accounts)
	if rng.Float64() < o.FailRate {
		t.fail = failPoint(1 + rng.IntN(2))
	}
	if o.Faults.Timeout && rng.Float64() < 0.03 {
		t.timeout = true
	}
	if o.Faults.Kill && rng.Float64() < 0.01 {
		t.kill = killPoint(1 + rng.IntN(2))
	}
	return t
}

// txOptions are the global transaction options of t.
func (t transfer) txOptions() tm.TxOptions {
	opts := tm.TxOptions{Name: "bank-" + t.mode, Timeout: normalTimeout}
	switch {
	case t.timeout:
		opts.Timeout = shortTimeout
	case t.kill != noKill:
		opts.Timeout = killTimeout
	}
	return opts
}

// outcome is what a transfer is known to have done.
type outcome uint8

const (
	// rolledBack: the transfer had no effect (the commit was never sent,
	// or the coordinator said it rolled back).
	rolledBack outcome = iota
	// committed: the coordinator said it committed.
	committed
	// unknown: a commit was sent but its outcome was not learnt.
	unknown
)

func (o outcome) String() string {
	switch o {
	case committed:
		return "committed"
	case rolledBack:
		return "rolledback"
	}
	return "unknown"
}

// run executes t on node n and reports its outcome, with the error that
// made it roll back or left it unknown.
func (r *runner) run(ctx context.Context, s *slot, n *node, t transfer) (outcome, error) {
	gctx, gtx, err := r.begin(ctx, n, t)
	if err != nil {
		return rolledBack, fmt.Errorf("begin: %w", err)
	}
	if t.mode == "at" {
		err = r.phaseOneAT(gctx, n, t)
	} else {
		err = r.phaseOneTCC(gctx, n, t)
	}
	if err != nil {
		// The commit is never sent, so whatever Rollback says the
		// transfer rolls back: now, or when the coordinator times it
		// out.
		gtx.Rollback(ctx)
		return rolledBack, err
	}
	if t.kill == killBeforeCommit {
		if err := s.kill(ctx, n); err != nil {
			r.fatal(err)
		}
		return rolledBack, errKilled
	}
	err = gtx.Commit(ctx)
	if t.kill == killAfterCommit {
		if kerr := s.kill(ctx, n); kerr != nil {
			r.fatal(kerr)
		}
	}
	if err == nil {
		return committed, nil
	}
	if se, ok := errors.AsType[*tm.StatusError](err); ok && se.RolledBack() {
		return rolledBack, err
	}
	return unknown, err
}

// phaseOneAT debits and credits through the AT data sources, one local
// transaction (one branch) each.
func (r *runner) phaseOneAT(ctx context.Context, n *node, t transfer) error {
	if err := localTx(ctx, n.at[t.from%2],
		"UPDATE at_account SET balance = balance - ? WHERE id = ? AND balance >= ?", t.amount, t.from, t.amount); err != nil {
		return err
	}
	if t.fail == failAfterDebit {
		return errInjected
	}
	if t.timeout {
		if err := sleep(ctx, timeoutPause); err != nil {
			return err
		}
	}
	if err := localTx(ctx, n.at[t.to%2],
		"UPDATE at_account SET balance = balance + ? WHERE id = ?", t.amount, t.to); err != nil {
		return err
	}
	if t.fail == failAfterCredit {
		return errInjected
	}
	return nil
}

// localTx runs one UPDATE of one account in a local transaction of db,
// which joins the global transaction of ctx as an AT branch; no row
// changed is errInsufficient.
func localTx(ctx context.Context, db *sql.DB, query string, args ...any) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errInsufficient
	}
	return tx.Commit()
}

// phaseOneTCC tries the debit and the credit participants.
func (r *runner) phaseOneTCC(ctx context.Context, n *node, t transfer) error {
	if err := n.debit[t.from%2].Try(ctx, tcc.Params{"id": t.from, "amount": t.amount}); err != nil {
		return err
	}
	if t.fail == failAfterDebit {
		return errInjected
	}
	credit := tcc.Params{"id": t.to, "amount": t.amount}
	if t.timeout {
		credit["pause_ms"] = timeoutPause.Milliseconds()
	}
	if err := n.credit[t.to%2].Try(ctx, credit); err != nil {
		return err
	}
	if t.fail == failAfterCredit {
		return errInjected
	}
	return nil
}

// sleep pauses for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isConflict reports whether err is an AT global lock conflict.
func isConflict(err error) bool {
	return errors.Is(err, datasource.ErrLockConflict)
}

// beginPatience is how long a transfer waits for a coordinator to begin
// it: the restart fault takes the coordinator away for a moment.
const beginPatience = 30 * time.Second

// begin begins t's global transaction. With no coordinator reachable
// Begin fails at once (atcc.ErrNoSession) and nothing has happened yet, so
// the transfer tries again after a pause, as an application would, instead
// of counting a rollback for every attempt made while the coordinator
// restarts.
func (r *runner) begin(ctx context.Context, n *node, t transfer) (context.Context, *tm.GlobalTx, error) {
	deadline := time.Now().Add(beginPatience)
	pause := 20 * time.Millisecond
	for {
		gctx, gtx, err := n.client.TM().Begin(ctx, t.txOptions())
		if err == nil || !errors.Is(err, atcc.ErrNoSession) || time.Now().After(deadline) {
			return gctx, gtx, err
		}
		if err := sleep(ctx, pause); err != nil {
			return ctx, nil, err
		}
		pause = min(2*pause, time.Second)
	}
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc"
)

// runner is one run of the bank: its options, shared state and counters.
// Its methods are safe for concurrent use by the workers.
type runner struct {
	o      *options
	ledger *ledger
	cancel context.CancelCauseFunc

	committed, rolledBack, unknown atomic.Int64
	insufficient, injected         atomic.Int64
	conflicts, timeouts, kills     atomic.Int64

	mu      sync.Mutex
	reasons map[string]int // why transfers did not commit, for -v
}

// fatal stops the run: the load cannot go on (a node could not be
// restarted).
func (r *runner) fatal(err error) { r.cancel(err) }

// book records one transfer's outcome.
func (r *runner) book(t transfer, o outcome, err error) {
	r.ledger.record(t, o)
	switch o {
	case committed:
		r.committed.Add(1)
	case rolledBack:
		r.rolledBack.Add(1)
	case unknown:
		r.unknown.Add(1)
	}
	if err != nil {
		r.mu.Lock()
		if r.reasons == nil {
			r.reasons = map[string]int{}
		}
		r.reasons[o.String()+": "+reason(err)]++
		r.mu.Unlock()
	}
	switch {
	case errors.Is(err, errInsufficient):
		r.insufficient.Add(1)
	case errors.Is(err, errInjected):
		r.injected.Add(1)
	case isConflict(err):
		r.conflicts.Add(1)
	}
	if t.timeout {
		r.timeouts.Add(1)
	}
	if t.kill != noKill {
		r.kills.Add(1)
	}
}

// run runs the bank with o: sets up the databases, starts the coordinator
// and the nodes, runs the transfers with the faults of o, waits for the
// coordinator to finish every global transaction, and checks the
// invariants. The error is not nil when the run could not be carried out
// or an invariant does not hold; the summary says which.
func run(ctx context.Context, o options) (sum summary, err error) {
	if err := o.check(); err != nil {
		return sum, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	atcc.SetGettyLogger(o.Logger) // getty logs through a process-wide logger
	sum = summary{Mode: o.Mode, Faults: o.Faults, Transfers: o.Transfers, Initial: o.Balance * int64(o.Accounts) * int64(len(o.modes()))}

	server, err := serverConfig(o.DSN)
	if err != nil {
		return sum, err
	}
	admin, err := openDB(server, "", 4)
	if err != nil {
		return sum, err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return sum, fmt.Errorf("database server: %w", err)
	}
	names := dbNames(o.Prefix)
	if err := setUp(ctx, admin, server, names, o.Accounts, o.Balance); err != nil {
		return sum, err
	}

	store, err := openDB(server, names.store, 16)
	if err != nil {
		return sum, err
	}
	defer store.Close()
	coord, err := startCoordinator(ctx, store, o.Logger)
	if err != nil {
		return sum, err
	}
	defer coord.Shutdown(context.Background())
	tcAddr := coord.Addr()
	var proxy *phaseTwoProxy
	if o.Faults.PhaseTwo {
		if proxy, err = startPhaseTwoProxy(coord.Addr(), 0.05, o.Seed); err != nil {
			return sum, err
		}
		defer proxy.Close()
		tcAddr = proxy.Addr()
	}

	env := &nodeEnv{server: server, names: names, tcAddr: tcAddr, log: o.Logger}
	slots := make([]*slot, o.Nodes)
	defer func() {
		for _, s := range slots {
			if s != nil {
				s.close()
			}
		}
	}()
	for i := range slots {
		n, err := startNode(ctx, env, i*1000)
		if err != nil {
			return sum, err
		}
		slots[i] = &slot{env: env, cur: n, next: i*1000 + 1}
	}

	// The load, with the coordinator restarts beside it.
	r := &runner{o: &o, ledger: newLedger(o.modes(), o.Accounts)}
	loadCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel
	restartsDone := make(chan struct{})
	stopRestarts := make(chan struct{})
	go func() {
		defer close(restartsDone)
		if o.Faults.Restart {
			restartLoop(loadCtx, coord, o.RestartEvery, rand.New(rand.NewPCG(o.Seed, 1)), stopRestarts, r.fatal)
		}
	}()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range o.Workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(o.Seed, uint64(w)+2))
			s := slots[w%len(slots)]
			for loadCtx.Err() == nil && next.Add(1) <= int64(o.Transfers) {
				t := plan(rng, &o)
				out, err := r.run(loadCtx, s, s.get(), t)
				r.book(t, out, err)
			}
		})
	}
	if o.Progress != nil {
		stopProgress := make(chan struct{})
		defer close(stopProgress)
		go func() {
			tick := time.NewTicker(progressEvery)
			defer tick.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-tick.C:
					fmt.Fprintln(o.Progress, progressLine(time.Since(start), r.committed.Load(), r.rolledBack.Load(), r.unknown.Load(), o.Transfers))
				}
			}
		}()
	}
	wg.Wait()
	close(stopRestarts)
	<-restartsDone
	sum.Duration = time.Since(start)
	if err := context.Cause(loadCtx); err != nil && ctx.Err() == nil {
		return sum, fmt.Errorf("load stopped: %w", err)
	}
	if ctx.Err() != nil {
		return sum, ctx.Err()
	}

	// Quiescence: the coordinator finishes phase two (the nodes stay up
	// to receive it), then everything stops.
	drainStart := time.Now()
	pending, err := drain(ctx, admin, names.store, o.Drain)
	if err != nil {
		return sum, err
	}
	sum.Drain = time.Since(drainStart)
	sum.Pending = pending
	for i, s := range slots {
		if err := s.close(); err != nil {
			o.Logger.Warn("closing node", "slot", i, "err", err)
		}
	}
	if err := coord.Shutdown(ctx); err != nil {
		return sum, fmt.Errorf("coordinator shutdown: %w", err)
	}
	if proxy != nil {
		proxy.Close()
		sum.DroppedRequests = proxy.droppedRequests.Load()
		sum.DroppedResponses = proxy.droppedResponses.Load()
		sum.Duplicated = proxy.duplicated.Load()
	}
	store.Close()

	sum.Committed = r.committed.Load()
	sum.RolledBack = r.rolledBack.Load()
	sum.Unknown = r.unknown.Load()
	sum.Insufficient = r.insufficient.Load()
	sum.Injected = r.injected.Load()
	sum.Conflicts = r.conflicts.Load()
	sum.Timeouts = r.timeouts.Load()
	sum.Kills = r.kills.Load()
	sum.Restarts = coord.Restarts()
	sum.Reasons = r.reasons
	if err := checkInvariants(ctx, admin, names, &o, r.ledger, &sum); err != nil {
		return sum, err
	}
	sum.Checked = true
	if len(sum.Violations) > 0 {
		return sum, fmt.Errorf("bank: %d invariant violations: %v", len(sum.Violations), sum.Violations)
	}
	return sum, nil
}

// reason is err's text with the numbers (XIDs, branch ids, ports) masked,
// so that errors of one kind count together.
func reason(err error) string {
	return digits.ReplaceAllString(err.Error(), "#")
}

var digits = regexp.MustCompile(`[0-9]+`)

// restartLoop restarts the coordinator at random intervals of 1/2 to 3/2
// of every until stop is closed.
func restartLoop(ctx context.Context, coord *coordinator, every time.Duration, rng *rand.Rand, stop <-chan struct{}, fatal func(error)) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-time.After(every/2 + time.Duration(rng.Int64N(int64(every)))):
		}
		if err := coord.Restart(ctx, 50*time.Millisecond); err != nil {
			if ctx.Err() == nil {
				fatal(err)
			}
			return
		}
	}
}

// drain waits until the coordinator's store holds no global transaction
// still in progress, for at most bound, and returns how many still are,
// by status name, when the bound is reached. Transactions that ended
// badly (CommitFailed, RollbackFailed, ...) are not waited for; the
// checks report them.
func drain(ctx context.Context, admin *sql.DB, storeDB string, bound time.Duration) (map[string]int, error) {
	deadline := time.Now().Add(bound)
	for {
		byStatus, err := globalsByStatus(ctx, admin, storeDB)
		if err != nil {
			return nil, err
		}
		pending := map[string]int{}
		for st, n := range byStatus {
			if !endedStatus(st) {
				pending[st.String()] += n
			}
		}
		if len(pending) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return pending, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// progressEvery is the period of the progress lines.
const progressEvery = 5 * time.Second

// progressLine says how far the load is and, from the rate so far, about
// how long the rest will take.
func progressLine(elapsed time.Duration, committed, rolledBack, unknown int64, total int) string {
	done := committed + rolledBack + unknown
	line := fmt.Sprintf("bank: %s: %d of %d transfers (%d committed, %d rolled back, %d unknown)",
		elapsed.Round(time.Second), done, total, committed, rolledBack, unknown)
	if done > 0 && elapsed > 0 {
		rate := float64(done) / elapsed.Seconds()
		left := time.Duration(float64(int64(total)-done) / rate * float64(time.Second))
		line += fmt.Sprintf(", %.0f/s, about %s left", rate, left.Round(time.Second))
	}
	return line
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tm"
)

// Targets the issue sets for hot rows.
const (
	minCommitRatio  = 0.95 // of attempted transfers, AT
	minGoodputRatio = 0.3  // AT goodput against local goodput
	settleTimeout   = 30 * time.Second
)

// hotResult is one measured hot-rows run.
type hotResult struct {
	mode      string
	attempted int64 // transfers started (WithGlobalTx calls for AT)
	committed int64
	aborted   int64 // transfers rolled back on purpose (-abort), not counted in attempted
	retries   int64 // extra runs of the transfer inside the attempts
	conflicts int64 // attempts that failed on a conflict after every retry
	others    int64 // attempts that failed otherwise
	firstErr  error // the first error that is not a conflict
	elapsed   time.Duration
	sumOK     bool
}

func (r hotResult) goodput() float64 { return float64(r.committed) / r.elapsed.Seconds() }

func (r hotResult) commitRatio() float64 {
	if r.attempted == 0 {
		return 0
	}
	return float64(r.committed) / float64(r.attempted)
}

// hotSlice is how long one mode runs before the other takes over: the
// modes alternate so that both see the same load from other processes.
const hotSlice = 2 * time.Second

// runHotRows measures conc workers transferring among the few rows of the
// accounts table, as plain local transactions and as AT global
// transactions run with WithGlobalTx (default options: conflicts are
// retried), for d each, in alternating slices, and checks the balances'
// sum after each slice.
func runHotRows(ctx context.Context, local, at *sql.DB, client *atcc.Client, conc, accounts int, abortRate float64, d time.Duration) error {
	modes := []struct {
		name string
		fn   hotFunc
	}{
		{"local", func(ctx context.Context, from, to int, abort bool, runs *atomic.Int64) error {
			runs.Add(1)
			if abort {
				return abortedTransfer(ctx, local, from, to)
			}
			return transfer(ctx, local, from, to)
		}},
		{"at", func(ctx context.Context, from, to int, abort bool, runs *atomic.Int64) error {
			return client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "transfer"}, func(ctx context.Context) error {
				runs.Add(1)
				if err := transfer(ctx, at, from, to); err != nil {
					return err
				}
				if abort {
					return errAborted // a later step fails: the global rollback undoes the branch
				}
				return nil
			})
		}},
	}
	results := make([]hotResult, len(modes))
	for i, m := range modes {
		results[i].mode, results[i].sumOK = m.name, true
	}
	for left := d; left > 0; left -= hotSlice {
		for i, m := range modes {
			r := measureHot(ctx, m.fn, conc, accounts, abortRate, min(left, hotSlice))
			results[i].add(r)
			ok, err := settleSum(ctx, local)
			if err != nil {
				return err
			}
			results[i].sumOK = results[i].sumOK && ok
		}
	}
	reportHot(results, conc, accounts, abortRate)
	for _, r := range results {
		if !r.sumOK {
			return fmt.Errorf("%s: balances do not sum to their initial total: money was created or lost", r.mode)
		}
	}
	return nil
}

// add adds the counts of another slice of the same mode to r.
func (r *hotResult) add(o hotResult) {
	r.attempted += o.attempted
	r.committed += o.committed
	r.aborted += o.aborted
	r.retries += o.retries
	r.conflicts += o.conflicts
	r.others += o.others
	r.elapsed += o.elapsed
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
}

// hotFunc runs one transfer; with abort it rolls it back on purpose after
// its updates (AT: after the branch committed locally, so that the global
// rollback has to undo it).
type hotFunc func(ctx context.Context, from, to int, abort bool, runs *atomic.Int64) error

// errAborted is the error of a transfer rolled back on purpose.
var errAborted = errors.New("transfer aborted on purpose")

// abortedTransfer runs transfer's updates in a local transaction of db and
// rolls it back.
func abortedTransfer(ctx context.Context, db *sql.DB, from, to int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := transferUpdates(ctx, tx, from, to); err != nil {
		return err
	}
	return errAborted
}

// measureHot runs fn from conc goroutines for d, aborting a fraction
// abortRate of the transfers on purpose.
func measureHot(ctx context.Context, fn hotFunc, conc, accounts int, abortRate float64, d time.Duration) hotResult {
	var (
		attempted, committed, aborted, runs, conflicts, others atomic.Int64
		errOnce                                                sync.Once
		firstErr                                               error
		wg                                                     sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				from := rand.IntN(accounts) + 1
				to := rand.IntN(accounts-1) + 1
				if to >= from {
					to++
				}
				if rand.Float64() < abortRate {
					aborted.Add(1)
					if err := fn(ctx, from, to, true, &runs); !errors.Is(err, errAborted) && err != nil {
						others.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				attempted.Add(1)
				err := fn(ctx, from, to, false, &runs)
				switch {
				case err == nil:
					committed.Add(1)
					continue
				case errors.Is(err, tm.ErrConflict):
					conflicts.Add(1)
				default:
					others.Add(1)
					errOnce.Do(func() { firstErr = err })
				}
			}
		})
	}
	wg.Wait()
	return hotResult{
		attempted: attempted.Load(), committed: committed.Load(), aborted: aborted.Load(),
		retries:   runs.Load() - attempted.Load() - aborted.Load(),
		conflicts: conflicts.Load(), others: others.Load(), firstErr: firstErr, elapsed: time.Since(start),
	}
}

// settleSum waits until the balances sum to their initial total (a global
// rollback's phase two may still be running when the workers stop) and
// reports whether they did before settleTimeout.
func settleSum(ctx context.Context, db *sql.DB) (bool, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		var sum, n int64
		if err := db.QueryRowContext(ctx, "SELECT SUM(balance), COUNT(*) FROM accounts").Scan(&sum, &n); err != nil {
			return false, err
		}
		if sum == n*initialBalance {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func reportHot(results []hotResult, conc, accounts int, abortRate float64) {
	fmt.Printf("hot rows: %d workers transferring among %d accounts, %.0f%% aborted on purpose\n\n", conc, accounts, 100*abortRate)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "mode\tattempted\tcommitted\tcommitted %\tretries\tconflicts\tother errors\taborted\tgoodput tx/s\tgoodput b/a\tsum\t")
	var base float64
	for _, r := range results {
		ratio := ""
		if r.mode == "local" {
			base = r.goodput()
		} else if base > 0 {
			ratio = fmt.Sprintf("%.2f", r.goodput()/base)
		}
		sum := "unchanged"
		if !r.sumOK {
			sum = "CHANGED"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.1f\t%d\t%d\t%d\t%d\t%.0f\t%s\t%s\t\n", r.mode, r.attempted, r.committed,
			100*r.commitRatio(), r.retries, r.conflicts, r.others, r.aborted, r.goodput(), ratio, sum)
	}
	w.Flush()
	for _, r := range results {
		if r.firstErr != nil {
			fmt.Printf("%s: first error other than a conflict: %v\n", r.mode, r.firstErr)
		}
		if r.mode != "at" {
			continue
		}
		verdict(fmt.Sprintf("committed %.1f%% of attempted transfers (target >= %.0f%%)", 100*r.commitRatio(), 100*minCommitRatio),
			r.commitRatio() >= minCommitRatio)
		if base > 0 {
			verdict(fmt.Sprintf("goodput b/a = %.2f (target >= %.1f)", r.goodput()/base, minGoodputRatio), r.goodput()/base >= minGoodputRatio)
		}
	}
}

// Command bank is atcc's bank-invariant stress program, after Jepsen's bank
// test: accounts spread over two MySQL databases, concurrent transfers
// between them as global transactions (AT, TCC or both), random business
// failures, and faults that can be switched on. At the end it checks that
// money was neither created nor destroyed, and that nothing of the
// transactions is left behind, and prints one summary line.
//
// Usage:
//
//	go run -C examples ./bank [-dsn root@tcp(127.0.0.1:3306)/] [-prefix bank]
//	    [-accounts 100] [-balance 100] [-max-amount 20] [-workers 8] [-nodes 2]
//	    [-transfers 2000] [-mode at|tcc|both] [-faults none|all|restart,kill,phase2,timeout]
//	    [-fail-rate 0.1] [-seed N] [-drain 60s] [-large] [-v]
//
// It drops and creates the databases <prefix>_a and <prefix>_b (the
// accounts; account i lives in the database i%2, and AT and TCC transfers
// each have their own table of accounts) and <prefix>_tc (the store of the
// coordinator, which runs in the process). -nodes simulated application
// processes, each an atcc client with an AT data source and TCC
// participants on both databases, registering the same resource ids, are
// shared by -workers loops that run the transfers. Every transfer debits one
// account and credits another, one branch each; a debit that would make a
// balance negative fails, and -fail-rate of the transfers fail on purpose
// after the debit or after the credit; both roll back.
//
// The faults (-faults):
//
//   - restart: the coordinator is stopped (tc.Server.Close) and started again
//     on the same address and store every -restart-every (default 2 s, ±50%); the clients reconnect,
//     and calls in flight fail and are retried or roll back.
//   - kill: 1% of the transfers kill their process (close its atcc client,
//     which cuts its connections and cancels its running phase-two calls,
//     and its pools) after phase one, either before the commit is sent (the
//     coordinator must time the transaction out and roll it back through
//     another process) or right after it returned; a new process with the
//     same resources replaces it. Other transfers running in the killed
//     process fail with it.
//   - phase2: the clients reach the coordinator through a proxy that reads
//     the frames and, with probability 5% each, drops a BranchCommit or
//     BranchRollback request, drops its answer (the RM did the work; the
//     coordinator resends it), or delivers the request twice.
//   - timeout: 3% of the transfers get a 150 ms global timeout and a 400 ms
//     pause in phase one (AT: between the two branches; TCC: inside the
//     credit Try), so the coordinator rolls them back while phase one runs.
//
// Then it waits (at most -drain) until the coordinator has finished every
// global transaction, stops everything, and checks: the total balance is
// unchanged, no balance is negative, no TCC amount is left frozen, every
// balance is within what the transfers whose outcome the TM learnt (and
// those it did not) allow, undo_log holds only "global finished" markers,
// tcc_fence_log holds no Try without its second phase, the coordinator's
// lock_table and branch_table are empty and global_table holds only
// transactions that ended well, and no connection is left in the
// databases. Any violation makes the exit status 1.
//
// Not checked, because nothing exposes them: the coordinator's in-memory
// sessions of closed clients.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(runMain(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// runMain parses args, runs the bank and prints its summary; it returns
// the exit status.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bank:", err)
		return 2
	}
	sum, err := run(ctx, o)
	for _, v := range sum.Violations {
		fmt.Fprintln(stderr, "bank: violation:", v)
	}
	if o.Verbose {
		for _, k := range slices.Sorted(maps.Keys(sum.Reasons)) {
			fmt.Fprintf(stderr, "bank: %5d %s\n", sum.Reasons[k], k)
		}
	}
	if sum.Duration > 0 {
		fmt.Fprintln(stdout, sum.String())
	}
	if err != nil {
		if len(sum.Violations) == 0 {
			fmt.Fprintln(stderr, "bank:", err)
		}
		return 1
	}
	return 0
}

// parseFlags reads the command line into options.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("bank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DSN, "dsn", o.DSN, "go-sql-driver/mysql `DSN` of the server (its database is ignored)")
	fs.StringVar(&o.Prefix, "prefix", o.Prefix, "database name `prefix`: <prefix>_a, <prefix>_b, <prefix>_tc are dropped and created")
	fs.IntVar(&o.Accounts, "accounts", o.Accounts, "number of accounts per mode")
	fs.Int64Var(&o.Balance, "balance", o.Balance, "initial balance of every account")
	fs.Int64Var(&o.MaxAmount, "max-amount", o.MaxAmount, "largest transfer amount")
	fs.IntVar(&o.Workers, "workers", o.Workers, "concurrent transfer loops")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "simulated application processes the workers share")
	fs.IntVar(&o.Transfers, "transfers", o.Transfers, "number of transfers")
	fs.StringVar(&o.Mode, "mode", o.Mode, "transfer `mode`: at, tcc or both")
	faultList := fs.String("faults", "none", "faults to inject: none, all, or a comma-separated `list` of restart,kill,phase2,timeout")
	fs.Float64Var(&o.FailRate, "fail-rate", o.FailRate, "probability of a business failure per transfer")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	fs.DurationVar(&o.RestartEvery, "restart-every", o.RestartEvery, "mean interval of the coordinator restarts (-faults restart)")
	fs.DurationVar(&o.Drain, "drain", o.Drain, "longest wait for the coordinator to finish after the load")
	large := fs.Bool("large", false, "large run: 1000 accounts, 16 workers, 4 nodes, 30000 transfers, about 7 minutes on 2 cores (explicit flags win)")
	verbose := fs.Bool("v", false, "log the library's warnings and errors, progress and the reasons of rollbacks to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *large {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		largeOptions(&o, set)
	}
	var err error
	if o.Faults, err = parseFaults(*faultList); err != nil {
		return o, err
	}
	o.Verbose = *verbose
	o.Progress = stderr // a line every few seconds: long runs say how far they are
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	}
	return o, o.check()
}

// largeOptions turns o into the large run, leaving the options named in
// set as given.
func largeOptions(o *options, set map[string]bool) {
	if !set["accounts"] {
		o.Accounts = 1000
	}
	if !set["workers"] {
		o.Workers = 16
	}
	if !set["nodes"] {
		o.Nodes = 4
	}
	if !set["transfers"] {
		// About 70 transfers/s with every fault on a 2-core machine: 30000
		// take about 7 minutes, plus the drain. The progress lines say how
		// long the rest will take.
		o.Transfers = 30000
	}
	if !set["drain"] {
		o.Drain = 5 * time.Minute
	}
}

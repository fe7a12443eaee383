package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// options configure one run of the bank.
type options struct {
	// DSN is the go-sql-driver/mysql DSN of the server; its database name
	// is ignored.
	DSN string
	// Prefix names the databases: <Prefix>_a and <Prefix>_b hold the
	// accounts, <Prefix>_tc the coordinator's store. They are dropped and
	// created at the start.
	Prefix string
	// Accounts is the number of accounts, split over the two databases
	// (account i lives in database i%2); each mode has its own set.
	Accounts int
	// Balance is every account's initial balance.
	Balance int64
	// MaxAmount bounds a transfer's amount (1..MaxAmount).
	MaxAmount int64
	// Workers is the number of concurrent transfer loops; Nodes the number
	// of simulated application processes (atcc client, data sources, TCC
	// participants) they share, worker i using node i%Nodes.
	Workers, Nodes int
	// Transfers is the number of transfers to run.
	Transfers int
	// Mode is "at", "tcc" or "both" (each transfer picks one at random).
	Mode string
	// Faults are the injected faults.
	Faults faults
	// FailRate is the probability of a business failure in a transfer,
	// which then rolls back.
	FailRate float64
	// Seed seeds every random choice.
	Seed uint64
	// Drain bounds the wait for the coordinator to finish every global
	// transaction after the load.
	Drain time.Duration
	// Settle bounds the final checks' wait for the background work that
	// follows quiescence (undo log deletes, connections closing).
	Settle time.Duration
	// Logger receives the library's logs; nil discards them.
	Logger *slog.Logger
	// Progress, when not nil, receives a line every 5 s of the load, with
	// the time left at the rate so far.
	Progress io.Writer
	// RestartEvery is the mean interval of the coordinator restarts (each
	// interval is drawn from [RestartEvery/2, RestartEvery*3/2]).
	RestartEvery time.Duration
	// Verbose prints a few errors of transfers whose outcome is unknown.
	Verbose bool
}

// defaultOptions are the flags' defaults.
func defaultOptions() options {
	return options{
		DSN:       "root@tcp(127.0.0.1:3306)/",
		Prefix:    "bank",
		Accounts:  100,
		Balance:   100,
		MaxAmount: 20,
		Workers:   8,
		Nodes:     2,
		Transfers: 2000,
		Mode:      "both",
		FailRate:  0.1,
		Seed:      1,
		Drain:     60 * time.Second,
		Settle:    5 * time.Second,

		RestartEvery: 2 * time.Second,
	}
}

// check validates the options.
func (o *options) check() error {
	switch {
	case o.Accounts < 2:
		return errors.New("-accounts must be at least 2")
	case o.Balance < 1 || o.MaxAmount < 1:
		return errors.New("-balance and -max-amount must be positive")
	case o.Workers < 1 || o.Nodes < 1:
		return errors.New("-workers and -nodes must be positive")
	case o.RestartEvery <= 0:
		return errors.New("-restart-every must be positive")
	case o.Transfers < 0:
		return errors.New("-transfers must not be negative")
	case o.FailRate < 0 || o.FailRate > 1:
		return errors.New("-fail-rate must be within [0, 1]")
	case o.Prefix == "" || strings.ContainsFunc(o.Prefix, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}):
		return errors.New("-prefix must be lower-case letters, digits and '_'")
	}
	switch o.Mode {
	case "at", "tcc", "both":
	default:
		return fmt.Errorf("-mode %q: want at, tcc or both", o.Mode)
	}
	return nil
}

// modes lists the transfer modes the run uses.
func (o *options) modes() []string {
	if o.Mode == "both" {
		return []string{"at", "tcc"}
	}
	return []string{o.Mode}
}

// faults is the set of faults a run injects.
type faults struct {
	// Restart restarts the coordinator at random intervals.
	Restart bool
	// Kill kills a simulated application process (closes its client and
	// pools) after phase one of a transfer, before the commit is sent or
	// right after it returned, and starts a fresh one with the same
	// resources.
	Kill bool
	// PhaseTwo drops BranchCommit/BranchRollback requests or their answers
	// and delivers requests twice, through a proxy.
	PhaseTwo bool
	// Timeout gives some transfers a global timeout shorter than a pause
	// injected in their phase one.
	Timeout bool
}

var faultNames = []string{"restart", "kill", "phase2", "timeout"}

// parseFaults reads "none", "all" or a comma-separated list of
// restart, kill, phase2, timeout.
func parseFaults(s string) (faults, error) {
	var f faults
	switch s {
	case "", "none":
		return f, nil
	case "all":
		return faults{Restart: true, Kill: true, PhaseTwo: true, Timeout: true}, nil
	}
	for name := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(name) {
		case "restart":
			f.Restart = true
		case "kill":
			f.Kill = true
		case "phase2":
			f.PhaseTwo = true
		case "timeout":
			f.Timeout = true
		default:
			return f, fmt.Errorf("-faults: unknown fault %q (want none, all or a list of %s)", name, strings.Join(faultNames, ","))
		}
	}
	return f, nil
}

// String is the inverse of parseFaults.
func (f faults) String() string {
	var on []string
	for i, b := range []bool{f.Restart, f.Kill, f.PhaseTwo, f.Timeout} {
		if b {
			on = append(on, faultNames[i])
		}
	}
	if len(on) == 0 {
		return "none"
	}
	if len(on) == len(faultNames) {
		return "all"
	}
	return strings.Join(on, ",")
}

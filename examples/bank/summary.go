package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// summary is the result of a run: what the load did, which faults were
// injected, and what the final checks found.
type summary struct {
	Mode      string
	Faults    faults
	Transfers int

	// Outcomes, as the launching TM learnt them.
	Committed, RolledBack, Unknown int64
	// Why transfers rolled back: a debit that found too little, the
	// injected business failure, an AT global lock conflict.
	Insufficient, Injected, Conflicts int64

	// Faults injected: transfers given the timeout fault, processes
	// killed, coordinator restarts, phase-two frames dropped (requests,
	// answers) and requests delivered twice.
	Timeouts, Kills                               int64
	Restarts                                      int
	DroppedRequests, DroppedResponses, Duplicated int64

	// Duration of the load (tx/s is Transfers over it) and of the wait for
	// the coordinator to finish phase two; Pending counts, by status, the
	// transactions still unfinished when that wait gave up.
	Duration, Drain time.Duration
	Pending         map[string]int

	// The checks.
	Initial, Sum int64 // total balance at the start and at the end
	Negatives    int64 // accounts with a negative balance
	Unsettled    int64 // TCC accounts with frozen or incoming left
	LedgerOff    int64 // accounts outside the ledger's range
	Undo         int64 // undo_log rows that are not markers
	Markers      int64 // "global finished" markers (allowed)
	FenceTried   int64 // tcc_fence_log rows still "tried"
	Locks        int64 // lock_table rows
	Branches     int64 // branch_table rows
	Globals      int64 // global transactions unfinished or failed
	Conns        int64 // connections left in the run's databases

	// Checked is set once the invariants above were checked: a run
	// stopped before (interrupted, or failed to set up or drain) reports
	// neither a sum nor OK.
	Checked bool

	Violations []string
	// Reasons counts why transfers rolled back or were left unknown, by
	// outcome and error text with the numbers masked.
	Reasons map[string]int
}

// TxPerSecond is the load's throughput.
func (s *summary) TxPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Transfers) / s.Duration.Seconds()
}

// String is the one-line summary.
func (s *summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bank: mode=%s transfers=%d committed=%d rolledback=%d unknown=%d", s.Mode, s.Transfers, s.Committed, s.RolledBack, s.Unknown)
	fmt.Fprintf(&b, " insufficient=%d injected=%d conflicts=%d", s.Insufficient, s.Injected, s.Conflicts)
	fmt.Fprintf(&b, " faults=%s", s.Faults)
	if s.Faults.Restart {
		fmt.Fprintf(&b, " restarts=%d", s.Restarts)
	}
	if s.Faults.Kill {
		fmt.Fprintf(&b, " kills=%d", s.Kills)
	}
	if s.Faults.PhaseTwo {
		fmt.Fprintf(&b, " p2drop=%d/%d p2dup=%d", s.DroppedRequests, s.DroppedResponses, s.Duplicated)
	}
	if s.Faults.Timeout {
		fmt.Fprintf(&b, " timeouts=%d", s.Timeouts)
	}
	if !s.Checked {
		fmt.Fprintf(&b, " duration=%s NOT CHECKED (stopped before the invariant checks: interrupted or failed)", s.Duration.Round(time.Millisecond))
		return b.String()
	}
	verdict := "unchanged"
	if s.Sum != s.Initial {
		verdict = fmt.Sprintf("CHANGED from %d", s.Initial)
	}
	fmt.Fprintf(&b, " sum=%d (%s) negatives=%d unsettled=%d ledger_off=%d undo=%d markers=%d fence_tried=%d locks=%d branches=%d globals=%d conns=%d",
		s.Sum, verdict, s.Negatives, s.Unsettled, s.LedgerOff, s.Undo, s.Markers, s.FenceTried, s.Locks, s.Branches, s.Globals, s.Conns)
	if len(s.Pending) > 0 {
		var p []string
		for _, k := range slices.Sorted(maps.Keys(s.Pending)) {
			p = append(p, fmt.Sprintf("%s:%d", k, s.Pending[k]))
		}
		fmt.Fprintf(&b, " pending=%s", strings.Join(p, ","))
	}
	fmt.Fprintf(&b, " duration=%s drain=%s tx/s=%.0f", s.Duration.Round(time.Millisecond), s.Drain.Round(time.Millisecond), s.TxPerSecond())
	if len(s.Violations) == 0 {
		b.WriteString(" OK")
	} else {
		fmt.Fprintf(&b, " FAILED (%d violations)", len(s.Violations))
	}
	return b.String()
}

package atprop

import (
	"context"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// envInt reads a positive integer from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// TestATRollbackFidelity is issue 11's property test. Environment:
//
//	ATPROP_SEED=n        run only seed n (the command a failure prints)
//	ATPROP_FIRST_SEED=n  first seed (default 1)
//	ATPROP_SEEDS=n       number of seeds (default 3, with -short 2; `make proptest`: 20)
//	ATPROP_TXS=n         global transactions per seed (default 10, with -short 6; `make proptest`: 100)
//	ATPROP_SHRINK=n      failing cases to shrink, one per kind of failure first (default 1)
//	ATPROP_SHRINK_SECS=n time budget of one shrink (default 15)
//	ATPROP_SHRINK_CLASS=c shrink only failures of class c (e.g. commit-mismatch)
//
// Every failure is reported with the command that reruns it; the shrunk
// ones are printed as SQL.
func TestATRollbackFidelity(t *testing.T) {
	defSeeds, defTxs := 3, 10
	if testing.Short() {
		defSeeds, defTxs = 2, 6
	}
	first := uint64(envInt(t, "ATPROP_FIRST_SEED", 1))
	seeds := envInt(t, "ATPROP_SEEDS", defSeeds)
	if s := os.Getenv("ATPROP_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ATPROP_SEED=%q: %v", s, err)
		}
		first, seeds = n, 1
	}
	txs := envInt(t, "ATPROP_TXS", defTxs)
	shrinkN := envInt(t, "ATPROP_SHRINK", 1)
	shrinkBudget := time.Duration(envInt(t, "ATPROP_SHRINK_SECS", 15)) * time.Second

	ctx := context.Background()
	start := time.Now()
	e := NewEnv(t)
	var cases []*Case
	for seed := first; seed < first+uint64(seeds); seed++ {
		cs, err := e.Run(ctx, seed, txs)
		if err != nil {
			// the server or the machine, not a property: go on with the next seed
			t.Errorf("seed %d: %v (rerun: %s)", seed, err, RerunCommand(seed, txs))
		}
		t.Logf("atprop: seed %d: %d global transactions, %d failures (%v so far)", seed, txs, len(cs), time.Since(start).Round(time.Second))
		cases = append(cases, cs...)
	}
	st := e.Stats
	t.Logf("atprop: %d seeds from %d, %d global transactions (%d commit, %d rollback), %d branches, %d statements (%d refused as README lists, %d failed through AT and as plain SQL, %d of them with another error number; %d differed as README documents (failed only as plain SQL, or only through AT after they ran); %d with results not compared, as rows may be picked otherwise), %d property failures in %v",
		seeds, first, st.GlobalTxs, st.Commits, st.Rollbacks, st.Branches, st.Stmts, st.RefusedAsListed, st.StmtErrors, st.OtherError, st.Documented, st.Uncompared, len(cases), time.Since(start).Round(time.Millisecond))
	t.Logf("atprop: time by phase: %v", st.Phases)
	var reasons []string
	for r, n := range st.Refused {
		reasons = append(reasons, strconv.Itoa(n)+"x "+r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		t.Logf("atprop: refused, not listed as refused in README: %s", r)
	}
	if len(cases) == 0 {
		return
	}
	classes := map[string]int{}
	for _, c := range cases {
		classes[c.Failure.Class+" "+c.Failure.Reason]++
		t.Errorf("seed %d, global transaction #%d: %s (rerun: %s)", c.Seed, c.TxIndex, truncate(c.Failure.Error(), 1500), RerunCommand(c.Seed, c.TxIndex+1))
	}
	t.Logf("atprop: failures by class: %v", classes)
	// shrink one case per class and reason first, then more, up to shrinkN
	var order, rest []*Case
	seen := map[string]bool{}
	for _, c := range cases {
		k := c.Failure.Class + "|" + c.Failure.Reason
		if seen[k] {
			rest = append(rest, c)
			continue
		}
		seen[k] = true
		order = append(order, c)
	}
	order = append(order, rest...)
	if only := os.Getenv("ATPROP_SHRINK_CLASS"); only != "" {
		var keep []*Case
		for _, c := range order {
			if c.Failure.Class == only {
				keep = append(keep, c)
			}
		}
		order = keep
	}
	sigs := map[string]bool{}
	for i, c := range order {
		if i >= shrinkN {
			break
		}
		small, err := e.Shrink(ctx, c, shrinkBudget)
		if err != nil {
			t.Fatalf("shrink: %v", err)
		}
		if sigs[small.Signature()] {
			continue
		}
		sigs[small.Signature()] = true
		t.Errorf("minimal failing case (%s):\n%s", small.Signature(), small)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

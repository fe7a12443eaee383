package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
)

var large = flag.Bool("large", false, "run the bank large (1000 accounts, 16 workers, 30000 transfers, all faults)")

// bankOptions returns options for a run on the test server under its own
// databases, dropped when the test ends.
func bankOptions(t *testing.T) options {
	t.Helper()
	server := testdb.ServerConfig(t)
	o := defaultOptions()
	o.DSN = server.FormatDSN()
	o.Prefix = fmt.Sprintf("bank_t%d", os.Getpid())
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Cleanup(func() { dropDatabases(t, server, o.Prefix) })
	return o
}

func dropDatabases(t *testing.T, server *mysql.Config, prefix string) {
	db, err := openDB(server, "", 1)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	names := dbNames(prefix)
	for _, name := range append(names.bank[:], names.store) {
		if _, err := db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Error(err)
		}
	}
}

// checkClean fails the test unless sum reports a run in which every
// invariant holds and every transfer has an outcome.
func checkClean(t *testing.T, sum summary, err error) {
	t.Helper()
	t.Log(sum.String())
	for k, n := range sum.Reasons {
		t.Logf("%5d %s", n, k)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Committed + sum.RolledBack + sum.Unknown; got != int64(sum.Transfers) {
		t.Errorf("outcomes: %d, want %d", got, sum.Transfers)
	}
	if sum.Committed == 0 {
		t.Error("no transfer committed")
	}
	if sum.Sum != sum.Initial || sum.Negatives != 0 || sum.Undo != 0 || sum.Locks != 0 || sum.Branches != 0 || sum.Globals != 0 || len(sum.Violations) != 0 {
		t.Errorf("violations in a run that reported none: %+v", sum)
	}
	if !strings.HasSuffix(sum.String(), " OK") || strings.Contains(sum.String(), "\n") {
		t.Errorf("summary is not one OK line: %q", sum.String())
	}
}

// TestBankSmall is the CI run: both modes, every fault.
func TestBankSmall(t *testing.T) {
	o := bankOptions(t)
	o.Accounts, o.Workers, o.Nodes, o.Transfers = 20, 4, 2, 200
	o.Faults, _ = parseFaults("all")
	o.Drain = 30 * time.Second
	sum, err := run(t.Context(), o)
	checkClean(t, sum, err)
}

// TestBankNoFaults runs each mode alone without faults: nothing may be
// left unknown then.
func TestBankNoFaults(t *testing.T) {
	for _, mode := range []string{"at", "tcc"} {
		t.Run(mode, func(t *testing.T) {
			o := bankOptions(t)
			o.Accounts, o.Workers, o.Nodes, o.Transfers, o.Mode = 8, 4, 1, 100, mode
			sum, err := run(t.Context(), o)
			checkClean(t, sum, err)
			if sum.Unknown != 0 {
				t.Errorf("%d unknown outcomes without faults", sum.Unknown)
			}
			if sum.Injected == 0 {
				t.Error("no injected business failure in 100 transfers at 10%")
			}
		})
	}
}

// TestBankLarge is the large run, with -large.
func TestBankLarge(t *testing.T) {
	if !*large {
		t.Skip("run with -large")
	}
	o := bankOptions(t)
	largeOptions(&o, nil)
	o.Faults, _ = parseFaults("all")
	sum, err := run(t.Context(), o)
	checkClean(t, sum, err)
}

// TestCheckInvariantsDetects is the negative control: the final checks
// must see each kind of damage.
func TestCheckInvariantsDetects(t *testing.T) {
	o := bankOptions(t)
	o.Accounts = 6
	o.Settle = 100 * time.Millisecond
	server, err := serverConfig(o.DSN)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := openDB(server, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := t.Context()
	names := dbNames(o.Prefix)
	if err := setUp(ctx, admin, server, names, o.Accounts, o.Balance); err != nil {
		t.Fatal(err)
	}
	clean := summary{Initial: o.Balance * int64(o.Accounts) * 2}
	if err := checkInvariants(ctx, admin, names, &o, newLedger(o.modes(), o.Accounts), &clean); err != nil {
		t.Fatal(err)
	}
	if len(clean.Violations) != 0 {
		t.Fatalf("fresh bank: %v", clean.Violations)
	}

	a, b, tcdb := "`"+names.bank[0]+"`", "`"+names.bank[1]+"`", "`"+names.store+"`"
	for _, stmt := range []string{
		"UPDATE " + a + ".at_account SET balance = -5 WHERE id = 0",
		"UPDATE " + b + ".tcc_account SET frozen = 3 WHERE id = 1",
		"INSERT INTO " + a + ".undo_log (branch_id, xid, context, rollback_info, log_status, log_created, log_modified) VALUES (1, 'x:1:1', '', '', 0, NOW(), NOW())",
		"INSERT INTO " + b + ".tcc_fence_log (xid, branch_id, action_name, status, gmt_create, gmt_modified) VALUES ('x:1:1', 2, 'debit', 1, NOW(), NOW())",
		"INSERT INTO " + tcdb + ".lock_table (row_key, xid, branch_id) VALUES ('k', 'x:1:1', 1)",
		"INSERT INTO " + tcdb + ".branch_table (branch_id, xid) VALUES (1, 'x:1:1')",
		"INSERT INTO " + tcdb + ".global_table (xid, status) VALUES ('x:1:1', 12), ('x:1:2', 1)",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	held, err := openDB(server, names.bank[0], 1) // a connection left open
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := held.PingContext(ctx); err != nil {
		t.Fatal(err)
	}

	var sum summary
	sum.Initial = clean.Initial
	if err := checkInvariants(ctx, admin, names, &o, newLedger(o.modes(), o.Accounts), &sum); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"sum ", "negative balances", "left frozen or incoming", "ledger: at account 0",
		"undo_log rows", "status tried", "global locks", "branch sessions",
		"ended RollbackFailed", "still Begin", "connections left open",
	}
	all := strings.Join(sum.Violations, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no violation mentions %q; got:\n%s", w, all)
		}
	}
	if sum.Negatives != 1 || sum.Undo != 1 || sum.FenceTried != 1 || sum.Locks != 1 || sum.Branches != 1 || sum.Globals != 2 || sum.Unsettled != 1 {
		t.Errorf("counts: %+v", sum)
	}
}

// TestLedger checks the accounting ranges.
func TestLedger(t *testing.T) {
	l := newLedger([]string{"at"}, 3)
	l.record(transfer{mode: "at", from: 0, to: 1, amount: 5}, committed)
	l.record(transfer{mode: "at", from: 1, to: 2, amount: 7}, unknown)
	l.record(transfer{mode: "at", from: 2, to: 0, amount: 9}, rolledBack)
	for _, c := range []struct {
		bal  map[int64]int64
		want int
	}{
		{map[int64]int64{0: 95, 1: 105, 2: 100}, 0},  // unknown did not apply
		{map[int64]int64{0: 95, 1: 98, 2: 107}, 0},   // unknown applied
		{map[int64]int64{0: 100, 1: 100, 2: 100}, 1}, // committed lost (account 1 is within the unknown)
		{map[int64]int64{0: 86, 1: 105, 2: 109}, 2},  // rolled back applied
		{map[int64]int64{0: 95, 1: 105}, 1},          // missing account
	} {
		if off, lines := l.check("at", 100, c.bal, 10); off != c.want {
			t.Errorf("balances %v: %d off (%v), want %d", c.bal, off, lines, c.want)
		}
	}
}

// TestParseFaults checks the -faults syntax.
func TestParseFaults(t *testing.T) {
	for in, want := range map[string]string{
		"": "none", "none": "none", "all": "all", "restart,kill,phase2,timeout": "all",
		"kill": "kill", "timeout, phase2": "phase2,timeout",
	} {
		f, err := parseFaults(in)
		if err != nil || f.String() != want {
			t.Errorf("parseFaults(%q) = %v, %v; want %s", in, f, err, want)
		}
	}
	if _, err := parseFaults("restart,flood"); err == nil {
		t.Error("unknown fault accepted")
	}
}

// TestProxy checks that the proxy passes frames through, and drops or
// duplicates only phase-two frames.
func TestProxy(t *testing.T) {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	frame := func(m protocol.Message, typ protocol.MessageType) []byte {
		b, err := protocol.AppendFrame(nil, &protocol.Frame{Type: typ, Codec: protocol.CodecSeata, RequestID: 7, Body: m})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	begin := frame(&protocol.GlobalBeginRequest{TimeoutMillis: 1000, TransactionName: "x"}, protocol.RequestSync)
	commit := frame(&protocol.BranchCommitRequest{XID: "a:1:1", BranchID: 2, ResourceID: "r"}, protocol.RequestSync)

	for _, c := range []struct {
		name string
		p    float64
		send [][]byte
		want [][]byte
	}{
		{"clean", 0, [][]byte{begin, commit}, [][]byte{begin, commit}},
		// With p=1 the first roll drops every phase-two request.
		{"drop", 1, [][]byte{commit, begin}, [][]byte{begin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := startPhaseTwoProxy(upstream.Addr().String(), c.p, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer x.Close()
			client, err := net.Dial("tcp", x.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := upstream.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			// Frames from the "coordinator" to the "client".
			for _, f := range c.send {
				if _, err := server.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			want := bytes.Join(c.want, nil)
			got := make([]byte, len(want))
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(client, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %x, want %x", got, want)
			}
		})
	}
}

// TestRunMain checks the command line: bad flags exit 2.
func TestRunMain(t *testing.T) {
	var out, errs bytes.Buffer
	if code := runMain(context.Background(), []string{"-mode", "xa"}, &out, &errs); code != 2 {
		t.Errorf("-mode xa: exit %d, want 2 (%s)", code, errs.String())
	}
	if code := runMain(context.Background(), []string{"-faults", "flood"}, &out, &errs); code != 2 {
		t.Errorf("-faults flood: exit %d, want 2", code)
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q", out.String())
	}
}

// Issue 13: an interrupted run printed "committed=0 ... sum=0 (CHANGED
// from ...) ... OK". A run stopped before its checks reports no sum and no
// OK, and runMain fails.
func TestInterruptedRunIsNotOK(t *testing.T) {
	s := summary{Mode: "both", Transfers: 100, Initial: 4000, Duration: time.Second}
	if got := s.String(); strings.Contains(got, " OK") || strings.Contains(got, "sum=") || !strings.Contains(got, "NOT CHECKED") {
		t.Errorf("unchecked summary: %q", got)
	}
	s.Checked, s.Sum = true, 4000
	if got := s.String(); !strings.HasSuffix(got, " OK") {
		t.Errorf("checked summary: %q", got)
	}

	// A real run interrupted in the middle of its load.
	o := bankOptions(t)
	o.Accounts, o.Workers, o.Nodes, o.Transfers = 8, 2, 1, 1_000_000
	ctx, cancel := context.WithCancel(t.Context())
	var progress bytes.Buffer
	o.Progress = &progress
	done := make(chan struct{})
	var sum summary
	var err error
	go func() {
		defer close(done)
		sum, err = run(ctx, o)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		time.Sleep(20 * time.Millisecond)
		if time.Now().After(deadline) {
			t.Fatal("the load did not start")
		}
		if rows := countCommitted(t, o); rows > 0 {
			break
		}
	}
	cancel()
	<-done
	if err == nil || sum.Checked || strings.HasSuffix(sum.String(), " OK") {
		t.Fatalf("interrupted run: err %v, summary %q", err, sum.String())
	}
}

// countCommitted counts the committed global transactions in the run's
// coordinator store.
func countCommitted(t *testing.T, o options) int {
	server, err := serverConfig(o.DSN)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(server, dbNames(o.Prefix).store, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM global_table").Scan(&n); err != nil {
		return 0 // not created yet
	}
	return n
}

func TestProgressLineSaysTimeLeft(t *testing.T) {
	got := progressLine(10*time.Second, 80, 15, 5, 1000)
	if !strings.Contains(got, "100 of 1000 transfers") || !strings.Contains(got, "10/s") || !strings.Contains(got, "about 1m30s left") {
		t.Errorf("progress line %q", got)
	}
}

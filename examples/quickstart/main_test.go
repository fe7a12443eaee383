package main

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/examples/internal/dbserver"
)

func TestMain(m *testing.M) {
	atcc.SetGettyLogger(nil)
	os.Exit(m.Run())
}

// runExample runs the quickstart and fails the test with its report if it
// returns an error.
func runExample(t *testing.T, o options) string {
	t.Helper()
	var out bytes.Buffer
	o.out = &out
	o.logger = slog.New(slog.DiscardHandler)
	if err := run(t.Context(), o); err != nil {
		t.Fatalf("run: %v\nreport:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok: alice has 70 and bob 30") {
		t.Fatalf("report without the final line:\n%s", out.String())
	}
	return out.String()
}

// TestEmbedded runs the quickstart as `go run ./quickstart` does: against the
// in-memory server.
func TestEmbedded(t *testing.T) {
	t.Log("\n" + runExample(t, options{databases: [2]string{"bank_a", "bank_b"}}))
}

// TestMariaDB runs it twice against the test server: the second run starts
// again from fresh tables in the same databases.
func TestMariaDB(t *testing.T) {
	dsn := dbserver.TestDSN(t)
	o := options{dsn: dsn, databases: [2]string{dbserver.TestDatabase(t, dsn), dbserver.TestDatabase(t, dsn)}}
	t.Log("\n" + runExample(t, o))
	runExample(t, o)
}

// TestExpectMismatch checks that the report's checks can fail: a state other
// than the expected one is an error.
func TestExpectMismatch(t *testing.T) {
	server, err := dbserver.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	var banks [2]*bank
	for i, name := range []string{"bank_a", "bank_b"} {
		raw, err := server.CreateDatabase(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		banks[i] = &bank{name: name, owner: []string{"alice", "bob"}[i], raw: raw}
		if err := banks[i].createTables(t.Context(), 100); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	r := &reporter{out: &out, a: banks[0], b: banks[1]}
	if err := r.expect(t.Context(), "right", state{100, 100, 0, 0}); err != nil {
		t.Fatalf("expect the actual state: %v", err)
	}
	if err := r.expect(t.Context(), "wrong", state{100, 0, 0, 0}); err == nil {
		t.Fatalf("expect a wrong state: no error\n%s", out.String())
	}
}

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

func testOptions(dsn string, databases [2]string, out *bytes.Buffer) options {
	return options{dsn: dsn, databases: databases, out: out, logger: slog.New(slog.DiscardHandler)}
}

// TestAllMariaDB runs `-all` against the test server.
func TestAllMariaDB(t *testing.T) {
	dsn := dbserver.TestDSN(t)
	var out bytes.Buffer
	o := testOptions(dsn, [2]string{dbserver.TestDatabase(t, dsn), dbserver.TestDatabase(t, dsn)}, &out)
	if err := runAll(t.Context(), o); err != nil {
		t.Fatalf("%v\nreport:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok: alice has 70 and bob 30") {
		t.Fatalf("report without the final line:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}

// TestAllEmbedded runs `-all -embedded`: each service has its own in-memory
// server.
func TestAllEmbedded(t *testing.T) {
	var out bytes.Buffer
	if err := runAll(t.Context(), testOptions("", [2]string{"a", "b"}, &out)); err != nil {
		t.Fatalf("%v\nreport:\n%s", err, out.String())
	}
}

// TestRoles runs the roles as the three-process mode does: the services
// first, then the caller (with -tc-external, the coordinator being the
// test's), twice: the second run checks balances relative to what the first
// left.
func TestRoles(t *testing.T) {
	dsn := dbserver.TestDSN(t)
	var out bytes.Buffer
	o := testOptions(dsn, [2]string{dbserver.TestDatabase(t, dsn), dbserver.TestDatabase(t, dsn)}, &out)
	coord, err := startCoordinator(t.Context(), "127.0.0.1:0", o.logger)
	if err != nil {
		t.Fatal(err)
	}
	defer coord.Close()
	o.tc, o.externalTC = coord.Addr().String(), true
	o.a, o.b = "127.0.0.1:0", "127.0.0.1:0"
	a, err := startAccount(t.Context(), accountFor(o, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := startAccount(t.Context(), accountFor(o, "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	o.a, o.b = a.addr(), b.addr()

	for _, want := range []string{"ok: alice has 70 and bob 30", "ok: alice has 40 and bob 60"} {
		out.Reset()
		if err := runCaller(t.Context(), o); err != nil {
			t.Fatalf("%v\nreport:\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("want %q in the report:\n%s", want, out.String())
		}
	}
	if err := a.close(); err != nil {
		t.Errorf("close account-a: %v", err)
	}
}

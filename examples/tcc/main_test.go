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

// runExample runs the example and fails the test with its report if it
// returns an error.
func runExample(t *testing.T, dsn, database string) string {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), options{dsn: dsn, database: database, out: &out, logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("run: %v\nreport:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok: 7 seats available, 3 sold") {
		t.Fatalf("report without the final line:\n%s", out.String())
	}
	return out.String()
}

// TestMariaDB runs the example twice on the same database: the second run
// starts again from fresh tables.
func TestMariaDB(t *testing.T) {
	dsn := dbserver.TestDSN(t)
	database := dbserver.TestDatabase(t, dsn)
	t.Log("\n" + runExample(t, dsn, database))
	runExample(t, dsn, database)
}

func TestEmbedded(t *testing.T) {
	runExample(t, "", "atcc_example_tcc")
}

package atcc

import (
	"os"
	"testing"

	"github.com/atcc-go/atcc/internal/quietstderr"
	"github.com/atcc-go/atcc/internal/testdb"
)

// TestMain fails the client's tests when the library writes anything to
// stderr (issue 13: getty's process-wide logger wrote thousands of lines),
// and says how many tests were skipped for want of a database.
func TestMain(m *testing.M) {
	os.Exit(quietstderr.Run(testdbRun{m}))
}

type testdbRun struct{ m *testing.M }

func (r testdbRun) Run() int { return testdb.Run(r.m) }

package tcc

import (
	"os"
	"testing"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
)

// TestMain keeps getty's session logs out of failure output and says how
// many tests were skipped for want of a database.
func TestMain(m *testing.M) {
	rpc.SetGettyLogger(nil)
	os.Exit(testdb.Run(m))
}

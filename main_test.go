package atcc

import (
	"os"
	"testing"

	"github.com/atcc-go/atcc/internal/quietstderr"
)

// TestMain fails the client's tests when the library writes anything to
// stderr (issue 13: getty's process-wide logger wrote thousands of lines).
func TestMain(m *testing.M) {
	os.Exit(quietstderr.Run(m))
}

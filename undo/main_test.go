package undo

import (
	"os"
	"testing"

	"github.com/atcc-go/atcc/internal/testdb"
)

// TestMain says how many tests were skipped for want of a database.
func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

package datasource

import (
	"log/slog"
	"os"
	"testing"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(slog.New(slog.DiscardHandler))
	os.Exit(testdb.Run(m))
}

package datasource

import (
	"log/slog"
	"os"
	"testing"

	"github.com/atcc-go/atcc/rpc"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

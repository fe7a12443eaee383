package tc

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkServerBeginCommit measures empty global transactions (begin +
// commit) per second through the rpc client and the server, in one process,
// with 1 and 64 concurrent callers, for each store.
func BenchmarkServerBeginCommit(b *testing.B) {
	for _, kind := range []string{"memory", "mysql"} {
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", kind, callers), func(b *testing.B) {
				cfg := Config{RetryPeriod: time.Second}
				if kind == "mysql" {
					cfg.DB = mysqlTables(b).DB
				}
				s := startServer(b, cfg)
				tm := newClient(b, "bench", nil, nil, s.Addr())
				ctx := context.Background()
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "bench"})
						if err != nil {
							b.Error(err)
							return
						}
						resp, err = tm.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: resp.(*protocol.GlobalBeginResponse).XID})
						if err != nil || resp.(*protocol.GlobalCommitResponse).GlobalStatus != protocol.GlobalCommitted {
							b.Error(resp, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			})
		}
	}
}

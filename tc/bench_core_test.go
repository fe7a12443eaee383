package tc

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkCoreBeginCommit measures empty global transactions (begin +
// commit) through the coordinator core, without the transport.
func BenchmarkCoreBeginCommit(b *testing.B) {
	for _, k := range storeKinds {
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", k.name, callers), func(b *testing.B) {
				c := newTestCore(b, k.open(b), func(c *coreConfig) { c.retryPeriod = time.Second })
				ctx := context.Background()
				b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						xid, err := c.coordinator.begin(ctx, tmPeer, 60000, "bench")
						if err != nil {
							b.Error(err)
							return
						}
						if st, err := c.commit(ctx, xid); err != nil || st != protocol.GlobalCommitted {
							b.Error(st, err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			})
		}
	}
}

//go:build unix

package rpc

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// inlineBenchTC is benchTC answering on the read goroutine.
type inlineBenchTC struct{ benchTC }

func (inlineBenchTC) Inline(protocol.Message) bool { return true }

// BenchmarkServerHop measures GlobalBegin round trips with the server's
// answer computed on a worker (pool) or on the session's read goroutine
// (inline), with 1 and 8 concurrent callers.
func BenchmarkServerHop(b *testing.B) {
	for _, mode := range []string{"pool", "inline"} {
		for _, callers := range []int{1, 8} {
			b.Run(mode+"/callers="+itoa(callers), func(b *testing.B) {
				var h ServerHandler = benchTC{}
				if mode == "inline" {
					h = inlineBenchTC{}
				}
				srv := NewServer(ServerConfig{Workers: 64}, h)
				if err := srv.Start("127.0.0.1:0"); err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				c, err := NewClient(testClientConfig(srv.Addr().String()))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				ctx := context.Background()
				if err := c.Ping(ctx); err != nil {
					b.Fatal(err)
				}
				req := &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "bench"}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				var wg sync.WaitGroup
				per := b.N / callers
				for i := range callers {
					n := per
					if i == 0 {
						n += b.N % callers
					}
					wg.Go(func() {
						for range n {
							if _, err := c.Call(ctx, RoleTM, req); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				// Wall time means little on a loaded machine; the process's
				// CPU time per round trip (client and server) does.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU returns the CPU time the process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkCall measures GlobalBegin round trips between a Client and a
// Server in one process over loopback (both sides' costs count), with 1
// and 64 concurrent callers, and with 64 callers batching (1ms window).
func BenchmarkCall(b *testing.B) {
	for _, bc := range []struct {
		callers int
		batch   bool
	}{{1, false}, {64, false}, {64, true}} {
		name := "callers=" + itoa(bc.callers)
		if bc.batch {
			name += "/batch"
		}
		callers := bc.callers
		b.Run(name, func(b *testing.B) {
			srv := NewServer(ServerConfig{Workers: 64}, &benchTC{})
			if err := srv.Start("127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			cfg := testClientConfig(srv.Addr().String())
			cfg.Batch = bc.batch
			c, err := NewClient(cfg)
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
			start := time.Now()
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
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// benchTC answers GlobalBegin with a fixed response: the benchmark measures
// the transport, not the handler.
type benchTC struct{}

func (benchTC) HandleRequest(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
	return &protocol.GlobalBeginResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, XID: "127.0.0.1:8091:2612345678901234567"}
}
func (benchTC) SessionRegistered(*ServerSession) {}
func (benchTC) SessionClosed(*ServerSession)     {}

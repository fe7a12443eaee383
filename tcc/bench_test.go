package tcc_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tcc"
	"github.com/atcc-go/atcc/tm"
)

// nop is an action that does nothing.
type nop string

func (n nop) Name() string                                    { return string(n) }
func (nop) Try(context.Context, *tcc.ActionContext) error     { return nil }
func (nop) Confirm(context.Context, *tcc.ActionContext) error { return nil }
func (nop) Cancel(context.Context, *tcc.ActionContext) error  { return nil }

// BenchmarkTwoActions runs committed global transactions of two TCC
// actions against an embedded coordinator (memory store), all in this
// process: begin, two tries (two branch registrations), commit (two
// synchronous confirms). allocs/tx counts every allocation of the process
// (client and coordinator goroutines) per global transaction.
func BenchmarkTwoActions(b *testing.B) {
	for _, fenced := range []bool{false, true} {
		name := map[bool]string{false: "nofence", true: "fence"}[fenced]
		b.Run(name, func(b *testing.B) {
			srv := startTC(b, tc.Config{})
			c := newClient(b, srv, "bench")
			opts := tcc.Config{}
			if fenced {
				opts.Fence = fenceDB(b)
			}
			pa := register(b, c, nop("debit"), opts)
			pb := register(b, c, nop("credit"), opts)
			ctx := context.Background()
			params := tcc.Params{"account": 17, "amount": 250}
			run := func(ctx context.Context) error {
				if err := pa.Try(ctx, params); err != nil {
					return err
				}
				return pb.Try(ctx, params)
			}
			if err := c.TM().WithGlobalTx(ctx, tm.TxOptions{}, run); err != nil { // connect, warm up
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "bench"}, run); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/tx")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
		})
	}
}

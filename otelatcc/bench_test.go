package otelatcc_test

import (
	"context"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/otelatcc"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
)

// BenchmarkBeginCommit measures a global transaction without branches
// (GlobalBegin and GlobalCommit to an in-process coordinator) with no
// Observer, with otelatcc over no-op providers, and over the SDK (a
// manual reader, spans sampled and dropped).
func BenchmarkBeginCommit(b *testing.B) {
	sdkTP := sdktrace.NewTracerProvider()
	defer sdkTP.Shutdown(context.Background())
	for _, c := range []struct {
		name string
		obs  observe.Observer
	}{
		{"none", nil},
		{"otel-noop", otelatcc.New(otelatcc.Config{MeterProvider: metricnoop.NewMeterProvider(), TracerProvider: tracenoop.NewTracerProvider()})},
		{"otel-sdk", otelatcc.New(otelatcc.Config{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())), TracerProvider: sdkTP})},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			srv, err := tc.New(tc.Config{})
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			client, err := atcc.New(atcc.Config{ApplicationID: "bench", Coordinators: []string{srv.Addr().String()},
				RequestTimeout: 10 * time.Second, Observer: c.obs})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			if err := client.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, tx, err := client.TM().Begin(ctx, tm.TxOptions{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

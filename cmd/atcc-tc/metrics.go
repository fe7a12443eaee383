package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// metrics is the binary's OpenTelemetry MeterProvider, read by a
// Prometheus exporter into a registry of its own (never Prometheus's
// global one), with the Go runtime and process collectors beside it.
// Only this binary imports the SDK and the exporter; the library packages
// see the OpenTelemetry API alone.
type metrics struct {
	// provider is what instruments the coordinator: hand it to the
	// coordinator's observer (tc.Config) so that its meters reach
	// /metrics.
	provider *sdkmetric.MeterProvider
	// handler serves the registry in the Prometheus text format.
	handler http.Handler
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	return &metrics{
		provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		handler:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4}),
	}, nil
}

func (m *metrics) shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }

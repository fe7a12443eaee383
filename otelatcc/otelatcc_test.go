package otelatcc_test

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/otelatcc"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(slog.New(slog.DiscardHandler))
	os.Exit(testdb.Run(m))
}

// world is a coordinator, a client and an AT data source, observed
// through one reader and one span exporter each side.
type world struct {
	srv     *tc.Server
	client  *atcc.Client
	db      *sql.DB
	cReader *sdkmetric.ManualReader // client metrics
	sReader *sdkmetric.ManualReader // coordinator metrics
	spans   *tracetest.InMemoryExporter
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{cReader: sdkmetric.NewManualReader(), sReader: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(w.spans))
	cmp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(w.cReader))
	smp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(w.sReader))
	t.Cleanup(func() {
		tp.Shutdown(ctx)
		cmp.Shutdown(ctx)
		smp.Shutdown(ctx)
	})
	cobs := otelatcc.New(otelatcc.Config{MeterProvider: cmp, TracerProvider: tp})
	sobs := otelatcc.New(otelatcc.Config{MeterProvider: smp, TracerProvider: tp})

	srv, err := tc.New(tc.Config{RetryPeriod: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		Limits: tc.Limits{MaxTimeout: time.Minute}, Observer: sobs})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx, "127.0.0.1:0"))
	t.Cleanup(func() { srv.Close() })
	stopS, err := sobs.ObserveCoordinator(srv)
	require.NoError(t, err)
	t.Cleanup(func() { stopS() })

	client, err := atcc.New(atcc.Config{ApplicationID: "otel-test", Coordinators: []string{srv.Addr().String()},
		RetryBackoff: 10 * time.Millisecond, Observer: cobs})
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	stopC, err := cobs.ObserveClient(client)
	require.NoError(t, err)
	t.Cleanup(func() { stopC() })

	d := testdb.Create(t)
	require.NoError(t, undo.CreateTable(ctx, d.DB, ""))
	d.Exec(t, "CREATE TABLE stock (id INT PRIMARY KEY, n INT NOT NULL)", "INSERT INTO stock VALUES (1, 10), (2, 10)")
	conn, err := datasource.NewConnector(d.Connector(t), client, datasource.Config{ResourceID: "otel/" + d.Name, LockRetries: -1})
	require.NoError(t, err)
	w.db = sql.OpenDB(conn)
	t.Cleanup(func() { w.db.Close() })
	require.NoError(t, client.Ping(ctx))
	w.srv, w.client = srv, client
	return w
}

// take updates row id in a local transaction of ctx.
func (w *world) take(ctx context.Context, id int) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE stock SET n = n - 1 WHERE id = ?", id); err != nil {
		return err
	}
	return tx.Commit()
}

var errBusiness = errors.New("business failure")

func collect(t *testing.T, r *sdkmetric.ManualReader) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	return rm
}

// find returns the metric name.
func find(rm metricdata.ResourceMetrics, name string) (metricdata.Metrics, bool) {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m, true
			}
		}
	}
	return metricdata.Metrics{}, false
}

// has reports whether set holds every attribute of want.
func has(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// value sums the points of the counter (or up-down counter) name whose
// attributes include want, and the counts of a histogram's.
func value(t *testing.T, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	m, ok := find(rm, name)
	require.True(t, ok, "metric %s missing", name)
	var n int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, want) {
				n += p.Value
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if has(p.Attributes, want) {
				n += int64(p.Count)
			}
		}
	default:
		t.Fatalf("metric %s has data %T", name, m.Data)
	}
	return n
}

func str(k, v string) attribute.KeyValue { return attribute.String(k, v) }

func TestMetrics(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m := w.client.TM()

	// Committed, with one AT branch.
	require.NoError(t, m.WithGlobalTx(ctx, tm.TxOptions{Name: "buy"}, func(ctx context.Context) error {
		return w.take(ctx, 1)
	}))
	// Rolled back after the branch committed locally.
	err := m.WithGlobalTx(ctx, tm.TxOptions{Name: "buy"}, func(ctx context.Context) error {
		if err := w.take(ctx, 1); err != nil {
			return err
		}
		return errBusiness
	})
	require.ErrorIs(t, err, errBusiness)

	// A conflict: holder keeps row 2 locked; the other transaction runs
	// twice (one conflict retry), conflicting each time, and gives up.
	hctx, holder, err := m.Begin(ctx, tm.TxOptions{Name: "hold"})
	require.NoError(t, err)
	require.NoError(t, w.take(hctx, 2))
	err = m.WithGlobalTx(ctx, tm.TxOptions{Name: "buy", ConflictRetries: 1}, func(ctx context.Context) error {
		return w.take(ctx, 2)
	})
	require.ErrorIs(t, err, tm.ErrConflict)
	require.NoError(t, holder.Rollback(ctx))

	// Refused by the coordinator: a timeout over Limits.MaxTimeout.
	_, _, err = m.Begin(ctx, tm.TxOptions{Timeout: 2 * time.Minute})
	require.Error(t, err)

	// The commit's phase two runs in the background: wait for it.
	require.Eventually(t, func() bool {
		return value(t, collect(t, w.cReader), "atcc.client.phase_two.duration", str("atcc.phase", "commit")) == 1
	}, 10*time.Second, 10*time.Millisecond)

	c := collect(t, w.cReader)
	require.EqualValues(t, 5, value(t, c, "atcc.client.global_tx.begun")) // buy, buy, hold, buy twice
	require.EqualValues(t, 1, value(t, c, "atcc.client.global_tx.ended", str("atcc.outcome", "committed")))
	require.EqualValues(t, 4, value(t, c, "atcc.client.global_tx.ended", str("atcc.outcome", "rolled_back")))
	require.EqualValues(t, 5, value(t, c, "atcc.client.global_tx.duration"))
	require.EqualValues(t, 1, value(t, c, "atcc.client.global_tx.conflict_retries"))
	require.EqualValues(t, 3, value(t, c, "atcc.client.branch.registered", str("atcc.result", "ok"), str("atcc.branch.type", "AT")))
	require.EqualValues(t, 2, value(t, c, "atcc.client.branch.registered", str("atcc.result", "lock_conflict")))
	require.EqualValues(t, 2, value(t, c, "atcc.client.lock.conflicts", str("atcc.branch.type", "AT")))
	require.Greater(t, value(t, c, "atcc.client.undo_log.size"), int64(100))
	require.EqualValues(t, 1, value(t, c, "atcc.client.phase_two.duration", str("atcc.phase", "commit"), str("atcc.branch.status", "PhaseTwo_Committed")))
	require.EqualValues(t, 2, value(t, c, "atcc.client.phase_two.duration", str("atcc.phase", "rollback"), str("atcc.branch.status", "PhaseTwo_Rollbacked")))
	require.EqualValues(t, 5, value(t, c, "atcc.client.request.duration", str("atcc.request.type", "GlobalBeginRequest"), str("atcc.result", "ok")))
	require.EqualValues(t, 1, value(t, c, "atcc.client.request.duration", str("atcc.request.type", "GlobalBeginRequest"), str("atcc.result", "error")))
	require.EqualValues(t, 2, value(t, c, "atcc.client.connections", str("atcc.state", "ready"))) // TM and RM
	require.EqualValues(t, 0, value(t, c, "atcc.client.connections", str("atcc.state", "down")))
	require.EqualValues(t, 0, value(t, c, "atcc.client.worker.queue_depth"))
	require.EqualValues(t, 0, value(t, c, "atcc.client.requests.pending"))
	require.EqualValues(t, 0, value(t, c, "atcc.client.phase_two.rejected"))

	s := collect(t, w.sReader)
	require.EqualValues(t, 5, value(t, s, "atcc.coordinator.global_tx.begun"))
	require.EqualValues(t, 3, value(t, s, "atcc.coordinator.branch.registered", str("atcc.branch.type", "AT")))
	require.EqualValues(t, 2, value(t, s, "atcc.coordinator.lock.conflicts"))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.global_tx.ended", str("atcc.status", "Committed")))
	require.EqualValues(t, 4, value(t, s, "atcc.coordinator.global_tx.ended", str("atcc.status", "Rollbacked")))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.global_tx.duration", str("atcc.status", "Committed")))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.phase_two.duration", str("atcc.phase", "commit"), str("atcc.branch.type", "AT")))
	require.EqualValues(t, 2, value(t, s, "atcc.coordinator.phase_two.duration", str("atcc.phase", "rollback"), str("atcc.branch.status", "PhaseTwo_Rollbacked")))
	require.EqualValues(t, 2, value(t, s, "atcc.coordinator.request.duration", str("atcc.request.type", "BranchRegisterRequest"), str("atcc.result", "LockKeyConflict")))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.request.duration", str("atcc.request.type", "GlobalBeginRequest"), str("atcc.result", "BeginFailed")))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.requests.refused", str("atcc.reason", "max_timeout")))
	require.EqualValues(t, 2, value(t, s, "atcc.coordinator.connections"))
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.locks.held"))
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.worker.queue_depth"))
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.global_tx.waiting"))
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.requests.rejected"))
}

// TestGaugesWhileHeld: an open transaction and its locks show in the
// coordinator's gauges.
func TestGaugesWhileHeld(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	hctx, holder, err := w.client.TM().Begin(ctx, tm.TxOptions{Name: "hold"})
	require.NoError(t, err)
	require.NoError(t, w.take(hctx, 1))
	s := collect(t, w.sReader)
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.global_tx.count", str("atcc.status", "Begin")))
	require.EqualValues(t, 1, value(t, s, "atcc.coordinator.locks.held"))
	require.NoError(t, holder.Rollback(ctx))
	s = collect(t, w.sReader)
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.locks.held"))
	require.EqualValues(t, 0, value(t, s, "atcc.coordinator.global_tx.count", str("atcc.status", "Begin")))
}

func TestSpans(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var xid string
	err := w.client.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "buy"}, func(ctx context.Context) error {
		xid, _ = tm.XID(ctx)
		if err := w.take(ctx, 1); err != nil {
			return err
		}
		return errBusiness
	})
	require.ErrorIs(t, err, errBusiness)

	byName := map[string]tracetest.SpanStub{}
	for _, s := range w.spans.GetSpans() {
		byName[s.Name] = s
	}
	attr := func(s tracetest.SpanStub, k string) string {
		for _, kv := range s.Attributes {
			if string(kv.Key) == k {
				return kv.Value.Emit()
			}
		}
		return ""
	}
	g, ok := byName["atcc.global_tx"]
	require.True(t, ok, "spans: %v", keys(byName))
	require.Equal(t, xid, attr(g, "atcc.xid"))
	require.Equal(t, "buy", attr(g, "atcc.tx.name"))
	require.Equal(t, "rolled_back", attr(g, "atcc.outcome"))
	for _, name := range []string{"atcc.branch_register", "atcc.undo_write", "atcc.global_rollback"} {
		s, ok := byName[name]
		require.True(t, ok, "span %s missing; spans: %v", name, keys(byName))
		require.Equal(t, g.SpanContext.SpanID(), s.Parent.SpanID(), "%s is a child of the global transaction", name)
		require.Equal(t, xid, attr(s, "atcc.xid"), name)
	}
	require.NotEmpty(t, attr(byName["atcc.undo_write"], "atcc.undo_log.size"))
	// Phase two, on the RM and at the coordinator: traces of their own,
	// linked to the global transaction's span.
	for _, name := range []string{"atcc.branch_rollback", "atcc.coordinator.branch_rollback"} {
		s, ok := byName[name]
		require.True(t, ok, "span %s missing; spans: %v", name, keys(byName))
		require.Equal(t, xid, attr(s, "atcc.xid"), name)
		require.Equal(t, "PhaseTwo_Rollbacked", attr(s, "atcc.branch.status"), name)
		require.Len(t, s.Links, 1, name)
		require.Equal(t, g.SpanContext.TraceID(), s.Links[0].SpanContext.TraceID(), name)
		require.Equal(t, g.SpanContext.SpanID(), s.Links[0].SpanContext.SpanID(), name)
	}
}

func keys(m map[string]tracetest.SpanStub) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

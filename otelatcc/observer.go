package otelatcc

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/atcc-go/atcc/observe"
)

// scope is the instrumentation scope name of the meter and the tracer.
const scope = "github.com/atcc-go/atcc/otelatcc"

// Config configures an Observer.
type Config struct {
	// MeterProvider creates the instruments. Default: the global one
	// (otel.GetMeterProvider), which discards everything until the
	// application sets one with otel.SetMeterProvider.
	MeterProvider metric.MeterProvider
	// TracerProvider creates the spans. Default: the global one
	// (otel.GetTracerProvider), a no-op until the application sets one.
	TracerProvider trace.TracerProvider
}

// Observer implements observe.Observer with OpenTelemetry. One Observer
// may serve several clients and coordinators. It is safe for concurrent
// use; it holds no goroutine and needs no closing (ObserveClient and
// ObserveCoordinator return the function that removes their callbacks).
type Observer struct {
	meter  metric.Meter
	tracer trace.Tracer

	// client
	txBegun, txEnded, conflictRetries metric.Int64Counter
	txDuration                        metric.Float64Histogram
	branchRegistered, lockConflicts   metric.Int64Counter
	undoBytes                         metric.Int64Counter
	phaseTwoDuration, requestDuration metric.Float64Histogram
	coordBegun, coordRegistered       metric.Int64Counter
	coordConflicts, coordEnded        metric.Int64Counter
	coordRequestDuration, coordTxDur  metric.Float64Histogram
	coordPhaseTwoDuration             metric.Float64Histogram
}

var _ observe.Observer = (*Observer)(nil)

// durationBuckets are the bounds, in seconds, of the duration histograms:
// OpenTelemetry's semantic-convention buckets with sub-millisecond ones
// added for requests on a local network.
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}

// New returns an Observer that records with cfg's providers. It does no
// I/O. An instrument the MeterProvider fails to create is reported to
// otel.Handle and left as a no-op.
func New(cfg Config) *Observer {
	mp, tp := cfg.MeterProvider, cfg.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &Observer{meter: mp.Meter(scope), tracer: tp.Tracer(scope)}
	m := o.meter
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		handle(err)
		return c
	}
	hist := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		handle(err)
		return h
	}
	o.txBegun = counter("atcc.client.global_tx.begun", "{transaction}", "Global transactions begun by this client.")
	o.txEnded = counter("atcc.client.global_tx.ended", "{transaction}", "Global transactions this client began and ended, by outcome.")
	o.txDuration = hist("atcc.client.global_tx.duration", "Duration of the global transactions this client began, from Begin to the end of Commit or Rollback.")
	o.conflictRetries = counter("atcc.client.global_tx.conflict_retries", "{retry}", "Global transactions run again by WithGlobalTx after a conflict.")
	o.branchRegistered = counter("atcc.client.branch.registered", "{branch}", "BranchRegister requests, by result.")
	o.lockConflicts = counter("atcc.client.lock.conflicts", "{conflict}", "Row locks refused or found held by another global transaction.")
	o.undoBytes = counter("atcc.client.undo_log.size", "By", "Bytes of undo log written.")
	o.phaseTwoDuration = hist("atcc.client.phase_two.duration", "Phase-two requests handled by the resource manager.")
	o.requestDuration = hist("atcc.client.request.duration", "Requests to the coordinator.")
	o.coordBegun = counter("atcc.coordinator.global_tx.begun", "{transaction}", "Global transactions begun on this coordinator.")
	o.coordRegistered = counter("atcc.coordinator.branch.registered", "{branch}", "Branches registered on this coordinator.")
	o.coordConflicts = counter("atcc.coordinator.lock.conflicts", "{conflict}", "Branch registrations refused for a row lock held by another global transaction.")
	o.coordEnded = counter("atcc.coordinator.global_tx.ended", "{transaction}", "Global transactions that reached an end status on this coordinator, by status.")
	o.coordTxDur = hist("atcc.coordinator.global_tx.duration", "Duration of global transactions from their begin to their end status.")
	o.coordRequestDuration = hist("atcc.coordinator.request.duration", "Requests handled by the coordinator, by type and result.")
	o.coordPhaseTwoDuration = hist("atcc.coordinator.phase_two.duration", "BranchCommit and BranchRollback calls to resource managers.")
	return o
}

func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

// Attribute keys.
const (
	keyXID          = attribute.Key("atcc.xid")
	keyBranchID     = attribute.Key("atcc.branch.id")
	keyBranchType   = attribute.Key("atcc.branch.type")
	keyBranchStatus = attribute.Key("atcc.branch.status")
	keyResource     = attribute.Key("atcc.resource.id")
	keyTxName       = attribute.Key("atcc.tx.name")
	keyOutcome      = attribute.Key("atcc.outcome")
	keyResult       = attribute.Key("atcc.result")
	keyStatus       = attribute.Key("atcc.status")
	keyPhase        = attribute.Key("atcc.phase")
	keyRequestType  = attribute.Key("atcc.request.type")
	keyBytes        = attribute.Key("atcc.undo_log.size")
)

// spanName returns the span of an operation kind, "" for kinds without one.
func spanName(op observe.Op) (string, trace.SpanKind) {
	switch op.Kind {
	case observe.GlobalTx:
		return "atcc.global_tx", trace.SpanKindInternal
	case observe.GlobalCommit:
		return "atcc.global_commit", trace.SpanKindClient
	case observe.GlobalRollback:
		return "atcc.global_rollback", trace.SpanKindClient
	case observe.BranchRegister:
		return "atcc.branch_register", trace.SpanKindClient
	case observe.UndoWrite:
		return "atcc.undo_write", trace.SpanKindInternal
	case observe.PhaseTwo:
		return "atcc.branch_" + op.Name, trace.SpanKindServer
	case observe.CoordinatorPhaseTwo:
		return "atcc.coordinator.branch_" + op.Name, trace.SpanKindClient
	}
	return "", 0
}

// Start implements observe.Observer: it starts the operation's span, if
// its kind has one, and counts begun transactions.
func (o *Observer) Start(ctx context.Context, op observe.Op) context.Context {
	if op.Kind == observe.GlobalTx {
		o.txBegun.Add(ctx, 1)
	}
	name, kind := spanName(op)
	if name == "" {
		return ctx
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(kind), trace.WithTimestamp(op.Start),
		trace.WithAttributes(spanAttrs(op)...)}
	if op.TraceParent != "" {
		if sc := parseTraceParent(op.TraceParent); sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	ctx, _ = o.tracer.Start(ctx, name, opts...)
	return ctx
}

// spanAttrs returns the attributes an operation's span starts with.
func spanAttrs(op observe.Op) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 6)
	if op.XID != "" {
		a = append(a, keyXID.String(op.XID))
	}
	if op.BranchID != 0 {
		a = append(a, keyBranchID.Int64(op.BranchID))
	}
	if op.BranchType != "" {
		a = append(a, keyBranchType.String(op.BranchType))
	}
	if op.Resource != "" {
		a = append(a, keyResource.String(op.Resource))
	}
	if op.Kind == observe.GlobalTx && op.Name != "" {
		a = append(a, keyTxName.String(op.Name))
	}
	return a
}

// End implements observe.Observer: it records the operation's metrics and
// ends its span.
func (o *Observer) End(ctx context.Context, op observe.Op) {
	secs := time.Since(op.Start).Seconds()
	switch op.Kind {
	case observe.GlobalTx:
		attrs := metric.WithAttributes(keyOutcome.String(op.Result))
		o.txEnded.Add(ctx, 1, attrs)
		o.txDuration.Record(ctx, secs, attrs)
	case observe.BranchRegister:
		o.branchRegistered.Add(ctx, 1, metric.WithAttributes(keyBranchType.String(op.BranchType),
			keyResource.String(op.Resource), keyResult.String(op.Result)))
	case observe.UndoWrite:
		if op.Err == nil {
			o.undoBytes.Add(ctx, int64(op.Bytes), metric.WithAttributes(keyResource.String(op.Resource)))
		}
	case observe.PhaseTwo:
		o.phaseTwoDuration.Record(ctx, secs, metric.WithAttributes(keyPhase.String(op.Name),
			keyBranchType.String(op.BranchType), keyResource.String(op.Resource), keyBranchStatus.String(op.Result)))
	case observe.Request:
		o.requestDuration.Record(ctx, secs, metric.WithAttributes(keyRequestType.String(op.Name), keyResult.String(op.Result)))
	case observe.CoordinatorRequest:
		o.coordinatorRequest(ctx, op, secs)
	case observe.CoordinatorPhaseTwo:
		o.coordPhaseTwoDuration.Record(ctx, secs, metric.WithAttributes(keyPhase.String(op.Name),
			keyBranchType.String(op.BranchType), keyBranchStatus.String(op.Result)))
	}
	if name, _ := spanName(op); name != "" {
		endSpan(trace.SpanFromContext(ctx), op)
	}
}

// coordinatorRequest records a request the coordinator handled.
func (o *Observer) coordinatorRequest(ctx context.Context, op observe.Op, secs float64) {
	o.coordRequestDuration.Record(ctx, secs, metric.WithAttributes(keyRequestType.String(op.Name), keyResult.String(op.Result)))
	switch op.Name {
	case "GlobalBeginRequest":
		if op.Result == observe.ResultOK {
			o.coordBegun.Add(ctx, 1)
		}
	case "BranchRegisterRequest":
		switch op.Result {
		case observe.ResultOK:
			o.coordRegistered.Add(ctx, 1, metric.WithAttributes(keyBranchType.String(op.BranchType)))
		case "LockKeyConflict", "LockKeyConflictFailFast":
			o.coordConflicts.Add(ctx, 1, metric.WithAttributes(keyBranchType.String(op.BranchType)))
		}
	}
}

// endSpan completes and ends the span of op.
func endSpan(span trace.Span, op observe.Op) {
	if op.XID != "" {
		span.SetAttributes(keyXID.String(op.XID))
	}
	if op.BranchID != 0 {
		span.SetAttributes(keyBranchID.Int64(op.BranchID))
	}
	switch op.Kind {
	case observe.GlobalTx:
		span.SetAttributes(keyOutcome.String(op.Result))
	case observe.UndoWrite:
		span.SetAttributes(keyBytes.Int(op.Bytes))
	case observe.PhaseTwo, observe.CoordinatorPhaseTwo:
		span.SetAttributes(keyBranchStatus.String(op.Result))
	default:
		span.SetAttributes(keyResult.String(op.Result))
	}
	if op.Err != nil {
		span.RecordError(op.Err)
		span.SetStatus(codes.Error, op.Err.Error())
	}
	span.End()
}

// Event implements observe.Observer: it counts the event.
func (o *Observer) Event(ctx context.Context, op observe.Op) {
	switch op.Kind {
	case observe.LockConflict:
		o.lockConflicts.Add(ctx, 1, metric.WithAttributes(keyBranchType.String(op.BranchType), keyResource.String(op.Resource)))
	case observe.ConflictRetry:
		o.conflictRetries.Add(ctx, 1)
	case observe.CoordinatorGlobalEnd:
		attrs := metric.WithAttributes(keyStatus.String(op.Result))
		o.coordEnded.Add(ctx, 1, attrs)
		if !op.Start.IsZero() {
			o.coordTxDur.Record(ctx, time.Since(op.Start).Seconds(), attrs)
		}
	}
}

// traceParentCarrier holds one traceparent for the W3C propagator.
type traceParentCarrier struct{ tp string }

func (c *traceParentCarrier) Get(key string) string {
	if key == "traceparent" {
		return c.tp
	}
	return ""
}

func (c *traceParentCarrier) Set(key, value string) {
	if key == "traceparent" {
		c.tp = value
	}
}

func (c *traceParentCarrier) Keys() []string { return []string{"traceparent"} }

// TraceParent implements observe.Observer: the W3C traceparent of the span
// in ctx, or "".
func (o *Observer) TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	var c traceParentCarrier
	propagation.TraceContext{}.Inject(ctx, &c)
	return c.tp
}

// parseTraceParent returns the span context a traceparent names (invalid
// when tp is not one).
func parseTraceParent(tp string) trace.SpanContext {
	ctx := propagation.TraceContext{}.Extract(context.Background(), &traceParentCarrier{tp: tp})
	return trace.SpanContextFromContext(ctx)
}

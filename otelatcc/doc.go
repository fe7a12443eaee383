// Package otelatcc reports what an atcc client and an atcc coordinator do
// through OpenTelemetry: metrics (go.opentelemetry.io/otel/metric) and
// traces (go.opentelemetry.io/otel/trace). It implements observe.Observer;
// the application picks the exporters (Prometheus, OTLP, ...) by the
// providers it configures.
//
//	obs := otelatcc.New(otelatcc.Config{MeterProvider: mp, TracerProvider: tp})
//	client, err := atcc.New(atcc.Config{..., Observer: obs})
//	...
//	stop, err := obs.ObserveClient(client) // gauges: connections, queue depth
//	defer stop()
//
// and for a coordinator:
//
//	srv, err := tc.New(tc.Config{..., Observer: obs})
//	stop, err := obs.ObserveCoordinator(srv)
//
// # Metrics
//
// Durations are histograms in seconds, sizes in bytes. Attributes take a
// small set of values: an XID is never a metric attribute (it is one on
// spans).
//
// Client (atcc.Config.Observer):
//
//   - atcc.client.global_tx.begun: global transactions begun here.
//   - atcc.client.global_tx.ended, atcc.client.global_tx.duration (Begin to
//     the end of Commit or Rollback): by atcc.outcome (committed,
//     rolled_back, commit_failed, rollback_failed).
//   - atcc.client.global_tx.conflict_retries: WithGlobalTx runs again after a
//     conflict.
//   - atcc.client.branch.registered: BranchRegister requests by
//     atcc.branch.type, atcc.resource.id and atcc.result (ok, lock_conflict,
//     error).
//   - atcc.client.lock.conflicts: row locks refused or found held, by
//     atcc.branch.type and atcc.resource.id.
//   - atcc.client.undo_log.size: bytes of undo log written, by
//     atcc.resource.id.
//   - atcc.client.phase_two.duration: phase-two requests handled by the
//     resource manager, by atcc.phase (commit, rollback), atcc.branch.type,
//     atcc.resource.id and atcc.branch.status (the status answered).
//   - atcc.client.request.duration: requests to the coordinator, by
//     atcc.request.type and atcc.result (ok, error).
//   - ObserveClient: atcc.client.connections (by atcc.state: ready, down),
//     atcc.client.requests.pending, atcc.client.worker.queue_depth,
//     atcc.client.phase_two.rejected (the worker queue was full).
//
// Coordinator (tc.Config.Observer):
//
//   - atcc.coordinator.request.duration: requests handled, by
//     atcc.request.type and atcc.result (ok or the exception code, e.g.
//     LockKeyConflict).
//   - atcc.coordinator.global_tx.begun, atcc.coordinator.branch.registered
//     (by atcc.branch.type), atcc.coordinator.lock.conflicts.
//   - atcc.coordinator.global_tx.ended, atcc.coordinator.global_tx.duration
//     (begin to end status): by atcc.status (Committed, Rollbacked,
//     TimeoutRollbacked, CommitFailed, RollbackFailed, ...).
//   - atcc.coordinator.phase_two.duration: BranchCommit and BranchRollback
//     calls to resource managers, by atcc.phase, atcc.branch.type and
//     atcc.branch.status (or error when no answer came).
//   - ObserveCoordinator: atcc.coordinator.connections,
//     atcc.coordinator.worker.queue_depth, atcc.coordinator.requests.rejected,
//     atcc.coordinator.requests.refused (by atcc.reason, see tc.Stats),
//     atcc.coordinator.global_tx.count (by atcc.status: the retry queues
//     are the *Retrying statuses), atcc.coordinator.global_tx.waiting
//     (phase two waiting for an RM to connect), atcc.coordinator.locks.held.
//
// # Traces
//
// Spans: atcc.global_tx (a global transaction on the client that began
// it, attribute atcc.xid; the work done with the context Begin or
// WithGlobalTx returns is its child), atcc.global_commit and
// atcc.global_rollback, atcc.branch_register, atcc.undo_write, and on the
// resource manager atcc.branch_commit or atcc.branch_rollback; on the
// coordinator atcc.coordinator.branch_commit and
// atcc.coordinator.branch_rollback. A branch carries the trace context it
// was registered in to phase two (observe.WithTraceParent: a "traceparent"
// member of the branch's application data, which Seata's coordinators and
// resource managers ignore), and the phase-two spans link to it: phase two
// runs later, in another process, as a trace of its own.
//
// Across services the trace context travels beside the XID when the
// application instruments its gRPC or HTTP calls with OpenTelemetry's own
// interceptors (otelgrpc, otelhttp), which propagate W3C trace context
// with the global propagator; tm/grpcxid and tm/httpxid carry only the XID
// and do not depend on OpenTelemetry.
package otelatcc

package otelatcc

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/tc"
)

const keyState = attribute.Key("atcc.state")

var (
	stateReady = metric.WithAttributes(keyState.String("ready"))
	stateDown  = metric.WithAttributes(keyState.String("down"))
)

// ObserveClient reports c's state as observable instruments, read from
// c.Stats at each collection: atcc.client.connections (by atcc.state:
// ready, down), atcc.client.requests.pending,
// atcc.client.worker.queue_depth and atcc.client.phase_two.rejected. It
// returns the function that stops reporting; call it before closing c (or
// when the meter provider is shut down anyway, ignore it).
func (o *Observer) ObserveClient(c *atcc.Client) (unregister func() error, err error) {
	m := o.meter
	conns, e1 := m.Int64ObservableUpDownCounter("atcc.client.connections", metric.WithUnit("{connection}"),
		metric.WithDescription("Connection slots to coordinators, by state: ready (registered) or down (connecting or waiting to reconnect)."))
	pending, e2 := m.Int64ObservableUpDownCounter("atcc.client.requests.pending", metric.WithUnit("{request}"),
		metric.WithDescription("Requests to the coordinator waiting for an answer."))
	queue, e3 := m.Int64ObservableUpDownCounter("atcc.client.worker.queue_depth", metric.WithUnit("{request}"),
		metric.WithDescription("Phase-two requests from the coordinator waiting for a worker."))
	rejected, e4 := m.Int64ObservableCounter("atcc.client.phase_two.rejected", metric.WithUnit("{request}"),
		metric.WithDescription("Requests from the coordinator answered with a retryable failure because the worker queue was full."))
	if err := errors.Join(e1, e2, e3, e4); err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		st := c.Stats()
		ob.ObserveInt64(conns, int64(st.Sessions), stateReady)
		ob.ObserveInt64(conns, int64(st.Down), stateDown)
		ob.ObserveInt64(pending, int64(st.Pending))
		ob.ObserveInt64(queue, int64(st.Queued))
		ob.ObserveInt64(rejected, int64(st.Rejected))
		return nil
	}, conns, pending, queue, rejected)
	if err != nil {
		return nil, err
	}
	return onceFunc(reg.Unregister), nil
}

// ObserveCoordinator reports s's state as observable instruments, read
// from s.Stats at each collection (with a MySQL store, two queries):
// atcc.coordinator.connections, atcc.coordinator.worker.queue_depth,
// atcc.coordinator.requests.rejected, atcc.coordinator.requests.refused (by
// atcc.reason), atcc.coordinator.global_tx.count (by atcc.status),
// atcc.coordinator.global_tx.waiting and atcc.coordinator.locks.held. It
// returns the function that stops reporting.
func (o *Observer) ObserveCoordinator(s *tc.Server) (unregister func() error, err error) {
	m := o.meter
	conns, e1 := m.Int64ObservableUpDownCounter("atcc.coordinator.connections", metric.WithUnit("{connection}"),
		metric.WithDescription("Client connections open."))
	queue, e2 := m.Int64ObservableUpDownCounter("atcc.coordinator.worker.queue_depth", metric.WithUnit("{request}"),
		metric.WithDescription("Client requests waiting for a worker."))
	rejected, e3 := m.Int64ObservableCounter("atcc.coordinator.requests.rejected", metric.WithUnit("{request}"),
		metric.WithDescription("Client requests answered with a failure because the worker queue was full."))
	refused, e4 := m.Int64ObservableCounter("atcc.coordinator.requests.refused", metric.WithUnit("{request}"),
		metric.WithDescription("Connections, registrations and requests refused by a limit or a policy, by reason."))
	txs, e5 := m.Int64ObservableUpDownCounter("atcc.coordinator.global_tx.count", metric.WithUnit("{transaction}"),
		metric.WithDescription("Global transactions in the store, by status."))
	waiting, e6 := m.Int64ObservableUpDownCounter("atcc.coordinator.global_tx.waiting", metric.WithUnit("{transaction}"),
		metric.WithDescription("Global transactions whose phase two waits for a resource manager to connect."))
	locks, e7 := m.Int64ObservableUpDownCounter("atcc.coordinator.locks.held", metric.WithUnit("{lock}"),
		metric.WithDescription("Row locks held by global transactions."))
	if err := errors.Join(e1, e2, e3, e4, e5, e6, e7); err != nil {
		return nil, err
	}
	reg, err := m.RegisterCallback(func(ctx context.Context, ob metric.Observer) error {
		st, err := s.Stats(ctx)
		ob.ObserveInt64(conns, int64(st.Sessions))
		ob.ObserveInt64(queue, int64(st.Queued))
		ob.ObserveInt64(rejected, int64(st.Rejected))
		for reason, n := range st.Refused {
			ob.ObserveInt64(refused, int64(n), metric.WithAttributes(attribute.String("atcc.reason", reason)))
		}
		ob.ObserveInt64(waiting, int64(st.WaitingForSession))
		if err != nil {
			return err // the store's counts are missing
		}
		for status, n := range st.Transactions {
			ob.ObserveInt64(txs, int64(n), metric.WithAttributes(keyStatus.String(status.String())))
		}
		if st.Transactions != nil {
			ob.ObserveInt64(locks, int64(st.Locks))
		}
		return nil
	}, conns, queue, rejected, refused, txs, waiting, locks)
	if err != nil {
		return nil, err
	}
	return onceFunc(reg.Unregister), nil
}

// onceFunc returns f made safe to call more than once.
func onceFunc(f func() error) func() error {
	return sync.OnceValue(f)
}

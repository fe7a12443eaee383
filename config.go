package atcc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atcc-go/atcc/discovery"
	"github.com/atcc-go/atcc/observe"
)

// ErrInvalidConfig is returned by New for a Config it cannot use; the
// error text names the field.
var ErrInvalidConfig = errors.New("atcc: invalid config")

// Config configures a Client. ApplicationID and Coordinators are required;
// every other field has a default, used when the field is left at its zero
// value: Defaults returns them all.
type Config struct {
	// ApplicationID names this application to the coordinator, which
	// records it with every branch (Java: spring.application.name).
	// Required.
	ApplicationID string

	// TxServiceGroup is the transaction service group the client belongs
	// to. Default "default_tx_group".
	TxServiceGroup string

	// Coordinators lists the coordinator (TC) addresses as "host:port",
	// e.g. "127.0.0.1:8091". Calls for a transaction go to the coordinator
	// its XID names when that one is connected, else to any. Required
	// unless Resolver is set; not both.
	Coordinators []string

	// Resolver, when set, finds the coordinators of TxServiceGroup in a
	// registry and follows their changes live: new coordinators are
	// connected, removed ones drained (requests under way finish) and
	// closed. discovery.File is Seata's file registry (vgroup mapping and
	// grouplist), discovery/etcd its etcd v3 registry. Default nil: the
	// fixed Coordinators.
	Resolver discovery.Resolver

	// DefaultTimeout is the global transaction timeout used when
	// tm.TxOptions.Timeout is zero: the coordinator rolls back a
	// transaction that has not ended after this long. Default 60 s.
	DefaultTimeout time.Duration

	// CommitRetries and RollbackRetries are how many times a global commit
	// or rollback is resent after a failure that leaves its outcome open
	// (see tm.GlobalTx.Commit). Default 5 each; negative means never.
	CommitRetries, RollbackRetries int

	// RetryBackoff is the pause before the first such retry; it doubles
	// before each further one, up to 10 s, with jitter. Default 100 ms.
	RetryBackoff time.Duration

	// RequestTimeout bounds each call to the coordinator whose context has
	// no deadline: waiting for a connection and for the answer. A context
	// deadline always wins. (Not to be confused with DefaultTimeout, the
	// global transaction's own timeout at the coordinator.) Default 30 s.
	RequestTimeout time.Duration

	// PoolSize is the number of connections per coordinator address and
	// role (the TM and the RM have their own). Default 1.
	PoolSize int

	// DialTimeout bounds each connection attempt: TCP connect, TLS
	// handshake and registration with the coordinator. While no
	// coordinator is reachable, Begin (and so WithGlobalTx) and Ping fail
	// after one such attempt, with an error naming the address and the
	// cause; the calls of a transaction already begun (branch
	// registration, Commit, Rollback) wait for a reconnection up to
	// RequestTimeout. Default 3 s.
	DialTimeout time.Duration

	// HeartbeatInterval: a connection that has sent nothing for this long
	// sends a heartbeat; the Java coordinator drops connections silent for
	// 15 s. Default 5 s; negative disables heartbeats.
	HeartbeatInterval time.Duration

	// IdleTimeout: a connection that has received nothing for this long is
	// closed and reconnected, so that a coordinator that died without
	// closing its connections (a crashed host, a dropped network path) is
	// noticed. The coordinator answers every heartbeat, so keep it well
	// above HeartbeatInterval. It also bounds a blocked write. Default
	// 15 s, as Java's; negative disables the check.
	IdleTimeout time.Duration

	// BatchRequests merges the requests sent on one connection within a
	// millisecond into one message (Seata's MergedWarpMessage), as Java's
	// transport.enableClientBatchSendRequest does: fewer writes and
	// coordinator wake-ups under load, at up to a millisecond more latency
	// per call. Every Seata coordinator accepts it. Default false.
	BatchRequests bool

	// TLS, when not nil, makes every connection use TLS with this
	// configuration. Default nil: plain TCP, as Seata.
	TLS *tls.Config

	// AccessKey and SecretKey authenticate the client to a coordinator
	// that checks Seata's access-key digest (atcc-tc -access-keys): when
	// AccessKey is set, every registration carries "ak", "digest" and
	// "timestamp" signed with SecretKey as Seata's Java client signs them.
	// Default empty: registrations are not signed, as in Seata.
	AccessKey, SecretKey string

	// Workers is the number of goroutines that run phase-two requests
	// from the coordinator (BranchCommit, BranchRollback, UndoLogDelete);
	// QueueSize is how many such requests may wait for a worker. A request
	// that finds the queue full is answered at once with a retryable
	// failure. Defaults 16 and 1024.
	Workers, QueueSize int

	// HandlerTimeout bounds the answer to each phase-two request, counted
	// from its arrival (time waiting for a worker included): the context
	// of the resource's call ends then, and the coordinator gets a
	// retryable failure at that moment if the call has not returned. A
	// call that ignores its context keeps its worker until it returns
	// (see rm.Resource). Default 10 s, below the Java coordinator's 15 s
	// request timeout.
	HandlerTimeout time.Duration

	// CloseTimeout bounds how long Close waits for the phase two (commit
	// or rollback) of the branches this client registered, so that a
	// short-lived process that exits after its transactions end leaves no
	// undo_log rows or unconfirmed TCC reservations behind: without an RM
	// of the resource connected, the coordinator finishes them only when
	// another instance of the resource connects. Default 5 s; negative
	// means Close does not wait.
	CloseTimeout time.Duration

	// Logger receives the client's logs: connection problems, retries,
	// phase-two failures and panics. Nothing is logged per request at Info
	// level or above. Default: discard.
	Logger *slog.Logger

	// Observer, when set, is told of the client's operations for metrics
	// and tracing: global transactions, their commits and rollbacks,
	// branch registrations, lock conflicts, undo log writes (datasource),
	// phase-two requests and every request to the coordinator (see
	// package observe). otelatcc.New returns one built on OpenTelemetry.
	// Default nil: nothing is observed, at no cost.
	Observer observe.Observer
}

// check reports the first field New cannot use. The rpc package checks the
// transport fields (addresses, pool sizes) itself.
func (c *Config) check() error {
	switch {
	case c.ApplicationID == "":
		return fmt.Errorf("%w: ApplicationID is required", ErrInvalidConfig)
	case len(c.Coordinators) == 0 && c.Resolver == nil:
		return fmt.Errorf("%w: Coordinators (or Resolver) is required", ErrInvalidConfig)
	case len(c.Coordinators) > 0 && c.Resolver != nil:
		return fmt.Errorf("%w: set Coordinators or Resolver, not both", ErrInvalidConfig)
	case c.DefaultTimeout < 0, c.RetryBackoff < 0, c.RequestTimeout < 0, c.DialTimeout < 0, c.HandlerTimeout < 0:
		return fmt.Errorf("%w: negative DefaultTimeout, RetryBackoff, RequestTimeout, DialTimeout or HandlerTimeout", ErrInvalidConfig)
	}
	return nil
}

package rpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// ClientConfig configures a Client. Fields left at their zero value take the
// default their comment names.
type ClientConfig struct {
	// Addresses lists the coordinators, as "host:port". Required unless
	// Resolver is set; not both.
	Addresses []string

	// Resolver, when set, finds the coordinators of TxServiceGroup and
	// tells the client when they change (see Resolver). The client
	// resolves when it starts, then follows the updates; until the first
	// answer, calls wait for a coordinator as they do for a connection.
	Resolver Resolver

	// ApplicationID names this application to the coordinator. Required.
	ApplicationID string

	// TxServiceGroup is the transaction service group. Default
	// "default_tx_group".
	TxServiceGroup string

	// AccessKey and SecretKey, when AccessKey is set, sign every
	// registration (RegisterTM and RegisterRM) with Seata's digest: the
	// extraData gets "ak", "digest", "timestamp", "authVersion", "vgroup"
	// and "ip" lines, as Seata's Java TM sends them. Default empty: no
	// signature, and an empty extraData.
	AccessKey, SecretKey string

	// PoolSize is the number of sessions per coordinator address and role.
	// Default 1.
	PoolSize int

	// DialTimeout bounds one connection attempt: TCP connect, TLS
	// handshake if configured, and the registration exchange. The first
	// failed dial ends the attempt with its cause (getty would redial every
	// 500ms; see gettyRouter); a peer that answers with something other
	// than Seata frames ends it with ErrNotCoordinator. Between attempts
	// the slot backs off, from 100ms doubling up to 10s, randomised by up
	// to -50%, and starts over after every session that registered.
	// Default 3s.
	DialTimeout time.Duration

	// HeartbeatInterval: a session that has written nothing for this long
	// sends a PING (§8.3). Default 5s; negative disables heartbeats.
	HeartbeatInterval time.Duration

	// IdleTimeout: a session that has read nothing for this long is closed
	// and reconnected. PONGs count, so with heartbeats on only a dead
	// coordinator triggers it. It also bounds a blocked write. Default 15s;
	// negative disables the check.
	IdleTimeout time.Duration

	// RequestTimeout bounds Call, Ping and AddResource when their context
	// has no deadline (waiting for a session and for the answer), and the
	// wait for each registration answer. Default 30s (the Java TM's
	// timeout).
	RequestTimeout time.Duration

	// TLS, when not nil, makes every session use TLS with this
	// configuration. Default nil: plain TCP, as Seata.
	TLS *tls.Config

	// Workers is the number of goroutines that run Handler; QueueSize is
	// the number of coordinator requests that may wait for one. A request
	// that finds the queue full is answered at once with a retryable
	// failure. Defaults 16 and 1024.
	Workers, QueueSize int

	// HandlerTimeout is the time the client has to answer a coordinator
	// request, counted from its arrival (time in the queue included).
	// Handler's context ends then; a branch request whose handler has not
	// returned is answered at that moment with a retryable failure, and
	// the handler's later result is dropped. The handler keeps its worker
	// until it returns, so at most Workers handlers run, even when they
	// ignore their context. Keep it below the coordinator's timeout for
	// the answer (15s for Java Seata). Default 10s.
	HandlerTimeout time.Duration

	// Batch merges the requests sent on a session within 1ms into
	// MergedWarpMessages (§8.7), as Java clients do with
	// transport.enableClientBatchSendRequest. Default off.
	Batch bool

	// Logger receives the client's logs. Default: discard.
	Logger *slog.Logger

	// Handler answers the coordinator's requests: BranchCommit,
	// BranchRollback and UndoLogDelete. It may be nil for a client that
	// only begins and ends global transactions: branch requests are then
	// answered with a retryable failure.
	Handler RequestHandler

	// Set by tests only: the reconnection backoff (default 100ms doubling
	// up to 10s) and the batch window (default 1ms).
	reconnectMin, reconnectMax time.Duration
	batchWindow                time.Duration
}

// Defaults of ClientConfig.
const (
	defaultTxServiceGroup    = "default_tx_group"
	defaultPoolSize          = 1
	defaultDialTimeout       = 3 * time.Second
	defaultHeartbeatInterval = 5 * time.Second
	defaultIdleTimeout       = 15 * time.Second
	defaultRequestTimeout    = 30 * time.Second
	defaultWorkers           = 16
	defaultQueueSize         = 1024
	defaultHandlerTimeout    = 10 * time.Second
	defaultReconnectMin      = 100 * time.Millisecond
	defaultReconnectMax      = 10 * time.Second
	defaultBatchWindow       = time.Millisecond
)

// clientVersion is the Seata version the client announces at registration.
// A coordinator answers batches with BatchResultMessage only to clients
// that announce 1.5.0 or later (the client understands both answers), and
// an atcc coordinator numbers exception codes for the client's version
// while the client reads them in the numbering of the coordinator's
// version (§7.7): it must stay 2.0.0 or later.
const clientVersion = "2.2.0"

// RequestHandler answers the requests a coordinator sends to a resource
// manager.
//
// The client answers every branch request exactly once, and is the only
// one that does: with the handler's response when it returns one in time,
// else with a failed result and the retryable status of the phase
// (PhaseTwo_CommitFailed_Retryable, PhaseTwo_RollbackFailed_Retryable),
// which makes the coordinator send the request again later. That happens
// when the queue is full, when the handler panics, calls runtime.Goexit or
// returns nil or the wrong type, and when HandlerTimeout passes first.
// When the client closes, the requests being handled are answered so too,
// as far as their sessions still carry it; those still queued go with
// their sessions, which the coordinator retries as a failure to send.
//
// The BranchCommits an atcc coordinator merges into one MergedWarpMessage
// (the RM announces at registration that it takes them) are handled each
// as a request of its own, as above, all due HandlerTimeout after the
// merged request arrived; the answers go back together once each is
// known.
type RequestHandler interface {
	// HandleRequest runs on the client's worker pool, never on a read
	// goroutine, and may block. ctx ends HandlerTimeout after the request
	// arrived or when the client closes; a handler should return soon
	// after, as it holds its worker (and Client.Close) until it does.
	// req is a *protocol.BranchCommitRequest,
	// *protocol.BranchRollbackRequest or *protocol.UndoLogDeleteRequest.
	//
	// It returns the *protocol.BranchCommitResponse or
	// *protocol.BranchRollbackResponse for a branch request (the transport
	// sets its XID and BranchID from the request), and nil for
	// UndoLogDelete, which is oneway.
	HandleRequest(ctx context.Context, req protocol.Message) protocol.Message
}

// RequestHandlerFunc adapts a function to RequestHandler.
type RequestHandlerFunc func(ctx context.Context, req protocol.Message) protocol.Message

// HandleRequest calls f(ctx, req).
func (f RequestHandlerFunc) HandleRequest(ctx context.Context, req protocol.Message) protocol.Message {
	return f(ctx, req)
}

// withDefaults returns a copy of c with every zero field set to its
// default.
func (c ClientConfig) withDefaults() ClientConfig {
	c.Addresses = append([]string(nil), c.Addresses...)
	if c.TxServiceGroup == "" {
		c.TxServiceGroup = defaultTxServiceGroup
	}
	if c.PoolSize == 0 {
		c.PoolSize = defaultPoolSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = defaultHeartbeatInterval
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = defaultRequestTimeout
	}
	if c.Workers == 0 {
		c.Workers = defaultWorkers
	}
	if c.QueueSize == 0 {
		c.QueueSize = defaultQueueSize
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = defaultHandlerTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.reconnectMin == 0 {
		c.reconnectMin = defaultReconnectMin
	}
	if c.reconnectMax == 0 {
		c.reconnectMax = defaultReconnectMax
	}
	if c.batchWindow == 0 {
		c.batchWindow = defaultBatchWindow
	}
	return c
}

// check reports the first setting of c that NewClient cannot use. Zero
// values are valid: they take the defaults.
func (c ClientConfig) check() error {
	switch {
	case len(c.Addresses) == 0 && c.Resolver == nil:
		return fmt.Errorf("%w: no coordinator address and no Resolver", ErrInvalidConfig)
	case len(c.Addresses) > 0 && c.Resolver != nil:
		return fmt.Errorf("%w: both Addresses and Resolver set", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.Addresses))
	for _, a := range c.Addresses {
		if err := checkAddr(a); err != nil {
			return err
		}
		if seen[a] {
			return fmt.Errorf("%w: address %q listed twice", ErrInvalidConfig, a)
		}
		seen[a] = true
	}
	switch {
	case c.ApplicationID == "":
		return fmt.Errorf("%w: ApplicationID is required", ErrInvalidConfig)
	case c.PoolSize < 0, c.Workers < 0, c.QueueSize < 0:
		return fmt.Errorf("%w: negative PoolSize, Workers or QueueSize", ErrInvalidConfig)
	case c.DialTimeout < 0, c.RequestTimeout < 0, c.HandlerTimeout < 0, c.reconnectMin < 0, c.reconnectMax < 0, c.batchWindow < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	case c.reconnectMin > 0 && c.reconnectMax > 0 && c.reconnectMin > c.reconnectMax:
		return fmt.Errorf("%w: reconnection backoff %v > %v", ErrInvalidConfig, c.reconnectMin, c.reconnectMax)
	}
	return nil
}

// checkAddr accepts "host:port" with a numeric port.
func checkAddr(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err == nil && host == "" {
		err = fmt.Errorf("empty host")
	}
	if err == nil {
		if p, perr := strconv.Atoi(port); perr != nil || p <= 0 || p > 65535 {
			err = fmt.Errorf("bad port %q", port)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", ErrInvalidConfig, a, err)
	}
	return nil
}

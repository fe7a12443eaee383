package atcc

import (
	"log/slog"

	"github.com/atcc-go/atcc/internal/rpc"
)

// Errors of the connection to the coordinator. Calls that could not reach
// it return them wrapped in a *CallError; test for them with errors.Is.
// The coordinator's own refusals are *protocol.CoordinatorError values
// (package rpc/protocol).
var (
	// ErrNoSession: no coordinator connection was ready: the connection
	// attempts to every coordinator failed, or the context or
	// Config.RequestTimeout ended first. The error also wraps the last
	// connection or registration failure (its text names the address and
	// the cause) and the context's error, if any.
	ErrNoSession = rpc.ErrNoSession
	// ErrNotCoordinator: the peer accepted the connection but answered the
	// registration with bytes that are not a Seata frame: the address is
	// not a Seata coordinator's.
	ErrNotCoordinator = rpc.ErrNotCoordinator
	// ErrRegistrationRejected: the coordinator refused the client's
	// registration (a wrong access key or digest, an application the
	// coordinator does not allow).
	ErrRegistrationRejected = rpc.ErrRegistrationRejected
	// ErrConnectionLost: the connection closed while a request was pending,
	// or before it could be written. The error also wraps the cause.
	ErrConnectionLost = rpc.ErrConnectionLost
	// ErrClientClosed: the Client was closed before or during the call.
	ErrClientClosed = rpc.ErrClientClosed
)

// CallError is the error of a request to the coordinator that got no
// answer: no connection, a write failure, a lost connection, a timeout or
// a cancelled context. Its Sent field says whether the coordinator may
// have acted on it; Err is the cause.
type CallError = rpc.CallError

// SetGettyLogger sets where the lines of the getty network library that
// name no live Client's or coordinator's address go; nil (the default)
// discards them. Lines about a Client's own connections go to its
// Config.Logger without it. getty's logger is process-wide, hence a
// function rather than a Config field; safe to call at any time.
func SetGettyLogger(l *slog.Logger) { rpc.SetGettyLogger(l) }

// Stats is a snapshot of a Client's transport counters (Client.Stats).
type Stats = rpc.Stats

package rpc

import (
	"errors"
	"strings"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Transport errors. Calls return them wrapped in a *CallError; test for them
// with errors.Is.
var (
	// ErrClientClosed: the Client was closed before or during the call.
	ErrClientClosed = errors.New("atcc/rpc: client closed")
	// ErrServerClosed: the Server was closed before or during the call.
	ErrServerClosed = errors.New("atcc/rpc: server closed")
	// ErrNoSession: no registered session was ready: the connection
	// attempts to every coordinator failed (see Client.Call), or the context
	// or the default timeout ended first. The error also wraps the last
	// connection or registration failure, when there was one (its text names
	// the address and the cause), and the context's error, if any.
	ErrNoSession = errors.New("atcc/rpc: no ready session")
	// ErrNotCoordinator: the peer accepted the connection but answered the
	// registration with bytes that are not a Seata frame: the address is
	// not a Seata coordinator's.
	ErrNotCoordinator = errors.New("atcc/rpc: peer is not a Seata coordinator")
	// ErrConnectionLost: the session closed while the call was pending, or
	// before its request could be written. The error also wraps the cause.
	ErrConnectionLost = errors.New("atcc/rpc: connection lost")
	// ErrRegistrationRejected: the coordinator answered RegisterTM or
	// RegisterRM with identified = false.
	ErrRegistrationRejected = errors.New("atcc/rpc: registration rejected")
	// ErrInvalidRequest: the message cannot be sent this way (wrong type or
	// direction, or it does not encode). Resending it cannot succeed.
	ErrInvalidRequest = errors.New("atcc/rpc: invalid request")
	// ErrUnexpectedResponse: the peer answered with a message of the wrong
	// type, or a batch answer did not cover every request.
	ErrUnexpectedResponse = errors.New("atcc/rpc: unexpected response")
	// ErrInvalidConfig: NewClient or NewServer was given a bad configuration.
	ErrInvalidConfig = errors.New("atcc/rpc: invalid config")
)

// errIdle closes a session that has read nothing for IdleTimeout.
var errIdle = errors.New("atcc/rpc: session idle")

// errPeerClosed is the cause recorded when the peer ends the connection.
var errPeerClosed = errors.New("atcc/rpc: closed by peer")

// errNotRegistered closes a server session that sends a transaction request
// before registering (§8.1, J8).
var errNotRegistered = errors.New("atcc/rpc: transaction request before registration")

// errSessionClosed is the cause recorded by ServerSession.Close.
var errSessionClosed = errors.New("atcc/rpc: session closed by the server")

// errSlowPeer closes a session whose peer stopped reading while the
// transport had answers queued for it.
var errSlowPeer = errors.New("atcc/rpc: peer does not read")

// CallError is the error of a request that did not produce a response: no
// session, a write failure, a lost connection, a timeout or a cancelled
// context. Err says why (errors.Is(err, ErrConnectionLost),
// errors.Is(err, context.DeadlineExceeded), ...).
type CallError struct {
	// Addr is the coordinator or client address the request went to; empty
	// when no session was chosen.
	Addr string
	// Type is the request's type code.
	Type protocol.TypeCode
	// Sent is false only when no byte of the request reached the socket, so
	// the peer cannot have acted on it. When it is true the outcome is
	// unknown: the peer may or may not have applied the request.
	Sent bool
	// Err is the cause.
	Err error
}

func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString("atcc/rpc: ")
	b.WriteString(e.Type.String())
	if e.Addr != "" {
		b.WriteString(" to ")
		b.WriteString(e.Addr)
	}
	if e.Sent {
		b.WriteString(" (sent)")
	} else {
		b.WriteString(" (not sent)")
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "atcc/rpc: "))
	return b.String()
}

func (e *CallError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a transport failure that happened before
// any byte of the request was written, so sending the request again cannot
// apply it twice, whatever the request is. It is false for coordinator
// errors (the request was processed), for ambiguous failures (sent, no
// answer), for invalid requests and for a closed client or server.
//
// Call already retries such failures on another session while its context
// allows; IsRetryable is for callers that run their own retry loop.
func IsRetryable(err error) bool {
	var ce *CallError
	if !errors.As(err, &ce) || ce.Sent {
		return false
	}
	return !errors.Is(ce.Err, ErrInvalidRequest) && !errors.Is(ce.Err, ErrClientClosed) &&
		!errors.Is(ce.Err, ErrServerClosed)
}

// noSessionError is the Err of a CallError when no session was ready.
type noSessionError struct {
	ctxErr error // the context's error, context.DeadlineExceeded for the default timeout, or nil when every attempt failed
	last   error // the last connection or registration failure; may be nil
}

func (e *noSessionError) Error() string {
	s := ErrNoSession.Error()
	if e.ctxErr != nil {
		s += ": " + e.ctxErr.Error()
	} else {
		s += ": connection failed"
	}
	if e.last != nil {
		s += "; last failure: " + strings.TrimPrefix(e.last.Error(), "atcc/rpc: ")
	}
	return s
}

func (e *noSessionError) Is(target error) bool { return target == ErrNoSession }

func (e *noSessionError) Unwrap() []error {
	var errs []error
	if e.ctxErr != nil {
		errs = append(errs, e.ctxErr)
	}
	if e.last != nil {
		errs = append(errs, e.last)
	}
	return errs
}

package rm

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Caller is the Manager's way to the coordinator over RM connections.
// *atcc.Client provides one built on the rpc package; tests may pass a
// fake.
type Caller interface {
	// Call sends a request and returns its response; a response whose
	// result code is Failed comes back as an error.
	Call(ctx context.Context, req protocol.Message) (protocol.Message, error)
	// AddResource makes the resource id part of every RegisterRM: it is
	// announced on the connections that are up now and again after every
	// reconnect. Adding an id twice is not an error.
	AddResource(ctx context.Context, resourceID string) error
}

// Config configures a Manager. The zero value is valid. The deadline of
// phase-two calls belongs to the transport that runs them (see
// rpc.ClientConfig.HandlerTimeout, set from atcc.Config.HandlerTimeout).
type Config struct {
	// Logger receives phase-two failures, answers that are not valid for
	// their phase (Error) and requests for unknown resources (Warn).
	// Default: discard.
	Logger *slog.Logger
	// Observer, when not nil, is told of branch registrations, lock
	// conflicts and phase-two requests (see package observe). Default nil.
	Observer observe.Observer
}

// withDefaults returns a copy of c with every zero field set to its
// default.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// resourceKey identifies a registered resource. Java keeps one registry
// per branch type; so does the Manager, with the type in the key.
type resourceKey struct {
	typ protocol.BranchType
	id  string
}

// Manager is the resource manager of a client: it keeps the registered
// resources (one registry per branch type), registers and reports
// branches, queries global locks, and turns the phase-two requests the
// coordinator sends into calls of the resources they name and their
// results into answers.
//
// A Manager is safe for concurrent use and starts no goroutine: phase-two
// calls run on the goroutine that calls HandleRequest (a worker of the
// rpc.Client).
type Manager struct {
	caller Caller
	log    *slog.Logger
	obs    observe.Observer // nil: none

	inflight *inflight // branches registered here awaiting phase two

	mu        sync.RWMutex
	resources map[resourceKey]Resource // guarded by mu
	closed    bool                     // guarded by mu
}

// NewManager returns a Manager that reaches the coordinator through c. It
// does no I/O.
func NewManager(c Caller, cfg Config) *Manager {
	cfg = cfg.withDefaults()
	return &Manager{
		caller: c, log: cfg.Logger, obs: cfg.Observer,
		inflight:  newInflight(),
		resources: make(map[resourceKey]Resource),
	}
}

// Register adds r to the Manager and announces its id to the coordinator
// (now on the connections that are up, and in every RegisterRM after a
// reconnect), so that the coordinator sends r's phase-two requests here.
// Register a resource before registering branches for it.
//
// Register does not open connections. A service restarted while branches
// of its resources await phase two should connect at startup (register its
// resources, then call atcc.Client.Ping), so that the coordinator can
// reach it before it makes any call of its own.
//
// It fails with ErrInvalidResource, ErrDuplicateResource (same branch type
// and id), ErrClosed, or the error of the announcement, in which case r is
// not registered.
func (m *Manager) Register(ctx context.Context, r Resource) error {
	if r == nil {
		return fmt.Errorf("%w: nil", ErrInvalidResource)
	}
	k := resourceKey{r.BranchType(), r.ResourceID()}
	switch {
	case k.id == "":
		return fmt.Errorf("%w: empty resource id", ErrInvalidResource)
	case strings.Contains(k.id, ","):
		return fmt.Errorf("%w: resource id %q contains a comma", ErrInvalidResource, k.id)
	case len(k.id) > math.MaxInt16:
		return fmt.Errorf("%w: resource id of %d bytes", ErrInvalidResource, len(k.id))
	case k.typ > protocol.BranchXA:
		return fmt.Errorf("%w: branch type %v", ErrInvalidResource, k.typ)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if _, dup := m.resources[k]; dup {
		m.mu.Unlock()
		return fmt.Errorf("%w: %v %s", ErrDuplicateResource, k.typ, k.id)
	}
	m.resources[k] = r
	m.mu.Unlock()

	if err := m.caller.AddResource(ctx, k.id); err != nil {
		m.mu.Lock()
		if m.resources[k] == r {
			delete(m.resources, k)
		}
		m.mu.Unlock()
		return fmt.Errorf("atcc/rm: announce %s: %w", k.id, err)
	}
	return nil
}

// Unregister removes the resource of branch type typ and id resourceID.
// Phase-two requests for it that arrive afterwards are answered with a
// retryable failure (the coordinator retries, and may reach another
// instance of the service). The id stays announced, also after
// reconnects: the protocol cannot withdraw it. Registering a resource with
// the same id again is allowed. Unregister fails with ErrUnknownResource
// when no such resource is registered.
func (m *Manager) Unregister(typ protocol.BranchType, resourceID string) error {
	k := resourceKey{typ, resourceID}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.resources[k]; !ok {
		return fmt.Errorf("%w: %v %s", ErrUnknownResource, typ, resourceID)
	}
	delete(m.resources, k)
	return nil
}

// lookup returns the registered resource, or nil.
func (m *Manager) lookup(typ protocol.BranchType, id string) Resource {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.resources[resourceKey{typ, id}]
}

// Close makes further Register calls fail with ErrClosed; phase-two
// requests that arrive afterwards are answered with a retryable failure.
// It does not wait for phase-two calls under way: the transport that runs
// them cancels them and waits for them when it closes (atcc.Client.Close
// closes its rpc.Client first, then the Manager). It is safe to call more
// than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

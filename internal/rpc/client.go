package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Role is the role a client session is registered for. A ServerSession may
// hold both (Roles is then RoleTM|RoleRM).
type Role uint8

// Roles.
const (
	RoleTM Role = 1 << iota // transaction manager: begins and ends global transactions
	RoleRM                  // resource manager: registers branches, runs phase two
)

func (r Role) String() string {
	switch r {
	case RoleTM:
		return "TM"
	case RoleRM:
		return "RM"
	case RoleTM | RoleRM:
		return "TM|RM"
	case 0:
		return "none"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// index maps RoleTM and RoleRM to 0 and 1.
func (r Role) index() int { return int(r >> 1) }

var clientRoles = [2]Role{RoleTM, RoleRM}

// Client is the client side of the Seata RPC protocol: the connections of a
// TM and an RM to one or more coordinators.
//
// For each coordinator address and each role it keeps PoolSize sessions,
// each in a slot with its own supervisor goroutine that connects, registers
// (RegisterTM, or RegisterRM with every resource id added so far), and after
// a loss reconnects with capped, jittered exponential backoff. Calls go to a
// ready session: the one of the coordinator an XID names, when there is one,
// else round robin.
//
// A Client is safe for concurrent use. NewClient does no I/O; the sessions
// start on the first Call, Ping or AddResource (a resource manager must be
// reachable for phase two even before it makes a call). Close must be called
// to release them.
type Client struct {
	cfg     ClientConfig // immutable, defaults applied
	log     *slog.Logger
	pend    *pendingTable
	closing chan struct{}  // closed by Close
	wg      sync.WaitGroup // supervisors, getty dial loops, sessions until OnClose, flushers
	rr      [2]atomic.Uint32
	open    openTxs // transactions begun and not ended; used with a Resolver only
	reject  atomic.Uint64
	alarms  sync.Pool // of *inboundAlarm (client_inbound.go)

	started atomic.Bool                // set by start once work is in place
	slots   [2]atomic.Pointer[[]*slot] // by role index; replaced (never modified) under mu by setAddresses
	work    *workerPool                // written by start, under mu, before started is set and before any session exists

	mu         sync.Mutex
	closed     bool                // guarded by mu
	resources  []string            // every resource id added, in order; guarded by mu
	resSet     map[string]struct{} // guarded by mu
	conns      map[*conn]struct{}  // sessions not yet ended; guarded by mu
	stateCh    chan struct{}       // closed and replaced when a session becomes ready or an attempt fails; guarded by mu
	lastErr    [2]error            // the last connection failure per role; guarded by mu
	resolveErr error               // the resolver's failure while no address is known; guarded by mu
	routes     map[string]func()   // getty log route removers by address; guarded by mu
}

// NewClient validates cfg and returns a client. It does no I/O.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Client{
		cfg:     cfg,
		log:     cfg.Logger,
		pend:    newPendingTable(false),
		closing: make(chan struct{}),
		resSet:  make(map[string]struct{}),
		conns:   make(map[*conn]struct{}),
		stateCh: make(chan struct{}),
		routes:  make(map[string]func()),
	}, nil
}

// start launches the session slots, once.
func (c *Client) start() error {
	if c.started.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClientClosed
	}
	if c.started.Load() {
		return nil
	}
	c.work = newWorkerPool(c.cfg.Workers, c.cfg.QueueSize, c.handleInbound)
	if c.cfg.Resolver == nil {
		want := make(map[string]bool, len(c.cfg.Addresses))
		for _, a := range c.cfg.Addresses {
			want[a] = true
		}
		c.setAddressesLocked(c.cfg.Addresses, want)
	} else {
		c.wg.Add(1)
		go c.follow()
	}
	c.started.Store(true)
	return nil
}

// Call sends req, a request for the coordinator, on a ready session of the
// given role and returns the coordinator's response.
//
// req is one of *protocol.GlobalBeginRequest, GlobalCommitRequest,
// GlobalRollbackRequest, GlobalStatusRequest, GlobalReportRequest,
// BranchRegisterRequest, BranchReportRequest or GlobalLockQueryRequest.
// A request with an XID goes to the coordinator the XID names when a session
// to it is ready.
//
// Call waits for a ready session and then for the answer until ctx ends, or
// for RequestTimeout when ctx has no deadline. While no session of the role
// is ready, a GlobalBegin fails fast: once the connection attempt under way
// to every coordinator has failed (each within DialTimeout), Call returns
// ErrNoSession wrapping the last failure, which names the address and the
// cause. Any other request belongs to a transaction that has begun, which a
// coordinator restart must not break: it waits for a reconnection within
// that bound. Errors:
//   - the response and a *protocol.CoordinatorError when the response's result says
//     Failed (errors.Is(err, protocol.ErrLockKeyConflict), ...); Result.ExceptionCode
//     in the response is translated to the Seata 2.x numbering;
//   - otherwise nil and a *CallError: ErrNoSession, ErrConnectionLost,
//     the context's error, ErrClientClosed, ErrInvalidRequest or
//     ErrUnexpectedResponse. A request that provably never left the
//     process (IsRetryable) is retried on another session while the
//     deadline allows.
func (c *Client) Call(ctx context.Context, role Role, req protocol.Message) (protocol.Message, error) {
	if req == nil {
		return nil, &CallError{Err: fmt.Errorf("%w: nil message", ErrInvalidRequest)}
	}
	want, ok := coordinatorResponse(req.TypeCode())
	if !ok || (role != RoleTM && role != RoleRM) {
		return nil, &CallError{Type: req.TypeCode(), Err: fmt.Errorf("%w: cannot Call with %T as %v", ErrInvalidRequest, req, role)}
	}
	if err := c.start(); err != nil {
		return nil, &CallError{Type: req.TypeCode(), Err: err}
	}
	timer := c.defaultTimer(ctx)
	defer putTimer(timer)
	tc := timerC(timer)
	hint := xidAddr(req)
	if c.cfg.Resolver != nil {
		if a, ok := c.open.addrOf(protocol.XIDOf(req)); ok {
			hint = a // the coordinator that began it, even while it drains
		}
	}
	for attempt := 1; ; attempt++ {
		cn, err := c.waitReady(ctx, tc, role, hint, failsFast(req.TypeCode()))
		if err != nil {
			return nil, &CallError{Type: req.TypeCode(), Err: err}
		}
		resp, err := cn.roundTrip(ctx, tc, req, c.cfg.Batch)
		if c.cfg.Resolver != nil {
			c.open.track(cn.addr, req, resp)
		}
		cn.release()
		if err != nil {
			if attempt < maxUnsentRetries && IsRetryable(err) && ctx.Err() == nil && !c.isClosed() {
				continue // nothing was sent and cn is closed: try another session
			}
			return nil, err
		}
		return c.result(cn, req, want, resp)
	}
}

// failsFast reports whether a request of this type fails once every
// connection attempt has failed, rather than waiting for a reconnection.
// Only a begin does: nothing depends on it yet, and its caller is better
// told at once that no coordinator answers. The other requests belong to a
// transaction under way (a branch, a commit, a rollback, a report) that a
// coordinator restart should not break.
func failsFast(t protocol.TypeCode) bool {
	return t == protocol.TypeGlobalBegin
}

// maxUnsentRetries bounds how often Call sends a request again after it
// could not be written at all.
const maxUnsentRetries = 4

// result checks a response's type and turns a failed result into a
// *protocol.CoordinatorError. It is the one place where the coordinator's exception
// codes are translated.
func (c *Client) result(cn *conn, req protocol.Message, want protocol.TypeCode, resp protocol.Message) (protocol.Message, error) {
	if resp == nil || resp.TypeCode() != want {
		got := "no body"
		if resp != nil {
			got = resp.TypeCode().String()
		}
		return nil, &CallError{Addr: cn.addr, Type: req.TypeCode(), Sent: true,
			Err: fmt.Errorf("%w: %v answered with %s", ErrUnexpectedResponse, req.TypeCode(), got)}
	}
	r, ok := protocol.ResultOf(resp)
	if !ok {
		return resp, nil
	}
	r.ExceptionCode = protocol.ExceptionCodeFromPeer(uint8(r.ExceptionCode), cn.peerVersion)
	if r.Code == protocol.ResultFailed {
		return resp, &protocol.CoordinatorError{Code: r.ExceptionCode, Message: r.Msg, Type: resp.TypeCode()}
	}
	return resp, nil
}

// timerPool recycles the timers of RequestTimeout. A call whose ctx has no
// deadline waits for the pooled timer's channel besides ctx.Done() (the
// timerC parameter of waitReady, roundTrip and registerResources) instead of
// deriving a context.WithTimeout. It pays: with WithTimeout,
// BenchmarkATCalls makes 25 instead of 10 allocations per transaction on the
// client side (37 instead of 22 with the server), 5 per call.
var timerPool sync.Pool

// defaultTimer returns a timer that fires after RequestTimeout when ctx has
// no deadline, or nil. Release it with putTimer.
func (c *Client) defaultTimer(ctx context.Context) *time.Timer {
	if _, ok := ctx.Deadline(); ok {
		return nil
	}
	return getTimer(c.cfg.RequestTimeout)
}

func getTimer(d time.Duration) *time.Timer {
	t, _ := timerPool.Get().(*time.Timer)
	if t == nil {
		return time.NewTimer(d)
	}
	t.Reset(d) // Go >= 1.23 timers: no stale tick survives Stop and Reset
	return t
}

// putTimer stops t and recycles it; t may be nil.
func putTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
		timerPool.Put(t)
	}
}

// timerC returns t's channel, or nil (never ready) for a nil t.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

// pick returns a ready session of the role: one to the hinted address if
// there is one (even a draining one: the transaction the hint comes from
// lives there), else the next in round robin; nil if none is ready. It
// returns the session acquired.
func (c *Client) pick(role Role, hint string) *conn {
	slots := c.slotList(role)
	n := uint32(len(slots))
	if n == 0 {
		return nil
	}
	start := c.rr[role.index()].Add(1)
	if hint != "" {
		for i := range n {
			s := slots[(start+i)%n]
			if s.addr == hint {
				if cn := s.live(); cn != nil && cn.acquire(true) {
					return cn
				}
			}
		}
	}
	for i := range n {
		if cn := slots[(start+i)%n].ready(); cn != nil && cn.acquire(false) {
			return cn
		}
	}
	return nil
}

// waitReady returns a ready session of the role, acquired (the caller
// releases it), waiting for one until ctx ends or timerC fires, or, when
// failFast is set, until every slot of the role has failed its connection
// attempt.
func (c *Client) waitReady(ctx context.Context, timerC <-chan time.Time, role Role, hint string, failFast bool) (*conn, error) {
	for {
		if cn := c.pick(role, hint); cn != nil {
			return cn, nil
		}
		c.mu.Lock()
		ch, closed, last := c.stateCh, c.closed, c.lastErr[role.index()]
		c.mu.Unlock()
		if closed {
			return nil, ErrClientClosed
		}
		if cn := c.pick(role, hint); cn != nil { // became ready before ch was read
			return cn, nil
		}
		if failFast && c.allFailed(role) {
			return nil, &noSessionError{last: c.lastError(role, last)}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, &noSessionError{ctxErr: ctx.Err(), last: c.lastError(role, last)}
		case <-timerC:
			return nil, &noSessionError{ctxErr: context.DeadlineExceeded, last: c.lastError(role, last)}
		case <-c.closing:
			return nil, ErrClientClosed
		}
	}
}

// allFailed reports whether every slot of the role waits after a failed
// connection attempt, or, while the resolver has given no address yet,
// whether resolving failed.
func (c *Client) allFailed(role Role) bool {
	listed := 0
	for _, s := range c.slotList(role) {
		if s.gone.Load() {
			continue
		}
		listed++
		if !s.failed.Load() {
			return false
		}
	}
	if listed == 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.resolveErr != nil
	}
	return true
}

// lastError returns the latest connection failure of the role.
func (c *Client) lastError(role Role, fallback error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.lastErr[role.index()]; err != nil {
		return err
	}
	return fallback
}

// Ping starts the sessions if needed and waits until at least one TM and one
// RM session are registered, until ctx ends or for at most RequestTimeout
// when ctx has no deadline. It fails fast like Call: once the connection
// attempt to every coordinator has failed (each within DialTimeout), it
// returns ErrNoSession wrapping the last failure.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.start(); err != nil {
		return &CallError{Err: err}
	}
	timer := c.defaultTimer(ctx)
	defer putTimer(timer)
	for _, role := range clientRoles {
		cn, err := c.waitReady(ctx, timerC(timer), role, "", true)
		if err != nil {
			return &CallError{Err: err}
		}
		cn.release()
	}
	return nil
}

// AddResource adds a resource id (AT: the JDBC URL; TCC: the action name) to
// the set the RM registers, and starts the sessions if needed. The client
// remembers the id and registers it with every RM session it opens from now
// on, and, before returning, with every RM session that is ready (a
// RegisterRMRequest with only the new id, §8.1 step 5, sent as a synchronous
// request so that the coordinator's acceptance is known). Adding a known id
// does nothing.
//
// A session that fails meanwhile re-registers every resource when it
// reconnects, so only a rejection, a timeout or ctx's end is reported; the
// id stays added either way.
func (c *Client) AddResource(ctx context.Context, resourceID string) error {
	if resourceID == "" || strings.ContainsRune(resourceID, ',') {
		return fmt.Errorf("%w: resource id %q", ErrInvalidRequest, resourceID)
	}
	if err := c.start(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	if _, dup := c.resSet[resourceID]; dup {
		c.mu.Unlock()
		return nil
	}
	c.resSet[resourceID] = struct{}{}
	c.resources = append(c.resources, resourceID)
	var live []*conn
	for _, s := range c.slotList(RoleRM) {
		if cn := s.ready(); cn != nil {
			live = append(live, cn)
		}
	}
	c.mu.Unlock()

	timer := c.defaultTimer(ctx)
	defer putTimer(timer)
	var errs []error
	for _, cn := range live {
		if err := c.registerResources(ctx, timerC(timer), cn, []string{resourceID}); err != nil && !errors.Is(err, ErrConnectionLost) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// registerResources sends a RegisterRMRequest for ids on an RM session that
// is already registered.
func (c *Client) registerResources(ctx context.Context, timerC <-chan time.Time, cn *conn, ids []string) error {
	resp, err := cn.roundTrip(ctx, timerC, c.registerRM(cn, ids), false)
	if err != nil {
		return err
	}
	if r, ok := resp.(*protocol.RegisterRMResponse); !ok || !r.Identified {
		return fmt.Errorf("%w: resources %q at %s", ErrRegistrationRejected, ids, cn.addr)
	}
	return nil
}

func (c *Client) registerRM(cn *conn, ids []string) *protocol.RegisterRMRequest {
	return &protocol.RegisterRMRequest{Version: clientVersion, ApplicationID: c.cfg.ApplicationID,
		TxServiceGroup: c.cfg.TxServiceGroup, ResourceIDs: strings.Join(ids, ","), ExtraData: c.rmExtraData(cn)}
}

// Stats is a snapshot of a Client's or a Server's counters.
type Stats struct {
	// Sessions is the number of sessions ready for calls: registered ones
	// on a client, open ones on a server.
	Sessions int
	// Pending is the number of entries in the pending table: calls waiting
	// for an answer, heartbeats waiting for a PONG, and batches.
	Pending int
	// LateReplies counts answers that matched no pending entry: they came
	// after their call had ended (or answered nothing). They are dropped.
	LateReplies uint64
	// Rejected counts requests from the peer that found the worker queue
	// full and were answered at once with a failure.
	Rejected uint64
	// Queued is the number of requests from the peer waiting for a
	// worker.
	Queued int
	// Down is the number of a client's connection slots (per coordinator
	// address and role) without a ready session: connecting, registering
	// or waiting to reconnect. Always 0 on a server.
	Down int
	// Refused counts, on a server, the connections and registrations it
	// refused, by reason: "connection_limit" (ServerLimits.MaxConnections,
	// MaxConnectionsPerHost), "registration" (authentication, resource id
	// limits), "register_timeout" (no registration within
	// ServerLimits.RegisterTimeout), "buffer_limit" (a connection over
	// its buffered bytes). Requests refused because the worker queue was
	// full are Rejected. Nil on a client.
	Refused map[string]uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	st := Stats{Pending: c.pend.len(), LateReplies: c.pend.late.Load(), Rejected: c.reject.Load()}
	if c.started.Load() {
		st.Queued = c.work.queued()
		for _, role := range clientRoles {
			for _, s := range c.slotList(role) {
				if s.ready() != nil {
					st.Sessions++
				} else {
					st.Down++
				}
			}
		}
	}
	return st
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// Close closes every session, fails the pending calls with ErrConnectionLost
// (wrapping ErrClientClosed), and waits until every goroutine the client
// started has returned, RequestHandler calls included: their context is
// cancelled first, so a handler that honours it ends at once, while one that
// ignores it holds Close up until it returns (at most Workers run). Requests
// still queued are dropped; the coordinator sends them again. A connection
// attempt in progress may hold Close up to the end of getty's current dial,
// at most about 3s. Close returns nil; calling it again does nothing.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	conns := make([]*conn, 0, len(c.conns))
	for cn := range c.conns {
		conns = append(conns, cn)
	}
	work := c.work
	c.mu.Unlock()

	if work != nil {
		work.cancelContext()
	}
	for _, cn := range conns {
		cn.close(ErrClientClosed)
	}
	c.wg.Wait()
	if work != nil {
		work.stop()
	}
	// A getty dial under way when its getty client closed still ends, up to
	// getty's 3s dial timeout later, and logs its failure: the routes stay
	// that long, so its line reaches this client's logger, not the fallback.
	c.mu.Lock()
	routes := c.routes
	c.routes = nil
	c.mu.Unlock()
	if len(routes) > 0 {
		time.AfterFunc(gettyDialLinger, func() {
			for _, unroute := range routes {
				unroute()
			}
		})
	}
	return nil
}

// gettyDialLinger is how long a closed client's getty lines still reach its
// logger: getty's fixed dial timeout (3s) and a margin.
const gettyDialLinger = 4 * time.Second

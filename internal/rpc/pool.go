package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	getty "github.com/apache/dubbo-getty"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// How a client gets its sessions from getty.
//
// getty's client dials inside RunEventLoop, retrying every 500ms with a
// fixed 3s dial timeout until it has a session or is closed, and it never
// reports why a dial failed. When a session it dialled stops on a read
// error other than EOF, it redials from inside that session's read
// goroutine, before OnClose, so the session's end would go unnoticed until
// the redial succeeded. atcc therefore supervises each session slot itself:
//
//   - every connection attempt uses a new getty client with one connection,
//     whose RunEventLoop runs in its own goroutine (attempt.run) and whose
//     callback accepts exactly one session;
//   - the attempt is abandoned (the getty client closed) after DialTimeout;
//   - once the session exists, getty's redial is switched off (see
//     attempt.disarm), and the getty client is closed once the session has
//     ended (never before: see conn.close);
//   - between attempts the slot waits with capped exponential backoff and
//     jitter, and records the failure for ErrNoSession.

// gettyIgnoreReconnect is the session attribute that stops getty's client
// from redialling when the session stops (dubbo-getty v1.5.0 client.go,
// ignoreReconnectKey; getty sets it itself on EOF). getty does not export
// it; TestResetSessionIsNotRedialledByGetty fails if getty stops honouring
// this copy. It is not an optimisation: without it, getty redials a reset
// session from its read goroutine, before OnClose, so the session's calls
// fail only once the next slot.watch tick has closed getty's client and
// the dial under way has returned (getty's dial timeout is 3s).
const gettyIgnoreReconnect = "ignore-reconnect"

// slot is one of the PoolSize sessions of a (coordinator address, role).
type slot struct {
	c    *Client // immutable
	role Role    // immutable
	addr string  // immutable
	cur  atomic.Pointer[conn]
	// att is the connection attempt waiting for getty's dial, if any.
	att atomic.Pointer[attempt]
	// failed is set while the slot waits after a failed connection
	// attempt, cleared when the next attempt starts. Calls that fail fast
	// give up when every slot of their role has failed.
	failed atomic.Bool
	// retired is closed (with gone set first) when the resolver no longer
	// lists addr: the supervisor drains the session and returns.
	retired    chan struct{} // immutable
	gone       atomic.Bool
	retireOnce sync.Once
}

// retire tells the slot's supervisor to drain its session and stop.
func (s *slot) retire() {
	s.retireOnce.Do(func() {
		s.gone.Store(true)
		close(s.retired)
	})
}

// ready returns the slot's registered session, or nil.
func (s *slot) ready() *conn {
	cn := s.cur.Load()
	if cn == nil || cn.closed.Load() || cn.draining.Load() {
		return nil
	}
	return cn
}

// live returns the slot's registered session, draining or not, or nil.
func (s *slot) live() *conn {
	cn := s.cur.Load()
	if cn == nil || cn.closed.Load() {
		return nil
	}
	return cn
}

// run is the slot's supervisor: connect, register, wait for the session's
// end, back off, again; until the client closes.
func (s *slot) run() {
	c := s.c
	defer c.wg.Done()
	defer func() {
		if s.gone.Load() {
			c.dropSlot(s)
		}
	}()
	delay := c.cfg.reconnectMin
	for {
		s.failed.Store(false)
		cn, err := s.connect()
		if err == nil {
			s.watch(cn)
			s.cur.CompareAndSwap(cn, nil)
			if c.isClosed() || s.gone.Load() {
				return
			}
			err = cn.cause()
			c.log.Warn("atcc/rpc: session lost", "role", s.role, "addr", s.addr, "err", err)
			// The session was registered: the coordinator is healthy, so
			// the next attempt starts from the shortest delay again. A
			// coordinator that restarts often must not make every
			// restart cost more than the last one.
			delay = c.cfg.reconnectMin
		} else {
			if errors.Is(err, ErrClientClosed) || errors.Is(err, ErrDrained) {
				return
			}
			c.log.Debug("atcc/rpc: connection attempt failed", "role", s.role, "addr", s.addr, "err", err)
		}
		c.mu.Lock()
		c.lastErr[s.role.index()] = err
		if cn == nil {
			// A failed attempt, not a lost session: callers that fail
			// fast may give up now.
			s.failed.Store(true)
			close(c.stateCh)
			c.stateCh = make(chan struct{})
		}
		c.mu.Unlock()

		t := time.NewTimer(jitter(delay))
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return
		case <-s.retired:
			t.Stop()
			return
		}
		delay = min(2*delay, c.cfg.reconnectMax)
	}
}

// watch ticks the session (idle check, heartbeat, batch sweep) until it
// ends or the client closes. It also catches a session that getty stopped
// and then started redialling for from inside its read goroutine (see
// attempt.disarm): closing the getty client ends the redial, and the read
// goroutine goes on to OnClose.
func (s *slot) watch(cn *conn) {
	t := time.NewTicker(tickPeriod(s.c.cfg.IdleTimeout, s.c.cfg.HeartbeatInterval))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if cn.gs.IsClosed() {
				cn.onEnded() // the getty client's Close; safe once the session is stopped
			}
			cn.tick()
		case <-cn.closing:
			return
		case <-s.c.closing:
			return
		case <-s.retired:
			s.drain(cn, t.C)
			return
		}
	}
}

// drain ends a session whose coordinator left the resolver's list without
// failing a request: ready stops offering it to new work, while the calls
// of transactions begun at its coordinator still go to it (see openTxs).
// It closes once no call is under way on it (answers included), no
// coordinator request is being handled on it, and no transaction begun at
// its coordinator is open within its timeout. Meanwhile it keeps ticking
// the session (heartbeats, idle check).
func (s *slot) drain(cn *conn, tick <-chan time.Time) {
	cn.draining.Store(true)
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()
	for cn.inflight.Load() > 0 || s.c.open.anyOpen(s.addr) {
		select {
		case <-cn.idle:
		case <-poll.C:
		case <-tick:
			cn.tick()
		case <-cn.closing:
			return
		case <-s.c.closing:
			return
		}
	}
	cn.close(ErrDrained)
}

// drainPoll is how often a draining session checks whether it is done.
const drainPoll = 10 * time.Millisecond

// jitter returns d reduced by a random amount of up to half.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d - rand.N(d/2)
}

// attempt states.
const (
	attemptWaiting   int32 = iota // no session yet
	attemptAccepted               // the callback took a session
	attemptAbandoned              // the supervisor gave up; the callback refuses sessions
)

var errAttemptOver = errors.New("atcc/rpc: connection attempt over")

// attempt is one connection attempt: a getty client and its dial loop.
type attempt struct {
	s       *slot
	gc      getty.Client // immutable
	state   atomic.Int32
	opened  chan *conn // receives the accepted session, or nil if the client closed; capacity 1
	dialErr chan error // receives why a dial to the address failed (see gettyRouter); capacity 1
	cn      *conn      // the accepted session; written and read only on the run goroutine
}

// connect makes one connection attempt and registers the session, all
// within DialTimeout. It returns the session once it is registered and
// published, ready for calls. Its errors name the address and the cause:
// the dial's error (refused, unreachable, TLS), a timeout, or a peer that
// does not speak the Seata protocol (ErrNotCoordinator).
func (s *slot) connect() (*conn, error) {
	c := s.c
	deadline := time.Now().Add(c.cfg.DialTimeout)
	opts := []getty.ClientOption{
		getty.WithServerAddress(s.addr),
		getty.WithConnectionNumber(1),
		// After connecting, getty sleeps for the reconnect interval
		// (default 300ms) before RunEventLoop returns; 1ns makes that one
		// tick of its timer wheel.
		getty.WithReconnectInterval(1),
	}
	if c.cfg.TLS != nil {
		opts = append(opts, getty.WithClientSslEnabled(true), getty.WithClientTlsConfigBuilder(tlsConfigBuilder{c.cfg.TLS}))
	}
	a := &attempt{s: s, gc: getty.NewTCPClient(opts...), opened: make(chan *conn, 1), dialErr: make(chan error, 1)}
	s.att.Store(a)
	c.wg.Add(1)
	go a.run()

	t := time.NewTimer(c.cfg.DialTimeout)
	defer t.Stop()
	var cn *conn
	select {
	case cn = <-a.opened:
	case err := <-a.dialErr:
		// getty would redial every 500ms until DialTimeout; the first
		// failure is the answer.
		if a.state.CompareAndSwap(attemptWaiting, attemptAbandoned) {
			s.att.Store(nil)
			a.gc.Close()
			return nil, dialError(s.addr, err)
		}
		cn = <-a.opened
	case <-t.C:
		if a.state.CompareAndSwap(attemptWaiting, attemptAbandoned) {
			s.att.Store(nil)
			a.gc.Close()
			return nil, fmt.Errorf("dial %s: no connection within DialTimeout %v (no answer from the host: down, filtered or unreachable)", s.addr, c.cfg.DialTimeout)
		}
		cn = <-a.opened
	case <-c.closing:
		if a.state.CompareAndSwap(attemptWaiting, attemptAbandoned) {
			s.att.Store(nil)
			a.gc.Close()
			return nil, ErrClientClosed
		}
		cn = <-a.opened
	case <-s.retired:
		if a.state.CompareAndSwap(attemptWaiting, attemptAbandoned) {
			s.att.Store(nil)
			a.gc.Close()
			return nil, ErrDrained
		}
		cn = <-a.opened
	}
	s.att.Store(nil)
	if cn == nil {
		a.gc.Close()
		return nil, ErrClientClosed
	}
	if err := s.register(cn, deadline); err != nil {
		s.cur.CompareAndSwap(cn, nil)
		cn.close(err)
		return nil, err
	}
	return cn, nil
}

// run runs getty's dial loop until it has produced the session or the
// attempt is abandoned, then disarms getty's redial for the session.
func (a *attempt) run() {
	defer a.s.c.wg.Done()
	a.gc.RunEventLoop(a.newSession)
	if a.cn != nil {
		a.disarm(a.cn)
	}
}

// newSession is getty's callback for a dialled connection. It accepts the
// first one of a live attempt. Any later one comes from getty redialling
// after the accepted session stopped (or from a dial that outlived an
// abandoned attempt): it is refused and the getty client closed, which ends
// the redial loop. Closing the getty client closes its sessions, but the
// only one it holds is then already stopped, which getty's Close leaves
// alone.
func (a *attempt) newSession(gs getty.Session) error {
	if !a.state.CompareAndSwap(attemptWaiting, attemptAccepted) {
		a.gc.Close()
		return errAttemptOver
	}
	cn := a.s.c.newConn(gs, a.s.addr, a.gc.Close)
	a.cn = cn
	a.opened <- cn
	if cn == nil {
		return ErrClientClosed
	}
	return nil
}

// disarm stops getty's client from redialling when the session stops on a
// read error (on EOF getty does not redial). getty sets its own attributes on
// the session after the session has started, so this runs once RunEventLoop
// has returned. If the session stopped before the attribute was set, getty
// may be redialling already: closing the getty client ends that. A session
// that stops in between is caught by slot.watch.
func (a *attempt) disarm(cn *conn) {
	cn.gs.SetAttribute(gettyIgnoreReconnect, true)
	if cn.gs.IsClosed() {
		a.gc.Close()
	}
}

// register sends RegisterTM or RegisterRM (with every resource id) and, if
// the coordinator accepts before deadline, publishes the session as ready.
func (s *slot) register(cn *conn, deadline time.Time) error {
	c := s.c
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var (
		req protocol.Message
		n   int // resources included
	)
	switch s.role {
	case RoleTM:
		req = &protocol.RegisterTMRequest{Version: clientVersion, ApplicationID: c.cfg.ApplicationID,
			TxServiceGroup: c.cfg.TxServiceGroup, ExtraData: c.extraData(cn)}
	default:
		c.mu.Lock()
		ids := append([]string(nil), c.resources...)
		c.mu.Unlock()
		n = len(ids)
		req = c.registerRM(cn, ids)
	}
	resp, err := cn.roundTrip(ctx, nil, req, false)
	var de *protocol.DecodeError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("register %v at %s: %w: it answered with %w", s.role, s.addr, ErrNotCoordinator, de)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("register %v at %s: no answer within DialTimeout %v (not a Seata coordinator, or one too busy to answer): %w",
			s.role, s.addr, c.cfg.DialTimeout, err)
	case err != nil:
		return fmt.Errorf("register %v at %s: %w", s.role, s.addr, err)
	}
	var identified bool
	switch r := resp.(type) {
	case *protocol.RegisterTMResponse:
		identified, cn.peerVersion = r.Identified && s.role == RoleTM, r.Version
	case *protocol.RegisterRMResponse:
		identified, cn.peerVersion = r.Identified && s.role == RoleRM, r.Version
	}
	if !identified {
		return fmt.Errorf("%w: %v at %s answered %v", ErrRegistrationRejected, s.role, s.addr, typeOf(resp))
	}

	// Publish. Resources added while registering (§8.1 step 6) were not
	// in the request and AddResource did not see this session: send them.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	if s.gone.Load() {
		c.mu.Unlock()
		return ErrDrained
	}
	missing := append([]string(nil), c.resources[min(n, len(c.resources)):]...)
	if s.role != RoleRM {
		missing = nil
	}
	s.cur.Store(cn)
	close(c.stateCh)
	c.stateCh = make(chan struct{})
	c.mu.Unlock()
	if len(missing) > 0 {
		if err := c.registerResources(ctx, nil, cn, missing); err != nil {
			return err
		}
	}
	return nil
}

func typeOf(m protocol.Message) string {
	if m == nil {
		return "nothing"
	}
	return m.TypeCode().String()
}

// dialError names the address and the cause of a failed dial reported by
// getty: "dial tcp 127.0.0.1:8091: connect: connection refused", or the
// TLS handshake's failure.
func dialError(addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return op // names the address and the cause
	}
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &alert) || errors.As(err, &recErr) ||
		strings.HasPrefix(err.Error(), "tls: ") || strings.Contains(err.Error(), "remote error: tls") {
		return fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return fmt.Errorf("dial %s: %w", addr, err)
}

// onDialFailed is the client's gettyRouter hook: getty reports that a
// dial to addr failed. Every attempt waiting for a dial to addr ends with
// that error.
func (c *Client) onDialFailed(addr string, err error) {
	if !c.started.Load() {
		return
	}
	for _, role := range clientRoles {
		for _, s := range c.slotList(role) {
			if s.addr != addr {
				continue
			}
			if a := s.att.Load(); a != nil {
				select {
				case a.dialErr <- err:
				default:
				}
			}
		}
	}
}

package rpc

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	getty "github.com/apache/dubbo-getty"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// ServerConfig configures a Server. Fields left at their zero value take the
// default their comment names.
type ServerConfig struct {
	// Version is the Seata version the server announces in its Register
	// responses. Default "2.2.0".
	Version string

	// IdleTimeout: a session that has read nothing for this long is closed
	// (§8.3: clients send something at least every 15s). It also bounds a
	// blocked write. Default 15s; negative disables the check.
	IdleTimeout time.Duration

	// RequestTimeout bounds ServerSession.Call when its context has no
	// deadline. Default 15s (the Java TC's timeout for branch requests).
	RequestTimeout time.Duration

	// Workers is the number of goroutines that run the handler; QueueSize
	// is the number of requests that may wait for one. A request that finds
	// the queue full is answered at once with a failed result. Defaults 32
	// and 1024.
	Workers, QueueSize int

	// BatchResults answers a MergedWarpMessage that carries msgIds, from a
	// client registered with version 1.5.0 or later, with a
	// BatchResultMessage instead of a MergeResultMessage, as a Java TC does
	// with transport.enableTcServerBatchSendResponse. Default off: every
	// client understands MergeResultMessage.
	BatchResults bool

	// TLS, when not nil, makes the server accept TLS connections only.
	// Default nil: plain TCP.
	TLS *tls.Config

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger

	// Limits bound what clients can make the server hold; the zero value
	// takes safe defaults (see ServerLimits).
	Limits ServerLimits

	// Auth says who may register; the zero value accepts everyone, as
	// Seata does (see ServerAuth).
	Auth ServerAuth
}

// Defaults of ServerConfig.
const (
	defaultServerVersion        = "2.2.0"
	defaultServerIdleTimeout    = 15 * time.Second
	defaultServerRequestTimeout = 15 * time.Second
	defaultServerWorkers        = 32
	defaultServerQueueSize      = 1024
)

// withDefaults returns a copy of c with every zero field set to its
// default, Limits included.
func (c ServerConfig) withDefaults() ServerConfig {
	if c.Version == "" {
		c.Version = defaultServerVersion
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = defaultServerIdleTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = defaultServerRequestTimeout
	}
	if c.Workers == 0 {
		c.Workers = defaultServerWorkers
	}
	if c.QueueSize == 0 {
		c.QueueSize = defaultServerQueueSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Limits = c.Limits.withDefaults()
	return c
}

// ServerHandler is what a coordinator plugs into a Server.
type ServerHandler interface {
	// HandleRequest answers a client's request. It runs on the server's
	// worker pool, may block, and receives a context that is cancelled when
	// the server closes (requests an InlineHandler calls non-blocking run
	// on the session's read goroutine instead). req is one of the requests a coordinator handles:
	// GlobalBegin, GlobalCommit, GlobalRollback, GlobalStatus, GlobalReport,
	// BranchRegister, BranchReport or GlobalLockQuery (pointers to the
	// protocol types). The inner requests of a MergedWarpMessage are passed
	// one at a time, in order, and answered together.
	//
	// It must return the matching response (e.g. *GlobalBeginResponse for
	// *GlobalBeginRequest) with every field set. The server owns the
	// returned message: it translates Result.ExceptionCode to the client's
	// numbering in place. If HandleRequest panics or returns nil or the
	// wrong type, the client gets a failed result instead.
	HandleRequest(ctx context.Context, s *ServerSession, req protocol.Message) protocol.Message

	// SessionRegistered is called after each accepted RegisterTM or
	// RegisterRM of a session, including RegisterRMs that add resources.
	SessionRegistered(s *ServerSession)

	// SessionClosed is called once when a session that registered ends.
	SessionClosed(s *ServerSession)
}

// InlineHandler is a ServerHandler that can tell, per request, that
// HandleRequest will answer it without blocking: no I/O, no wait on another
// peer, only short critical sections (a coordinator answering from memory).
// The Server then runs such requests on the session's read goroutine instead
// of handing them to the worker pool, which saves a goroutine hand-off per
// request; every other request still goes to the pool.
//
// Inline is called on the read goroutine for every request after
// registration; it must be cheap and must not block. A request it wrongly
// reports as non-blocking stalls the reading of its own session only (each
// session has its own read goroutine), never another session's.
type InlineHandler interface {
	ServerHandler
	Inline(req protocol.Message) bool
}

// Server is the coordinator side of the Seata RPC protocol: it accepts client
// sessions, handles their registrations and heartbeats itself, hands their
// requests to a ServerHandler, and lets the coordinator send branch requests
// down a chosen session (ServerSession.Call).
//
// SessionRegistered and SessionClosed are called in order, one at a time,
// from one goroutine; HandleRequest runs on the worker pool, or on the
// session's read goroutine for requests an InlineHandler calls non-blocking. A Server is
// safe for concurrent use; NewServer does no I/O, Start listens, and Close
// must be called to release the listener and the sessions.
type Server struct {
	cfg    ServerConfig  // immutable, defaults applied
	h      ServerHandler // immutable
	inline InlineHandler // h, when it implements InlineHandler; immutable
	log    *slog.Logger
	pend   *pendingTable
	reject atomic.Uint64
	adm    *admission     // connection and buffer accounting; immutable
	rlog   *rateLog       // refusals, at most one line per kind a second
	wg     sync.WaitGroup // sessions until OnClose, and their flushers
	events eventQueue
	// listening is held by Start while getty opens the listener, so that a
	// concurrent Close finds the getty server to close.
	listening sync.Mutex
	// janitorWG counts the janitor, which stops when closing is closed.
	janitorWG sync.WaitGroup
	closing   chan struct{}
	gate      acceptGate // Close parks getty's accept loop before closing it

	mu       sync.Mutex
	started  bool                        // guarded by mu
	closed   bool                        // guarded by mu
	gs       getty.Server                // set by Start; guarded by mu
	addr     net.Addr                    // set by Start; guarded by mu
	work     *workerPool                 // set by Start under mu before any session exists; sessions read it without the lock
	sessions map[*ServerSession]struct{} // open sessions; guarded by mu
	nextID   uint64                      // guarded by mu
	unroute  func()                      // removes the getty log route; set by Start; guarded by mu
}

// NewServer returns a server that passes requests to h. It does no I/O.
// Invalid settings in cfg are reported by Start.
func NewServer(cfg ServerConfig, h ServerHandler) *Server {
	cfg = cfg.withDefaults()
	rlog := newRateLog(cfg.Logger, time.Second)
	inline, _ := h.(InlineHandler)
	return &Server{cfg: cfg, h: h, inline: inline, log: cfg.Logger, pend: newPendingTable(true),
		adm: newAdmission(cfg.Limits, rlog), rlog: rlog,
		closing: make(chan struct{}), gate: acceptGate{parked: make(chan struct{})},
		sessions: make(map[*ServerSession]struct{})}
}

var errServerStarted = errors.New("atcc/rpc: server already started")

// Start listens on addr ("host:port"; port 0 picks a free port, see Addr)
// and returns once the listener is open; sessions are served in the
// background. It can be called once; if it fails, the server is closed.
//
// getty opens the listener itself from the address, so a Server cannot be
// handed a net.Listener.
func (s *Server) Start(addr string) error {
	if s.h == nil {
		return fmt.Errorf("%w: nil ServerHandler", ErrInvalidConfig)
	}
	if s.cfg.Workers < 0 || s.cfg.QueueSize < 0 || s.cfg.RequestTimeout < 0 {
		return fmt.Errorf("%w: negative Workers, QueueSize or RequestTimeout", ErrInvalidConfig)
	}
	if _, port, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%w: listen address %q: %v", ErrInvalidConfig, addr, err)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%w: listen address %q: bad port", ErrInvalidConfig, addr)
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrServerClosed
	case s.started:
		s.mu.Unlock()
		return errServerStarted
	}
	s.started = true
	s.work = newWorkerPool(s.cfg.Workers, s.cfg.QueueSize, s.handle)
	s.events.start(s.h, s.log)
	if s.cfg.IdleTimeout > 0 || s.cfg.Limits.RegisterTimeout > 0 {
		s.janitorWG.Add(1)
		go s.janitor()
	}
	s.mu.Unlock()

	opts := []getty.ServerOption{getty.WithLocalAddress(addr)}
	if s.cfg.TLS != nil {
		opts = append(opts, getty.WithServerSslEnabled(true), getty.WithServerTlsConfigBuilder(tlsConfigBuilder{s.cfg.TLS}))
	}
	gs := getty.NewTCPServer(opts...)
	s.listening.Lock() // a concurrent Close sees either gs or, before, closed
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.listening.Unlock()
		return ErrServerClosed
	}
	err := runGettyServer(gs, s.newSession)
	if err == nil {
		s.mu.Lock()
		s.gs, s.addr = gs, gs.(getty.StreamServer).Listener().Addr()
		s.unroute = gettyLog.route(s.log, nil, addr, s.addr.String(), portKey(s.addr.String()))
		s.mu.Unlock()
	}
	s.listening.Unlock()
	if err != nil {
		s.Close()
	}
	return err
}

// runGettyServer starts getty's accept loop. getty panics when it cannot
// listen; that becomes an error.
func runGettyServer(gs getty.Server, newSession getty.NewSessionCallback) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("atcc/rpc: listen: %v", p)
		}
	}()
	gs.RunEventLoop(newSession)
	return nil
}

// defaultTimer returns a timer that fires after RequestTimeout when ctx has
// no deadline, or nil. Release it with putTimer.
func (s *Server) defaultTimer(ctx context.Context) *time.Timer {
	if _, ok := ctx.Deadline(); ok {
		return nil
	}
	return getTimer(s.cfg.RequestTimeout)
}

// Addr returns the listener's address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Sessions returns the open sessions, registered or not, by ID.
func (s *Server) Sessions() []*ServerSession {
	s.mu.Lock()
	out := make([]*ServerSession, 0, len(s.sessions))
	for ss := range s.sessions {
		out = append(out, ss)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *ServerSession) int { return cmp.Compare(a.id, b.id) })
	return out
}

// Stats returns the server's counters. Pending counts the server's own
// requests (ServerSession.Call) waiting for an answer.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n, w := len(s.sessions), s.work
	s.mu.Unlock()
	st := Stats{Sessions: n, Pending: s.pend.len(), LateReplies: s.pend.late.Load(), Rejected: s.reject.Load(),
		Refused: s.rlog.counts()}
	if w != nil {
		st.Queued = w.queued()
	}
	return st
}

// Close stops listening, closes every session (their pending calls fail with
// ErrConnectionLost wrapping ErrServerClosed), cancels the handlers' context
// and waits for the workers, the sessions' goroutines and the remaining
// SessionClosed calls. It returns nil; calling it again does nothing.
func (s *Server) Close() error {
	s.listening.Lock() // not while Start opens the listener
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.listening.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	gs, addr, work, started := s.gs, s.addr, s.work, s.started
	sessions := make([]*ServerSession, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	s.listening.Unlock()

	if gs != nil {
		s.closeGetty(gs, addr) // no new sessions; waits for the accept loop
	}
	if work != nil {
		work.cancelContext()
	}
	for _, ss := range sessions {
		ss.cn.close(ErrServerClosed)
	}
	s.janitorWG.Wait()
	s.wg.Wait()
	if work != nil {
		work.stop()
	}
	if started {
		s.events.stop()
	}
	s.mu.Lock()
	unroute := s.unroute
	s.mu.Unlock()
	if unroute != nil {
		unroute()
	}
	return nil
}

// janitor closes sessions that stayed silent for IdleTimeout.
func (s *Server) janitor() {
	defer s.janitorWG.Done()
	t := time.NewTicker(tickPeriod(s.cfg.IdleTimeout, s.cfg.Limits.RegisterTimeout))
	defer t.Stop()
	var sessions []*ServerSession
	for {
		select {
		case <-t.C:
		case <-s.closing:
			return
		}
		s.mu.Lock()
		sessions = sessions[:0]
		for ss := range s.sessions {
			sessions = append(sessions, ss)
		}
		s.mu.Unlock()
		now := nanotime()
		for i, ss := range sessions {
			if rt := s.cfg.Limits.RegisterTimeout; rt > 0 && now-ss.opened > int64(rt) && ss.Roles() == 0 {
				s.rlog.Warn("unregistered", "atcc/rpc: closing a connection that did not register in time", "addr", ss.cn.addr, "after", rt)
				ss.cn.close(errNotRegisteredT)
			}
			ss.cn.tick()
			sessions[i] = nil
		}
	}
}

// newSession is getty's callback for an accepted connection.
func (s *Server) newSession(gs getty.Session) error {
	select {
	case <-s.closing:
		s.parkAcceptLoop() // see closeGetty
		return ErrServerClosed
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	s.nextID++
	ss := &ServerSession{srv: s, id: s.nextID, host: remoteHost(gs.RemoteAddr()), opened: nanotime()}
	ss.cn = newConn(gs, connConfig{
		addr:        gs.RemoteAddr(),
		owner:       ss,
		pend:        s.pend,
		wg:          &s.wg,
		log:         s.log,
		idleTimeout: s.cfg.IdleTimeout,
		buffers:     s.adm,
		maxFrame:    s.cfg.Limits.MaxFrameBytes,
	})
	if err := s.adm.admit(ss.host); err != nil {
		// Closed at once, quietly: returning the error would make getty log
		// a warning per refused connection.
		s.rlog.Warn("connlimit", "atcc/rpc: connection refused", "addr", ss.cn.addr, "err", err)
		ss.cn.close(err)
		// getty's timer wheel keeps every session until its cron timer
		// fires (gettyCronPeriod); a refused session ends at once, so its
		// timer can fire soon and release it without racing a teardown.
		gs.SetCronPeriod(int(time.Second / time.Millisecond))
		return nil
	}
	ss.admitted = true
	s.sessions[ss] = struct{}{}
	return nil
}

// onClosed forgets an ended session.
func (s *Server) onClosed(ss *ServerSession) {
	if !ss.admitted {
		return
	}
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
	s.adm.release(ss.host)
	if ss.announced.Load() {
		s.events.push(event{closed: true, ss: ss})
	}
}

// onRequest handles a client's request on the read goroutine: registrations
// at once (so that a request sent right after a oneway registration, as
// seata-go does, finds the session registered), requests the InlineHandler
// calls non-blocking at once too, everything else on the worker pool.
//
// The rule that keeps one session from stalling the others: a read
// goroutine never waits for a store or an RM. It runs only handlers declared
// non-blocking, whose work is bounded by the frame limits, and writes their
// answer itself, as a worker would: the one wait left is on its own peer's
// socket, bounded by the write deadline (IdleTimeout), after which that
// session is closed. Each session has its own read goroutine, so a slow
// store or a slow peer delays no other session's frames; requests that may
// block share the worker pool and its bounded queue as before. (Answers are
// not queued on the control lane: that costs a flusher goroutine and more
// allocations than the hand-off it saves.)
func (s *Server) onRequest(ss *ServerSession, f *protocol.Frame) {
	switch m := f.Body.(type) {
	case *protocol.RegisterTMRequest:
		if err := s.checkRegistration(ss, m.ApplicationID, m.TxServiceGroup, m.ExtraData, ""); err != nil {
			s.refuseRegistration(ss, f, &protocol.RegisterTMResponse{Version: s.cfg.Version}, err)
			return
		}
		ss.register(RoleTM, m.ApplicationID, m.TxServiceGroup, m.Version, "")
		// Answered even when sent oneway (J7), as is everything below.
		ss.cn.sendAsync(responseFrame(f, &protocol.RegisterTMResponse{Identified: true, Version: s.cfg.Version}))
		s.announce(ss)
		return
	case *protocol.RegisterRMRequest:
		if err := s.checkRegistration(ss, m.ApplicationID, m.TxServiceGroup, m.ExtraData, m.ResourceIDs); err != nil {
			s.refuseRegistration(ss, f, &protocol.RegisterRMResponse{Version: s.cfg.Version}, err)
			return
		}
		ss.register(RoleRM, m.ApplicationID, m.TxServiceGroup, m.Version, m.ResourceIDs)
		if announcesMergedCommit(m.ExtraData) {
			ss.mergedCommit.Store(true)
		}
		ss.cn.sendAsync(responseFrame(f, &protocol.RegisterRMResponse{Identified: true, Version: s.cfg.Version}))
		s.announce(ss)
		return
	}
	if !isCoordinatorRequest(f.Body.TypeCode()) {
		s.log.Warn("atcc/rpc: unexpected request from client dropped", "session", ss.id, "addr", ss.cn.addr, "type", f.Body.TypeCode())
		return
	}
	if ss.Roles() == 0 {
		s.log.Warn("atcc/rpc: request before registration; closing session", "session", ss.id, "addr", ss.cn.addr, "type", f.Body.TypeCode())
		ss.cn.close(errNotRegistered)
		return
	}
	if s.inlineable(f.Body) {
		s.handle(s.work.ctx, task{cn: ss.cn, f: f})
		return
	}
	if s.work.submit(task{cn: ss.cn, f: f}) {
		return
	}
	s.reject.Add(1)
	s.log.Debug("atcc/rpc: worker queue full", "session", ss.id, "type", f.Body.TypeCode())
	const busy = "atcc/rpc: coordinator busy: request queue full"
	var resp protocol.Message
	if m, ok := f.Body.(*protocol.MergedWarpMessage); ok {
		results := make([]protocol.Message, len(m.Messages))
		for i, in := range m.Messages {
			results[i] = failureResponse(in, busy)
		}
		resp = &protocol.MergeResultMessage{Results: results}
	} else {
		resp = failureResponse(f.Body, busy)
	}
	ss.cn.sendAsync(responseFrame(f, resp))
}

// announce queues SessionRegistered.
func (s *Server) announce(ss *ServerSession) {
	ss.announced.Store(true)
	s.events.push(event{ss: ss})
}

// inlineable reports whether the handler answers req, or every request a
// MergedWarpMessage carries, without blocking.
func (s *Server) inlineable(req protocol.Message) bool {
	if s.inline == nil {
		return false
	}
	if m, ok := req.(*protocol.MergedWarpMessage); ok {
		for _, in := range m.Messages {
			if !s.inline.Inline(in) {
				return false
			}
		}
		return len(m.Messages) > 0
	}
	return s.inline.Inline(req)
}

// handle runs a client request on a worker and sends the answer.
func (s *Server) handle(ctx context.Context, t task) {
	frame := s.respond(ctx, t.cn.owner.(*ServerSession), t.f)
	if _, err := t.cn.writeFrame(&frame); err != nil { // on the stack: 1 allocation per request fewer (atcc-bench, 3 per AT transaction)
		s.log.Debug("atcc/rpc: answer not sent", "session", t.cn.owner.(*ServerSession).id, "type", frame.Body.TypeCode(), "err", err)
	}
}

// respond calls the handler for the request f carries and returns the
// answer's frame.
func (s *Server) respond(ctx context.Context, ss *ServerSession, f *protocol.Frame) protocol.Frame {
	frame := protocol.Frame{Type: protocol.Response, Codec: f.Codec, Compressor: f.Compressor, RequestID: f.RequestID}
	if m, ok := f.Body.(*protocol.MergedWarpMessage); ok {
		results := make([]protocol.Message, len(m.Messages))
		for i, in := range m.Messages {
			results[i] = s.answer(ctx, ss, in)
		}
		if s.cfg.BatchResults && len(m.MsgIDs) == len(m.Messages) && versionAtLeast(ss.Version(), 1, 5) {
			// Java sends BatchResultMessage with the request's head map (§2.1).
			frame.HeadMap = f.HeadMap
			frame.Body = &protocol.BatchResultMessage{Results: results, MsgIDs: m.MsgIDs}
		} else {
			frame.Body = &protocol.MergeResultMessage{Results: results}
		}
	} else {
		frame.Body = s.answer(ctx, ss, f.Body)
	}
	return frame
}

// answer calls the handler for one request and makes sure the result is a
// complete response of the right type, in the client's exception-code
// numbering.
func (s *Server) answer(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message {
	want, ok := coordinatorResponse(req.TypeCode())
	var resp protocol.Message
	if ok {
		var panicked string
		resp, panicked = s.callHandler(ctx, ss, req)
		if resp == nil || resp.TypeCode() != want {
			why := whyNoAnswer(resp, panicked)
			s.log.Error("atcc/rpc: no valid answer from ServerHandler; answering failure", "session", ss.id, "type", req.TypeCode(), "why", why)
			resp = failureResponse(req, "atcc/rpc: coordinator: "+why)
		}
	} else {
		// A BranchCommit, which decodes inside a MergedWarpMessage for
		// the coordinator's merged phase two, merged by a client: not the
		// handler's business.
		s.log.Warn("atcc/rpc: client merged a request that is not for a coordinator; answering failure", "session", ss.id, "type", req.TypeCode())
		resp = failureResponse(req, "atcc/rpc: coordinator: "+req.TypeCode().String()+" is not a request to the coordinator")
	}
	if r, ok := protocol.ResultOf(resp); ok {
		r.ExceptionCode = protocol.ExceptionCode(protocol.ExceptionCodeForPeer(r.ExceptionCode, ss.Version()))
	}
	return resp
}

// callHandler runs the ServerHandler; a panic becomes a nil response and
// its description.
func (s *Server) callHandler(ctx context.Context, ss *ServerSession, req protocol.Message) (resp protocol.Message, panicked string) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("atcc/rpc: ServerHandler panicked", "type", req.TypeCode(), "panic", p, "stack", string(debug.Stack()))
			resp, panicked = nil, fmt.Sprint(p)
		}
	}()
	return s.h.HandleRequest(ctx, ss, req), ""
}

// whyNoAnswer explains why a handler's result cannot be sent.
func whyNoAnswer(resp protocol.Message, panicked string) string {
	switch {
	case panicked != "":
		return "handler panicked: " + panicked
	case resp == nil:
		return "handler returned no response"
	}
	return "handler returned a " + resp.TypeCode().String()
}

// versionAtLeast reports whether a "major.minor[.patch]" version is at least
// major.minor; false if it does not parse.
func versionAtLeast(v string, major, minor int) bool {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	maj, rest, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	minS, _, _ := strings.Cut(rest, ".")
	m1, err1 := strconv.Atoi(maj)
	m2, err2 := strconv.Atoi(minS)
	if err1 != nil || err2 != nil {
		return false
	}
	return m1 > major || m1 == major && m2 >= minor
}

package tc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Server is a transaction coordinator (TC) that speaks the Seata RPC
// protocol v1: Java Seata clients and atcc clients use it in place of a Java
// Seata server.
//
// Lifecycle: New (no I/O), Start (opens the store and listens), then
// Shutdown or Close. A Server is safe for concurrent use.
type Server struct {
	cfg  Config // resolved
	st   store
	core *coordinator
	sess *sessionIndex
	rpc  *rpc.Server

	atMu        sync.Mutex
	atResources map[string]struct{} // resource ids of AT branches seen, for UndoLogDelete

	mu    sync.Mutex
	state serverState
	done  chan struct{} // closed by Shutdown: stops the undo-log loop
	loops sync.WaitGroup
}

type serverState int

const (
	stateNew serverState = iota
	stateStarting
	stateRunning
	stateClosed
)

// maxATResources bounds the resource ids remembered for UndoLogDelete.
const maxATResources = 10_000

// New returns a server configured by cfg. It does no I/O; Start does.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var st store
	if cfg.DB != nil {
		st = newMySQLStore(cfg.DB)
	} else {
		st = newMemStore(time.Now)
	}
	s := &Server{
		cfg:         cfg,
		st:          st,
		sess:        newSessionIndex(cfg.BranchTimeout, cfg.RPC.RequestTimeout, !cfg.SharedOwnership),
		atResources: make(map[string]struct{}),
		done:        make(chan struct{}),
	}
	var calls branchCaller = s.sess
	if cfg.Observer != nil {
		calls = observedCalls{s.sess, cfg.Observer}
	}
	s.core = newCoordinator(cfg.coreConfig(), st, calls)
	s.core.obs = cfg.Observer
	if cfg.DB == nil {
		s.core.xidKey.Store(newXIDPermutation(randomXIDKey()))
	}
	s.rpc = rpc.NewServer(cfg.RPC, rpcHandler{s})
	s.sess.live = s.rpc.Sessions
	return s, nil
}

// Start opens the store (with the MySQL store: checks the tables, see
// CreateTables) and listens on addr, "host:port"; port 0 picks a free port,
// which Addr reports. It returns once the server accepts connections;
// sessions are served in the background. ctx bounds the start-up only.
//
// The transport (dubbo-getty) opens the listener itself from the address,
// which is why a Server is started with an address and not handed a
// net.Listener.
//
// Start can be called once. If it fails, the server is closed.
func (s *Server) Start(ctx context.Context, addr string) (err error) {
	s.mu.Lock()
	switch s.state {
	case stateNew:
		s.state = stateStarting
	case stateClosed:
		s.mu.Unlock()
		return ErrServerClosed
	default:
		s.mu.Unlock()
		return ErrAlreadyStarted
	}
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if m, ok := s.st.(*mysqlStore); ok {
		if err := m.init(ctx, time.Now()); err != nil {
			return err
		}
		key, err := m.loadXIDKey(ctx)
		if err != nil {
			return err
		}
		s.core.xidKey.Store(newXIDPermutation(key))
		if !m.audit {
			s.cfg.Logger.Warn("atcc/tc: branch_table has no attempts and last_error columns: the failures of branches are not recorded for operators; CreateTables (atcc-tc -init-schema) adds them")
		}
	}
	if err := s.rpc.Start(addr); err != nil {
		return err
	}
	adv := s.cfg.AdvertiseAddr
	if adv == "" {
		if adv, err = advertiseAddr(s.rpc.Addr()); err != nil {
			return err
		}
	}
	s.core.setAdvertise(adv)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed { // closed meanwhile
		return ErrServerClosed
	}
	s.state = stateRunning
	s.core.start()
	if s.cfg.UndoLogDeletePeriod > 0 {
		s.loops.Go(s.undoLogLoop)
	}
	s.cfg.Logger.Info("atcc/tc: coordinator started", slog.String("addr", s.rpc.Addr().String()), slog.String("advertise", adv))
	return nil
}

// Addr returns the address the server listens on, nil before Start.
func (s *Server) Addr() net.Addr { return s.rpc.Addr() }

// AdvertiseAddr returns the host:port XIDs start with, which is also the
// address to register in a service registry; "" before Start.
func (s *Server) AdvertiseAddr() string {
	if p := s.core.advertise.Load(); p != nil {
		return *p
	}
	return ""
}

// Shutdown stops the server gracefully: it stops looking for due work,
// lets the phase two in progress finish until ctx is done (requests are
// still answered meanwhile), then closes every session and the listener,
// cancels what is left of phase two, and hands the transactions it was
// driving back to the store, where another coordinator, or this one's next
// start, takes them over. With the memory store, whatever is not finished
// is lost. It returns ctx's error if the deadline cut phase two short. A
// second call does nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	prev := s.state
	s.state = stateClosed
	s.mu.Unlock()
	switch prev {
	case stateClosed:
		return nil
	case stateNew:
		return s.st.close()
	case stateStarting: // Start failed, or is failing: nothing ran yet
		return errors.Join(s.rpc.Close(), s.st.close())
	}
	err := s.core.drain(ctx)
	close(s.done)
	s.loops.Wait()
	rerr := s.rpc.Close()
	s.core.stop()
	return errors.Join(err, rerr, s.st.close())
}

// Close stops the server at once: Shutdown without waiting for phase two.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil // nothing was waited for, by request
	}
	return err
}

func (s *Server) undoLogLoop() {
	t := time.NewTicker(s.cfg.UndoLogDeletePeriod)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.deleteUndoLogs()
		}
	}
}

// deleteUndoLogs asks one RM session per AT resource to delete its undo logs
// older than UndoLogSaveDays, as the Java TC does every day.
func (s *Server) deleteUndoLogs() {
	sent := make(map[string]bool)
	for _, ss := range s.rpc.Sessions() {
		if ss.Roles()&rpc.RoleRM == 0 {
			continue
		}
		for _, r := range ss.ResourceIDs() {
			if sent[r] || !s.isATResource(r) {
				continue
			}
			req := &protocol.UndoLogDeleteRequest{BranchType: protocol.BranchAT, ResourceID: r, SaveDays: int16(s.cfg.UndoLogSaveDays)}
			if err := ss.Send(s.core.ctx, req); err == nil {
				sent[r] = true
			}
		}
	}
}

func (s *Server) noteATResource(id string) {
	s.atMu.Lock()
	defer s.atMu.Unlock()
	if len(s.atResources) < maxATResources {
		s.atResources[id] = struct{}{}
	}
}

func (s *Server) isATResource(id string) bool {
	s.atMu.Lock()
	defer s.atMu.Unlock()
	_, ok := s.atResources[id]
	return ok
}

// rpcHandler plugs the coordinator into the transport.
type rpcHandler struct{ s *Server }

func (h rpcHandler) HandleRequest(ctx context.Context, ss *rpc.ServerSession, req protocol.Message) protocol.Message {
	p := peer{clientID: ss.ClientID(), appID: ss.ApplicationID(), group: ss.TxServiceGroup(), addr: ss.RemoteAddr(), serves: ss}
	var resp protocol.Message
	if o := h.s.cfg.Observer; o != nil {
		resp = observedRequest(ctx, o, req, func(ctx context.Context) protocol.Message { return h.s.core.handle(ctx, p, req) })
	} else {
		resp = h.s.core.handle(ctx, p, req)
	}
	if r, ok := req.(*protocol.BranchRegisterRequest); ok && r.BranchType == protocol.BranchAT {
		if br, ok := resp.(*protocol.BranchRegisterResponse); ok && br.Code == protocol.ResultSuccess {
			h.s.noteATResource(r.ResourceID)
		}
	}
	return resp
}

// Inline implements rpc.InlineHandler: with the memory store, every request
// but GlobalCommit and GlobalRollback is answered from memory, under the
// store's mutex, and so may run on the session's read goroutine.
// GlobalCommit and GlobalRollback can wait for phase two (TCC branches, a
// rollback) and the MySQL store waits for its database: those go to the
// worker pool.
func (h rpcHandler) Inline(req protocol.Message) bool {
	if h.s.cfg.DB != nil {
		return false
	}
	switch req.(type) {
	case *protocol.GlobalBeginRequest, *protocol.BranchRegisterRequest, *protocol.BranchReportRequest,
		*protocol.GlobalLockQueryRequest, *protocol.GlobalStatusRequest, *protocol.GlobalReportRequest:
		return true
	}
	return false
}

func (h rpcHandler) SessionRegistered(ss *rpc.ServerSession) {
	if ss.Roles()&rpc.RoleRM == 0 {
		return
	}
	h.s.sess.add(ss)
	h.s.core.sessionRegistered(ss.ResourceIDs())
}

func (h rpcHandler) SessionClosed(ss *rpc.ServerSession) { h.s.sess.remove(ss) }

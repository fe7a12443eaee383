package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/quietstderr"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// TestMain fails the tests when anything (getty's process-wide logger
// included, which the package routes away from stderr by default) writes
// to stderr, or when goroutines leak.
func TestMain(m *testing.M) {
	os.Exit(quietstderr.Run(leakChecked{m}))
}

type leakChecked struct{ m *testing.M }

func (l leakChecked) Run() int {
	code := l.m.Run()
	if code == 0 {
		if leaks := waitNoLeaks(5 * time.Second); len(leaks) > 0 {
			fmt.Printf("leaked goroutines after all tests:\n%s\n", strings.Join(leaks, "\n\n"))
			code = 1
		}
	}
	return code
}

// checkLeaks fails t if goroutines of this package or of getty outlive the
// test. Call it first in a test, so that its cleanup runs after the others
// (Client.Close, Server.Close).
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if leaks := waitNoLeaks(5 * time.Second); len(leaks) > 0 {
			t.Errorf("leaked goroutines:\n%s", strings.Join(leaks, "\n\n"))
		}
	})
}

// waitNoLeaks polls until no goroutine but the caller runs code of this
// package or of getty, except getty's process-wide timer wheel, and returns
// the stacks of those left when d has passed.
func waitNoLeaks(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		leaks := leakedGoroutines()
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaks []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 { // the caller
			continue
		}
		ours := strings.Contains(g, "atcc/rpc.") || strings.Contains(g, "dubbo-getty")
		allowed := strings.Contains(g, "gost/time.") || // getty's global timer wheel
			strings.Contains(g, "gost/container/chan.") || // its queue
			strings.Contains(g, "testing.(*M).") || strings.Contains(g, "rpc.TestMain")
		if ours && !allowed {
			leaks = append(leaks, g)
		}
	}
	return leaks
}

// eventually polls cond until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testClientConfig is a client configuration with short timers.
func testClientConfig(addrs ...string) ClientConfig {
	return ClientConfig{
		Addresses:         addrs,
		ApplicationID:     "test-app",
		DialTimeout:       2 * time.Second,
		HeartbeatInterval: -1,
		reconnectMin:      5 * time.Millisecond,
		reconnectMax:      50 * time.Millisecond,
		RequestTimeout:    10 * time.Second,
	}
}

func newTestClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tc is a ServerHandler for tests: it answers every request with success
// (GlobalBegin gets the XID "<addr>:<transaction name>") unless handle is
// set, and records session callbacks.
type tc struct {
	handle func(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message
	addr   atomic.Value // string: the XID prefix

	mu          sync.Mutex
	registered  []*ServerSession // one entry per SessionRegistered call
	closedCalls []*ServerSession
}

func (h *tc) HandleRequest(ctx context.Context, ss *ServerSession, req protocol.Message) protocol.Message {
	if h.handle != nil {
		return h.handle(ctx, ss, req)
	}
	prefix, _ := h.addr.Load().(string)
	return okResponse(prefix, req)
}

func (h *tc) SessionRegistered(ss *ServerSession) {
	h.mu.Lock()
	h.registered = append(h.registered, ss)
	h.mu.Unlock()
}

func (h *tc) SessionClosed(ss *ServerSession) {
	h.mu.Lock()
	h.closedCalls = append(h.closedCalls, ss)
	h.mu.Unlock()
}

func (h *tc) registrations() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.registered)
}

// okResponse is a successful response to req.
func okResponse(xidPrefix string, req protocol.Message) protocol.Message {
	ok := protocol.Result{Code: protocol.ResultSuccess}
	switch r := req.(type) {
	case *protocol.GlobalBeginRequest:
		return &protocol.GlobalBeginResponse{Result: ok, XID: xidPrefix + ":" + r.TransactionName}
	case *protocol.GlobalCommitRequest:
		return &protocol.GlobalCommitResponse{Result: ok, GlobalStatus: protocol.GlobalCommitted}
	case *protocol.GlobalRollbackRequest:
		return &protocol.GlobalRollbackResponse{Result: ok, GlobalStatus: protocol.GlobalRollbacked}
	case *protocol.GlobalStatusRequest:
		return &protocol.GlobalStatusResponse{Result: ok, GlobalStatus: protocol.GlobalBegin}
	case *protocol.GlobalReportRequest:
		return &protocol.GlobalReportResponse{Result: ok, GlobalStatus: r.GlobalStatus}
	case *protocol.BranchRegisterRequest:
		return &protocol.BranchRegisterResponse{Result: ok, BranchID: 42}
	case *protocol.BranchReportRequest:
		return &protocol.BranchReportResponse{Result: ok}
	case *protocol.GlobalLockQueryRequest:
		return &protocol.GlobalLockQueryResponse{Result: ok, Lockable: true}
	case *protocol.BranchCommitRequest:
		return &protocol.BranchCommitResponse{Result: ok, BranchStatus: protocol.PhaseTwoCommitted}
	case *protocol.BranchRollbackRequest:
		return &protocol.BranchRollbackResponse{Result: ok, BranchStatus: protocol.PhaseTwoRollbacked}
	}
	return nil
}

// newTestServer starts a Server on a free loopback port.
func newTestServer(t *testing.T, cfg ServerConfig, h *tc) *Server {
	t.Helper()
	return startTestServer(t, cfg, h, "127.0.0.1:0")
}

func startTestServer(t *testing.T, cfg ServerConfig, h *tc, addr string) *Server {
	t.Helper()
	s := NewServer(cfg, h)
	if err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	h.addr.Store(s.Addr().String())
	t.Cleanup(func() { s.Close() })
	return s
}

// sessionsWith returns the server's sessions registered with role r.
func sessionsWith(s *Server, r Role) []*ServerSession {
	var out []*ServerSession
	for _, ss := range s.Sessions() {
		if ss.Roles()&r != 0 {
			out = append(out, ss)
		}
	}
	return out
}

// begin calls GlobalBegin with name and checks the XID echoes it.
func begin(ctx context.Context, c *Client, name string) error {
	resp, err := c.Call(ctx, RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: name})
	if err != nil {
		return err
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	if !strings.HasSuffix(xid, ":"+name) {
		return fmt.Errorf("begin %q answered with XID %q", name, xid)
	}
	return nil
}

// fakeTC is a scripted coordinator that speaks raw frames over loopback, to
// test the client against behaviours the Server never shows.
type fakeTC struct {
	t           *testing.T
	ln          net.Listener
	answerPings bool
	// onFrame sees every frame except registrations and (when answered)
	// PINGs; it runs on the connection's read goroutine.
	onFrame func(fc *fakeConn, f *protocol.Frame)

	mu    sync.Mutex
	conns []*fakeConn
	wg    sync.WaitGroup
}

type fakeConn struct {
	nc     net.Conn
	role   atomic.Uint32 // the Role it registered as
	wmu    sync.Mutex
	pings  atomic.Int32
	ids    sync.Map      // request id -> struct{}: every id the client sent
	closed chan struct{} // closed when the client ended the connection
}

func newFakeTC(t *testing.T, answerPings bool, onFrame func(*fakeConn, *protocol.Frame)) *fakeTC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTC{t: t, ln: ln, answerPings: answerPings, onFrame: onFrame}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeTC) addr() string { return f.ln.Addr().String() }

func (f *fakeTC) accept() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		fc := &fakeConn{nc: nc, closed: make(chan struct{})}
		f.mu.Lock()
		f.conns = append(f.conns, fc)
		f.mu.Unlock()
		f.wg.Add(1)
		go f.serve(fc)
	}
}

func (f *fakeTC) close() {
	f.ln.Close()
	f.mu.Lock()
	for _, fc := range f.conns {
		fc.nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *fakeTC) connections() []*fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeConn(nil), f.conns...)
}

func (f *fakeTC) serve(fc *fakeConn) {
	defer f.wg.Done()
	defer close(fc.closed)
	var buf []byte
	tmp := make([]byte, 64<<10)
	for {
		n, err := fc.nc.Read(tmp)
		if err != nil {
			return
		}
		buf = append(buf, tmp[:n]...)
		for {
			l, err := protocol.FrameLength(buf)
			if err != nil {
				f.t.Errorf("fake TC: bad frame from client: %v", err)
				return
			}
			if l == 0 || len(buf) < l {
				break
			}
			fr, err := protocol.DecodeFrame(buf[:l])
			if err != nil {
				f.t.Errorf("fake TC: undecodable frame from client: %v", err)
				return
			}
			buf = buf[l:]
			f.handle(fc, fr)
		}
	}
}

func (f *fakeTC) handle(fc *fakeConn, fr *protocol.Frame) {
	if fr.Type != protocol.Response && fr.Type != protocol.HeartbeatResponse {
		if _, dup := fc.ids.LoadOrStore(fr.RequestID, struct{}{}); dup {
			f.t.Errorf("fake TC: request id %d used twice on one connection", fr.RequestID)
		}
	}
	switch m := fr.Body.(type) {
	case *protocol.RegisterTMRequest:
		fc.role.Store(uint32(RoleTM))
		fc.send(f.t, responseFrame(fr, &protocol.RegisterTMResponse{Identified: true, Version: "2.2.0"}))
		return
	case *protocol.RegisterRMRequest:
		fc.role.Store(uint32(RoleRM))
		_ = m
		fc.send(f.t, responseFrame(fr, &protocol.RegisterRMResponse{Identified: true, Version: "2.2.0"}))
		return
	}
	if fr.Type == protocol.HeartbeatRequest {
		fc.pings.Add(1)
		if f.answerPings {
			fc.send(f.t, &protocol.Frame{Type: protocol.HeartbeatResponse, Codec: fr.Codec, RequestID: fr.RequestID})
			return
		}
	}
	if f.onFrame != nil {
		f.onFrame(fc, fr)
	}
}

func (fc *fakeConn) send(t *testing.T, fr *protocol.Frame) {
	b, err := protocol.AppendFrame(nil, fr)
	if err != nil {
		t.Errorf("fake TC: encode: %v", err)
		return
	}
	fc.write(b)
}

func (fc *fakeConn) write(b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	fc.nc.Write(b) // errors show up as a closed connection
}

// rawConn is a bare TCP connection to a Server, for protocol-level tests.
type rawConn struct {
	t   *testing.T
	nc  net.Conn
	buf []byte
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (r *rawConn) send(fr *protocol.Frame) {
	r.t.Helper()
	b, err := protocol.AppendFrame(nil, fr)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// recv reads the next frame; io.EOF when the server closed the connection.
func (r *rawConn) recv() (*protocol.Frame, error) {
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	tmp := make([]byte, 4096)
	for {
		if l, err := protocol.FrameLength(r.buf); err != nil {
			return nil, err
		} else if l > 0 && len(r.buf) >= l {
			fr, err := protocol.DecodeFrame(r.buf[:l])
			r.buf = r.buf[l:]
			return fr, err
		}
		n, err := r.nc.Read(tmp)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
				return nil, io.EOF
			}
			return nil, err
		}
		r.buf = append(r.buf, tmp[:n]...)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

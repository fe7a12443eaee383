package rpc

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkCall measures GlobalBegin round trips between a Client and a
// Server in one process over loopback (both sides' costs count), with 1
// and 64 concurrent callers, and with 64 callers batching (1ms window).
func BenchmarkCall(b *testing.B) {
	for _, bc := range []struct {
		callers int
		batch   bool
	}{{1, false}, {64, false}, {64, true}} {
		name := "callers=" + itoa(bc.callers)
		if bc.batch {
			name += "/batch"
		}
		callers := bc.callers
		b.Run(name, func(b *testing.B) {
			srv := NewServer(ServerConfig{Workers: 64}, &benchTC{})
			if err := srv.Start("127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			cfg := testClientConfig(srv.Addr().String())
			cfg.Batch = bc.batch
			c, err := NewClient(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			req := &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "bench"}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			per := b.N / callers
			for i := range callers {
				n := per
				if i == 0 {
					n += b.N % callers
				}
				wg.Go(func() {
					for range n {
						if _, err := c.Call(ctx, RoleTM, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// benchTC answers GlobalBegin with a fixed response: the benchmark measures
// the transport, not the handler.
type benchTC struct{}

func (benchTC) HandleRequest(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
	return &protocol.GlobalBeginResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, XID: "127.0.0.1:8091:2612345678901234567"}
}
func (benchTC) SessionRegistered(*ServerSession) {}
func (benchTC) SessionClosed(*ServerSession)     {}

// BenchmarkATCalls measures the rpc share of one AT transaction: per op, a
// GlobalBegin (TM), a BranchRegister (RM) and a GlobalCommit (TM) round trip
// by one caller. "both" runs a Client against a Server in this process, so
// both sides' costs count; "client" runs it against cannedTC, which answers
// from pre-encoded frames without allocating, so it counts the client alone
// (the server's share is the difference).
func BenchmarkATCalls(b *testing.B) {
	const xid = "127.0.0.1:8091:2612345678901234567"
	ok := protocol.Result{Code: protocol.ResultSuccess}
	answers := map[protocol.TypeCode]protocol.Message{
		protocol.TypeRegisterTM:     &protocol.RegisterTMResponse{Identified: true, Version: "2.2.0"},
		protocol.TypeRegisterRM:     &protocol.RegisterRMResponse{Identified: true, Version: "2.2.0"},
		protocol.TypeGlobalBegin:    &protocol.GlobalBeginResponse{Result: ok, XID: xid},
		protocol.TypeBranchRegister: &protocol.BranchRegisterResponse{Result: ok, BranchID: 2612345678901234568},
		protocol.TypeGlobalCommit:   &protocol.GlobalCommitResponse{Result: ok, GlobalStatus: protocol.GlobalCommitted},
	}
	begin := &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "transfer"}
	register := &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT,
		ResourceID: "jdbc:mysql://127.0.0.1:3306/bank", LockKey: "account:1,2", ApplicationData: `{"autoCommit":false}`}
	commit := &protocol.GlobalCommitRequest{XID: xid}
	for _, side := range []string{"both", "client"} {
		b.Run(side, func(b *testing.B) {
			var addr string
			if side == "both" {
				srv := NewServer(ServerConfig{Workers: 8}, atTC(answers))
				if err := srv.Start("127.0.0.1:0"); err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				addr = srv.Addr().String()
			} else {
				ctc := newCannedTC(b, answers)
				defer ctc.close()
				addr = ctc.ln.Addr().String()
			}
			c, err := NewClient(testClientConfig(addr))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, call := range []struct {
					role Role
					req  protocol.Message
				}{{RoleTM, begin}, {RoleRM, register}, {RoleTM, commit}} {
					if _, err := c.Call(ctx, call.role, call.req); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// atTC answers the requests of BenchmarkATCalls with fixed responses.
type atTC map[protocol.TypeCode]protocol.Message

func (t atTC) HandleRequest(_ context.Context, _ *ServerSession, req protocol.Message) protocol.Message {
	return t[req.TypeCode()]
}
func (atTC) SessionRegistered(*ServerSession) {}
func (atTC) SessionClosed(*ServerSession)     {}

// cannedTC is a coordinator for benchmarks that answers each request with a
// pre-encoded response frame chosen by the request's body type code, with
// the request id patched in. It does not allocate per request.
type cannedTC struct {
	ln      net.Listener
	answers map[protocol.TypeCode][]byte
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newCannedTC(b *testing.B, answers map[protocol.TypeCode]protocol.Message) *cannedTC {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	t := &cannedTC{ln: ln, answers: make(map[protocol.TypeCode][]byte)}
	for tc, m := range answers {
		f, err := protocol.AppendFrame(nil, &protocol.Frame{Type: protocol.Response, Codec: protocol.CodecSeata, Body: m})
		if err != nil {
			b.Fatal(err)
		}
		t.answers[tc] = f
	}
	t.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.mu.Lock()
			t.conns = append(t.conns, nc)
			t.mu.Unlock()
			t.wg.Go(func() { t.serve(nc) })
		}
	})
	return t
}

func (t *cannedTC) serve(nc net.Conn) {
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 64<<10)
	out := make([]byte, 0, 64<<10)
	for {
		n, err := nc.Read(tmp)
		if err != nil {
			return
		}
		buf = append(buf, tmp[:n]...)
		out = out[:0]
		for {
			l, err := protocol.FrameLength(buf)
			if err != nil || l == 0 || len(buf) < l {
				break
			}
			head := int(binary.BigEndian.Uint16(buf[7:9]))
			if protocol.MessageType(buf[9]) == protocol.HeartbeatRequest {
				out = append(out, buf[:protocol.HeaderLength]...)
				out[len(out)-protocol.HeaderLength+9] = byte(protocol.HeartbeatResponse)
			} else if a, ok := t.answers[protocol.TypeCode(binary.BigEndian.Uint16(buf[head:]))]; ok {
				start := len(out)
				out = append(out, a...)
				copy(out[start+12:start+16], buf[12:16]) // the request id
			}
			buf = buf[:copy(buf, buf[l:])]
		}
		if len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				return
			}
		}
	}
}

func (t *cannedTC) close() {
	t.ln.Close()
	t.mu.Lock()
	for _, nc := range t.conns {
		nc.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

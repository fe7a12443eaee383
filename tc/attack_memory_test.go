package tc

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// heapInuse is the heap in use after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// closedByServer reports whether the server closes c within 10 seconds.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return err == io.EOF || !isTimeout(err)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func rawFrame(t *testing.T, typ protocol.MessageType, m protocol.Message) []byte {
	t.Helper()
	b, err := protocol.AppendFrame(nil, &protocol.Frame{Type: typ, Codec: protocol.CodecSeata, RequestID: 1, Body: m})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttackMemory replays the attacks of issue 14 against one coordinator
// (memory store, default limits but for short timeouts) while a legitimate
// application keeps committing, and checks that the heap returns near its
// baseline once each attacker has left. It logs the measured table (go
// test -run TestAttackMemory -v; ATCC_ATTACK_FULL=1 replays the
// GlobalBegin flood at the size, 300,000, with the default limit).
// Not parallel: it measures the process's heap.
func TestAttackMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory under attack")
	}
	cfg := testConfig()
	cfg.EndedRetention = -1 // ended transactions are forgotten at once
	cfg.RPC.Limits.RegisterTimeout = time.Second
	begins, txTimeout := 15_000, 5*time.Second
	cfg.Limits.MaxOpenPerApplication = 5_000
	if os.Getenv("ATCC_ATTACK_FULL") != "" {
		begins, txTimeout = 300_000, 20*time.Second
		cfg.Limits.MaxOpenPerApplication = 0 // the default, 20,000
	}
	s := startServer(t, cfg)
	legit := startLegitimate(t, s)
	legit.progress(t, 10)
	addr := s.Addr().String()
	ms := s.st.(*memStore)
	globals := func() int { ms.mu.Lock(); defer ms.mu.Unlock(); return len(ms.globals) + len(ms.locks) }

	type row struct {
		attack, outcome string
		base, peak, end uint64
	}
	var table []row
	run := func(name string, attack func() (outcome string, leave func())) {
		base := heapInuse()
		outcome, leave := attack()
		peak := heapInuse()
		leave()
		legit.progress(t, 10)
		end := heapInuse()
		table = append(table, row{name, outcome, base, peak, end})
		if end > base+32<<20 {
			t.Errorf("%s: heap %d MiB -> %d MiB after the attacker left", name, base>>20, end>>20)
		}
	}

	run("BranchRegister with a 5 MB lock key, x7", func() (string, func()) {
		tm := newClient(t, "evil", nil, nil, s.Addr())
		rm := newClient(t, "evil", &recordingRM{}, []string{dbRes}, s.Addr())
		key := "t:" + strings.Repeat("1234567,", 5<<20/8)
		refused := 0
		for range 7 {
			xid := begin(t, tm, time.Minute)
			if _, err := call[*protocol.BranchRegisterResponse](t, rm, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: dbRes, LockKey: key}); err != nil {
				refused++
			}
			rollbackTx(t, tm, xid)
		}
		return fmt.Sprintf("%d/7 refused (Limits.MaxLockKeyBytes); 0 locks taken", refused), func() { tm.Close(); rm.Close() }
	})

	run("7 RegisterRM frames with 7 MB of resource ids each", func() (string, func()) {
		ids := strings.TrimSuffix(strings.Repeat("res0001,", 7<<20/8), ",")
		frame := rawFrame(t, protocol.RequestSync, &protocol.RegisterRMRequest{Version: "2.2.0", ApplicationID: "evil", TxServiceGroup: "g", ResourceIDs: ids})
		closed := 0
		var conns []net.Conn
		for range 7 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			c.Write(frame)
			if closedByServer(c) {
				closed++
			}
		}
		return fmt.Sprintf("%d/7 refused and closed (ServerLimits.MaxResourceIDs)", closed), func() {
			for _, c := range conns {
				c.Close()
			}
		}
	})

	run("2,000 connections that only send heartbeats", func() (string, func()) {
		ping := rawFrame(t, protocol.HeartbeatRequest, nil)
		before := s.rpc.Stats().Sessions
		var conns []net.Conn
		for range 2000 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			c.Write(ping)
		}
		start := time.Now()
		eventually(t, func() bool { return s.rpc.Stats().Sessions <= before }, "heartbeat-only connections still open")
		closed := 0
		for _, c := range conns {
			if closedByServer(c) {
				closed++
			}
		}
		return fmt.Sprintf("all %d closed within %v (half at accept: MaxConnectionsPerHost 1,000; the rest by RegisterTimeout 1s)", closed, time.Since(start).Round(100*time.Millisecond)), func() {
			for _, c := range conns {
				c.Close()
			}
		}
	})

	run("40 connections each holding an 8 MiB partial frame", func() (string, func()) {
		head := rawFrame(t, protocol.RequestSync, &protocol.GlobalBeginRequest{TransactionName: "x"})[:protocol.HeaderLength]
		binary.BigEndian.PutUint32(head[3:7], protocol.MaxFrameLength)
		body := make([]byte, protocol.MaxFrameLength-protocol.HeaderLength-1)
		before := s.rpc.Stats().Sessions
		register := rawFrame(t, protocol.RequestSync, &protocol.RegisterTMRequest{Version: "2.2.0", ApplicationID: "evil", TxServiceGroup: "g"})
		registered := rawFrame(t, protocol.Response, &protocol.RegisterTMResponse{Identified: true, Version: "2.2.0"})
		var conns []net.Conn
		var wg sync.WaitGroup
		for range 40 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			wg.Go(func() {
				// Registered first, so that only the buffer limits act.
				c.SetDeadline(time.Now().Add(20 * time.Second))
				c.Write(register)
				if _, err := io.ReadFull(c, make([]byte, len(registered))); err != nil {
					return
				}
				if _, err := c.Write(head); err == nil {
					c.Write(body)
				}
			})
		}
		wg.Wait()
		open := s.rpc.Stats().Sessions - before
		return fmt.Sprintf("%d held (%d MiB buffered), the others closed at their header (ServerLimits.MaxBufferedBytes 64 MiB)", open, s.rpc.BufferedBytes()>>20), func() {
			for _, c := range conns {
				c.Close()
			}
			eventually(t, func() bool { return s.rpc.Stats().Sessions <= before }, "partial-frame connections still open")
		}
	})

	run(fmt.Sprintf("GlobalBegin with timeout 2^31-1 ms, then %d GlobalBegin (%v)", begins, txTimeout), func() (string, func()) {
		tm := newClient(t, "evil", nil, nil, s.Addr())
		_, err := call[*protocol.GlobalBeginResponse](t, tm, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: math.MaxInt32, TransactionName: "x"})
		long := "accepted"
		if err != nil {
			long = "refused (Limits.MaxTimeout)"
		}
		var mu sync.Mutex
		ok, refused := 0, 0
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for range begins / 32 {
					_, err := tm.Call(context.Background(), rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: int32(txTimeout / time.Millisecond), TransactionName: "x"})
					mu.Lock()
					if err == nil {
						ok++
					} else {
						refused++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return fmt.Sprintf("2^31-1: %s; %d begun, %d refused (Limits.MaxOpenPerApplication %d); %d open", long, ok, refused, s.cfg.Limits.MaxOpenPerApplication, s.core.open.len()), func() {
			tm.Close()
			deadline := time.Now().Add(2 * time.Minute) // timeouts are rolled back 64 at a time
			for globals() >= 50 || s.core.open.len() >= 50 {
				if time.Now().After(deadline) {
					t.Fatalf("the attacker's transactions did not time out: %d left", globals())
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	})

	var b strings.Builder
	b.WriteString("\n| attack | result | heap before | heap during | heap after |\n|---|---|---|---|---|\n")
	for _, r := range table {
		fmt.Fprintf(&b, "| %s | %s | %.1f MiB | %.1f MiB | %.1f MiB |\n", r.attack, r.outcome, mib(r.base), mib(r.peak), mib(r.end))
	}
	t.Log(b.String())
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

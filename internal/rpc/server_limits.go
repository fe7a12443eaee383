package rpc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// ServerLimits bound what clients can make a Server hold: connections,
// bytes of partial frames, registered resources, and the time a connection
// may stay unregistered. Fields left at zero take the default their comment
// names; a negative value disables the limit.
type ServerLimits struct {
	// MaxConnections bounds the open connections. A connection over the
	// limit is closed as soon as it is accepted, so that the process never
	// runs out of file descriptors (getty's accept loop retries an EMFILE
	// at once, without a pause). Default 10,000, lowered to 90% of the
	// process's file-descriptor limit when that is smaller.
	MaxConnections int

	// MaxConnectionsPerHost bounds the open connections from one remote
	// IP address. Default 1,000.
	MaxConnectionsPerHost int

	// RegisterTimeout: a connection that has not registered (RegisterTM or
	// RegisterRM) this long after it was accepted is closed; heartbeats do
	// not count. Default 5s.
	RegisterTimeout time.Duration

	// MaxFrameBytes bounds the length of one frame, and so the bytes a
	// connection buffers for an incomplete one. Default
	// protocol.MaxFrameLength (8 MiB), which is also the most it can be.
	MaxFrameBytes int

	// MaxBufferedBytes bounds the bytes of incomplete frames buffered over
	// all connections, counted by the lengths their headers announce: a
	// connection whose next frame does not fit is closed. getty's read
	// buffer grows by doubling, so the memory held can reach about twice
	// this. Default 64 MiB.
	MaxBufferedBytes int64

	// MaxResourceIDs bounds the resource ids one connection registers, in
	// one RegisterRM and in all of them; MaxResourceIDBytes bounds each id.
	// A RegisterRM over either is refused. Defaults 1,000 and 256 (the
	// resource_id column of Seata's branch_table).
	MaxResourceIDs, MaxResourceIDBytes int
}

// withDefaults returns a copy of l with every zero field set to its
// default.
func (l ServerLimits) withDefaults() ServerLimits {
	if l.MaxConnections == 0 {
		l.MaxConnections = min(10_000, fdBudget())
	}
	if l.MaxConnectionsPerHost == 0 {
		l.MaxConnectionsPerHost = 1_000
	}
	if l.RegisterTimeout == 0 {
		l.RegisterTimeout = 5 * time.Second
	}
	if l.MaxFrameBytes == 0 {
		l.MaxFrameBytes = protocol.MaxFrameLength
	}
	if l.MaxBufferedBytes == 0 {
		l.MaxBufferedBytes = 64 << 20
	}
	if l.MaxResourceIDs == 0 {
		l.MaxResourceIDs = 1_000
	}
	if l.MaxResourceIDBytes == 0 {
		l.MaxResourceIDBytes = 256
	}
	l.MaxFrameBytes = min(l.MaxFrameBytes, protocol.MaxFrameLength)
	return l
}

// Errors that close a connection over a limit.
var (
	errTooManyConns   = errors.New("atcc/rpc: connection limit reached")
	errNotRegisteredT = errors.New("atcc/rpc: connection did not register in time")
	errBufferFull     = errors.New("atcc/rpc: buffered-bytes limit reached")
)

// admission counts connections per host and buffered bytes. It is safe
// for concurrent use.
type admission struct {
	lim  ServerLimits
	rlog *rateLog

	mu     sync.Mutex
	total  int
	byHost map[string]int

	buffered atomic.Int64
}

func newAdmission(lim ServerLimits, rlog *rateLog) *admission {
	return &admission{lim: lim, rlog: rlog, byHost: make(map[string]int)}
}

// admit counts a new connection from host, or returns why it is refused.
func (a *admission) admit(host string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lim.MaxConnections > 0 && a.total >= a.lim.MaxConnections {
		return fmt.Errorf("%w: %d open connections (ServerLimits.MaxConnections)", errTooManyConns, a.total)
	}
	if n := a.byHost[host]; a.lim.MaxConnectionsPerHost > 0 && n >= a.lim.MaxConnectionsPerHost {
		return fmt.Errorf("%w: %d open connections from %s (ServerLimits.MaxConnectionsPerHost)", errTooManyConns, n, host)
	}
	a.total++
	a.byHost[host]++
	return nil
}

// release forgets a connection admitted from host.
func (a *admission) release(host string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if a.byHost[host]--; a.byHost[host] <= 0 {
		delete(a.byHost, host)
	}
}

// reserve counts n more buffered bytes; false, and nothing counted, when
// that would pass MaxBufferedBytes.
func (a *admission) reserve(n int64) bool {
	if a.lim.MaxBufferedBytes <= 0 {
		a.buffered.Add(n)
		return true
	}
	for {
		cur := a.buffered.Load()
		if cur+n > a.lim.MaxBufferedBytes {
			return false
		}
		if a.buffered.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (a *admission) unreserve(n int64) { a.buffered.Add(-n) }

// remoteHost returns the IP of a "host:port" address, or the address.
func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// checkResources validates the resource ids of a RegisterRM for a session
// that already serves have of them.
func (l *ServerLimits) checkResources(ids string, have int) error {
	n := 0
	for id := range strings.SplitSeq(ids, ",") {
		if id == "" {
			continue
		}
		n++
		if l.MaxResourceIDs > 0 && have+n > l.MaxResourceIDs {
			return fmt.Errorf("more than %d resource ids on one connection (ServerLimits.MaxResourceIDs)", l.MaxResourceIDs)
		}
		if l.MaxResourceIDBytes > 0 && len(id) > l.MaxResourceIDBytes {
			return fmt.Errorf("resource id %q... is %d bytes, more than %d (ServerLimits.MaxResourceIDBytes)", clipText(id), len(id), l.MaxResourceIDBytes)
		}
	}
	return nil
}

// rateLog logs at most one line per key and period; the lines it drops are
// counted in the next one. It is safe for concurrent use.
type rateLog struct {
	log    *slog.Logger
	period time.Duration

	mu      sync.Mutex
	last    map[string]rateEntry
	refused map[string]uint64 // by refusalReason of the key
}

type rateEntry struct {
	at      time.Time
	dropped int
}

func newRateLog(log *slog.Logger, period time.Duration) *rateLog {
	return &rateLog{log: log, period: period, last: make(map[string]rateEntry), refused: make(map[string]uint64)}
}

// refusalReason names the refusal a rateLog key stands for, as
// Stats.Refused counts it.
func refusalReason(key string) string {
	kind, _, _ := strings.Cut(key, ":")
	switch kind {
	case "connlimit":
		return "connection_limit"
	case "unregistered":
		return "register_timeout"
	case "register":
		return "registration"
	case "buffer":
		return "buffer_limit"
	}
	return kind
}

// counts returns a copy of the refusal counts.
func (r *rateLog) counts() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]uint64, len(r.refused))
	for k, v := range r.refused {
		m[k] = v
	}
	return m
}

// Warn logs msg with args unless a line with the same key was logged less
// than a period ago.
func (r *rateLog) Warn(key, msg string, args ...any) {
	now := time.Now()
	r.mu.Lock()
	r.refused[refusalReason(key)]++
	e, ok := r.last[key]
	if ok && now.Sub(e.at) < r.period {
		e.dropped++
		r.last[key] = e
		r.mu.Unlock()
		return
	}
	if len(r.last) > 1024 { // keys come from a small vocabulary; never grow without bound
		clear(r.last)
	}
	r.last[key] = rateEntry{at: now}
	r.mu.Unlock()
	if e.dropped > 0 {
		args = append(args, "suppressed", e.dropped)
	}
	r.log.Warn(msg, args...)
}

// BufferedBytes returns the bytes of incomplete frames the server holds
// now, as counted against ServerLimits.MaxBufferedBytes.
func (s *Server) BufferedBytes() int64 { return s.adm.buffered.Load() }

// account enforces the server's frame and buffer limits for a frame of n
// bytes, whole or not yet: the bytes of an incomplete frame are counted
// against ServerLimits.MaxBufferedBytes from its header until it is whole.
func (cn *conn) account(n int, whole bool) error {
	if cn.maxFrame > 0 && n > cn.maxFrame {
		return fmt.Errorf("%w: a frame of %d bytes, more than %d (ServerLimits.MaxFrameBytes)", errBufferFull, n, cn.maxFrame)
	}
	switch {
	case whole && cn.reserved > 0:
		cn.buffers.unreserve(cn.reserved)
		cn.reserved = 0
	case !whole && cn.reserved == 0:
		if !cn.buffers.reserve(int64(n)) {
			return fmt.Errorf("%w: no room for a frame of %d bytes (ServerLimits.MaxBufferedBytes)", errBufferFull, n)
		}
		cn.reserved = int64(n)
	}
	return nil
}

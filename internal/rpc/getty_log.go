package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	getty "github.com/apache/dubbo-getty"
)

// getty, the transport under this package, logs through one process-wide
// logger, by default a zap logger that writes to stderr in colour, with
// stack traces, on every connect, failed dial, session end and shutdown.
// A library must not write to stderr, and one Client must not decide
// where another Client's logs go; so this package installs, once, when the
// program starts, a router as getty's logger:
//
//   - a line that names the address of a live Client's coordinator, or of
//     a live Server's listener, goes to that Client's or Server's
//     Logger, at slog.LevelDebug (getty's own levels say nothing atcc does
//     not already say at the right level: a lost session is atcc's Warn);
//   - getty's report of a failed dial also tells the Client dialling that
//     address why the dial failed (refused, unreachable, TLS), which getty
//     reports nowhere else;
//   - any other line goes to the logger set by SetGettyLogger, by default
//     nowhere.
//
// Stack traces (getty formats its errors with %+v) are dropped. A program
// that calls getty.SetLogger itself replaces the router: atcc then still
// works, but reports a failed dial only as a timeout.
var gettyLog = newGettyRouter()

func init() { getty.SetLogger(gettyLog) }

// SetGettyLogger sets where the getty lines that name no live Client's or
// Server's address go (lines about a session whose peer was given as a
// host name, for instance); nil discards them, the default. They are logged
// at slog.LevelDebug. It is safe to call at any time, from any goroutine;
// Clients and Servers never need it.
func SetGettyLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	gettyLog.fallback.Store(l)
}

// gettyRouter implements getty.Logger. It is safe for concurrent use.
type gettyRouter struct {
	fallback atomic.Pointer[slog.Logger]

	mu    sync.RWMutex
	sinks map[*gettySink]struct{} // guarded by mu
}

// gettySink is where one Client's or Server's getty lines go.
type gettySink struct {
	keys       []string // addresses ("host:port", ":port") a line must name
	log        *slog.Logger
	dialFailed func(addr string, err error) // may be nil
}

func newGettyRouter() *gettyRouter {
	r := &gettyRouter{sinks: make(map[*gettySink]struct{})}
	r.fallback.Store(slog.New(slog.DiscardHandler))
	return r
}

// route adds a sink and returns the function that removes it.
func (r *gettyRouter) route(log *slog.Logger, dialFailed func(addr string, err error), keys ...string) (remove func()) {
	s := &gettySink{keys: keys, log: log, dialFailed: dialFailed}
	r.mu.Lock()
	r.sinks[s] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.sinks, s)
		r.mu.Unlock()
	}
}

// gettyDialFormat is the format of getty's line for a failed TCP or TLS
// dial (dubbo-getty v1.5.0 client.go, dialTCP), with the address, the
// timeout and the error as arguments.
const gettyDialFormat = "net.DialTimeout(addr:%s, timeout:%v) = error:%+v"

func (r *gettyRouter) log(format string, args []any) {
	if format == gettyDialFormat && len(args) == 3 {
		addr, _ := args[0].(string)
		err, _ := args[2].(error)
		if addr != "" && err != nil {
			r.dialFailed(addr, err)
		}
	}
	var msg string
	if format == "" {
		msg = fmt.Sprint(args...)
	} else {
		// %+v prints a pkg/errors stack trace.
		msg = fmt.Sprintf(strings.ReplaceAll(format, "%+v", "%v"), args...)
	}
	msg = strings.TrimSpace(msg)
	ctx := context.Background()
	routed := false
	r.mu.RLock()
	for s := range r.sinks {
		if s.matches(msg) {
			routed = true
			s.log.Log(ctx, slog.LevelDebug, msg, "lib", "getty")
		}
	}
	r.mu.RUnlock()
	if !routed {
		r.fallback.Load().Log(ctx, slog.LevelDebug, msg, "lib", "getty")
	}
}

// dialFailed tells the sinks that dial addr why the dial failed.
func (r *gettyRouter) dialFailed(addr string, err error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for s := range r.sinks {
		if s.dialFailed != nil && s.matches(addr) {
			s.dialFailed(addr, err)
		}
	}
}

// matches reports whether msg names one of the sink's addresses: the key
// followed by something other than a digit, so that ":809" does not match
// ":8091".
func (s *gettySink) matches(msg string) bool {
	for _, k := range s.keys {
		for i := 0; ; {
			j := strings.Index(msg[i:], k)
			if j < 0 {
				break
			}
			end := i + j + len(k)
			if end == len(msg) || msg[end] < '0' || msg[end] > '9' {
				return true
			}
			i = end
		}
	}
	return false
}

// portKey returns ":port" for a "host:port" address, or "".
func portKey(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		return ":" + port
	}
	return ""
}

func (r *gettyRouter) Debug(args ...any)                 { r.log("", args) }
func (r *gettyRouter) Info(args ...any)                  { r.log("", args) }
func (r *gettyRouter) Warn(args ...any)                  { r.log("", args) }
func (r *gettyRouter) Error(args ...any)                 { r.log("", args) }
func (r *gettyRouter) Debugf(format string, args ...any) { r.log(format, args) }
func (r *gettyRouter) Infof(format string, args ...any)  { r.log(format, args) }
func (r *gettyRouter) Warnf(format string, args ...any)  { r.log(format, args) }
func (r *gettyRouter) Errorf(format string, args ...any) { r.log(format, args) }

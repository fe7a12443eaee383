package admin

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
)

// Coordinator is what the console needs of a coordinator; *tc.Server
// implements it (see its operator methods for the semantics).
type Coordinator interface {
	Transactions(ctx context.Context, f tc.TxFilter) (tc.TxPage, error)
	Transaction(ctx context.Context, xid string) (tc.TxDetail, error)
	RetryNow(ctx context.Context, xid, by string) error
	Resolve(ctx context.Context, xid, by, reason string) (protocol.GlobalStatus, error)
	Ping(ctx context.Context) error
}

// Config configures the handler. Coordinator is required; the other fields
// have defaults.
type Config struct {
	// Coordinator serves the API and the readiness probe.
	Coordinator Coordinator

	// Metrics serves GET /metrics (e.g. an OpenTelemetry Prometheus
	// exporter's handler); nil answers 404 saying metrics are not
	// configured.
	Metrics http.Handler

	// AccessKeys, when not empty, require HTTP Basic authentication with
	// one of them (user name: Key, password: Secret) on every endpoint but
	// /healthz and /readyz. The key names the operator in the audit log.
	AccessKeys []rpc.AccessKey

	// ReadyTimeout bounds the store check of /readyz. Default 2s.
	ReadyTimeout time.Duration

	// RequestTimeout bounds the coordinator calls of one API request.
	// Default 10s.
	RequestTimeout time.Duration

	// Logger receives refused logins and failed requests (Warn). Default:
	// discard.
	Logger *slog.Logger
}

// maxBody is the largest request body accepted.
const maxBody = 4 << 10

// csrfHeader must be present on a POST.
const csrfHeader = "X-Atcc-Admin"

//go:embed ui
var uiFiles embed.FS

type handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the console's handler. It does no I/O.
func New(cfg Config) (http.Handler, error) {
	if cfg.Coordinator == nil {
		return nil, errors.New("atcc/tc/admin: Config.Coordinator is nil")
	}
	for _, k := range cfg.AccessKeys {
		if k.Key == "" || k.Secret == "" {
			return nil, errors.New("atcc/tc/admin: an access key or its secret is empty")
		}
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux()}
	ui, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return nil, err
	}
	files := http.FileServerFS(ui)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { text(w, http.StatusOK, "ok") })
	h.mux.HandleFunc("GET /readyz", h.ready)
	h.mux.Handle("GET /metrics", h.authed(http.HandlerFunc(h.metrics)))
	h.mux.Handle("GET /api/transactions", h.authed(http.HandlerFunc(h.list)))
	h.mux.Handle("GET /api/transactions/{xid}", h.authed(http.HandlerFunc(h.show)))
	h.mux.Handle("POST /api/transactions/{xid}/retry", h.authed(h.action(h.retry)))
	h.mux.Handle("POST /api/transactions/{xid}/resolve", h.authed(h.action(h.resolve)))
	h.mux.Handle("GET /{$}", h.authed(csp(files)))
	h.mux.Handle("GET /app.js", h.authed(csp(files)))
	h.mux.Handle("GET /app.css", h.authed(csp(files)))
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// csp serves the web page's files under a strict content security policy:
// its own script and style only, no inline code, no other origin.
func csp(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy",
			"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		files.ServeHTTP(w, r)
	})
}

func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ReadyTimeout)
	defer cancel()
	if err := h.cfg.Coordinator.Ping(ctx); err != nil {
		text(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
		return
	}
	text(w, http.StatusOK, "ready")
}

func (h *handler) metrics(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Metrics == nil {
		text(w, http.StatusNotFound, "metrics are not configured on this admin server (admin.Config.Metrics is nil)")
		return
	}
	h.cfg.Metrics.ServeHTTP(w, r)
}

// operatorKey is the context key of the authenticated operator's name.
type operatorKey struct{}

// authed requires Basic authentication when access keys are configured.
func (h *handler) authed(next http.Handler) http.Handler {
	if len(h.cfg.AccessKeys) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if ok && h.validKey(user, pass) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, user)))
			return
		}
		if ok {
			h.cfg.Logger.Warn("atcc/tc/admin: refused credentials", slog.String("remote", r.RemoteAddr), slog.String("path", r.URL.Path))
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="atcc-tc admin", charset="UTF-8"`)
		text(w, http.StatusUnauthorized, "authentication required: an access key and its secret")
	})
}

// validKey compares user and pass with every access key in constant time.
func (h *handler) validKey(user, pass string) bool {
	found := 0
	for _, k := range h.cfg.AccessKeys {
		found |= subtle.ConstantTimeCompare([]byte(user), []byte(k.Key)) & subtle.ConstantTimeCompare([]byte(pass), []byte(k.Secret))
	}
	return found == 1
}

// operator names who sends r, for the audit log: the access key, else the
// client certificate's common name, else "anonymous"; with the remote
// address.
func operator(r *http.Request) string {
	who := "anonymous"
	if k, ok := r.Context().Value(operatorKey{}).(string); ok {
		who = "access-key:" + k
	} else if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		who = "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName
	}
	return who + "@" + r.RemoteAddr
}

// action guards a POST against cross-site requests and bounds its body.
func (h *handler) action(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(csrfHeader) == "" {
			jsonError(w, http.StatusForbidden, "a POST needs the "+csrfHeader+" header")
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			jsonError(w, http.StatusForbidden, "cross-site request refused (Sec-Fetch-Site: "+site+")")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
			jsonError(w, http.StatusForbidden, fmt.Sprintf("cross-origin request refused (Origin %q, Host %q)", o, r.Host))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next(w, r)
	})
}

func text(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

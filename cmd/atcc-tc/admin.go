package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tc/admin"
)

// Timeouts and limits of the admin HTTP server: a slow or idle client
// cannot hold a connection for long, nor send large headers.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 15 * time.Second
	adminWriteTimeout      = 30 * time.Second
	adminIdleTimeout       = 2 * time.Minute
	adminMaxHeaderBytes    = 32 << 10
)

// checkAdminExposure refuses an admin console that other machines can
// reach with neither TLS nor access keys, unless insecure says so: anyone
// reaching it could resolve transactions.
func checkAdminExposure(addr string, rcfg *rpc.ServerConfig, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-admin: %w", err)
	}
	if rcfg.TLS != nil || len(rcfg.Auth.AccessKeys) > 0 || insecure || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("-admin %s can be reached from other machines, and the coordinator has neither TLS (-tls-cert, -tls-key) "+
		"nor access keys (-access-keys) to protect it: anyone reaching it could resolve transactions. "+
		"Listen on 127.0.0.1, configure TLS or access keys, or accept the risk with -admin-insecure", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// adminServer is the running admin console.
type adminServer struct {
	http *http.Server
	ln   net.Listener
	done chan error
}

// startAdmin serves the admin console for srv on addr, protected like the
// RPC port: its TLS configuration (client certificates included) and its
// access keys (HTTP Basic authentication).
func startAdmin(addr string, srv *tc.Server, m *metrics, rcfg *rpc.ServerConfig, log *slog.Logger) (*adminServer, error) {
	acfg := admin.Config{Coordinator: srv, AccessKeys: rcfg.Auth.AccessKeys, Logger: log}
	if m != nil {
		acfg.Metrics = m.handler
	}
	h, err := admin.New(acfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-admin: %w", err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if rcfg.TLS != nil {
		hs.TLSConfig = rcfg.TLS.Clone()
		hs.TLSConfig.NextProtos = []string{"h2", "http/1.1"}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	a := &adminServer{http: hs, ln: ln, done: make(chan error, 1)}
	go func() { a.done <- hs.Serve(ln) }()
	log.Info("atcc-tc: admin console started", slog.String("url", scheme+"://"+ln.Addr().String()+"/"),
		slog.Bool("access_keys", len(acfg.AccessKeys) > 0), slog.Bool("client_certificates", rcfg.TLS != nil && rcfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert))
	return a, nil
}

// shutdown stops the admin server, waiting for requests in progress until
// ctx is done.
func (a *adminServer) shutdown(ctx context.Context) error {
	err := a.http.Shutdown(ctx)
	if serr := <-a.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

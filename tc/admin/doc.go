// Package admin is the coordinator's admin console: an http.Handler that
// serves health and readiness probes, the Prometheus metrics handler it is
// given, a JSON API over a coordinator's operator methods (list and show
// transactions, retry phase two now, resolve a transaction a person
// repaired), and a small web page over that API. cmd/atcc-tc serves it
// with -admin.
//
// Endpoints:
//
//	GET  /healthz                            200 while the process serves
//	GET  /readyz                             200 when the store answers (Config.ReadyTimeout)
//	GET  /metrics                            Config.Metrics, or 404 when nil
//	GET  /api/transactions?status=&application=&min_age=&limit=&after=
//	GET  /api/transactions/{xid}
//	POST /api/transactions/{xid}/retry
//	POST /api/transactions/{xid}/resolve     body (optional): {"reason": "..."}
//	GET  /                                   the web page (no external assets)
//
// status is a comma-separated list of global status names (RollbackFailed,
// CommitRetrying, ...) or of the groups "failed" (the failed ends),
// "retrying" (waiting for a phase-two retry) and "stuck" (both); min_age a
// Go duration ("10m"); limit at most tc.MaxListLimit; after the "next" of
// the previous page.
//
// Protection. With Config.AccessKeys, every endpoint but /healthz and
// /readyz requires HTTP Basic authentication with an access key as user
// name and its secret as password (compared in constant time), so the
// console is closed with the keys that close the RPC port. TLS (and client
// certificates) is the http.Server's business: cmd/atcc-tc gives the admin
// server the RPC port's TLS configuration. A POST must carry the header
// X-Atcc-Admin (which a cross-site form cannot send, and a cross-site
// script cannot without a CORS preflight this handler never grants), and
// is refused when its Origin or Sec-Fetch-Site shows another site. Request
// bodies are limited to 4 KiB.
//
// The handler is safe for concurrent use and holds no goroutines.
package admin

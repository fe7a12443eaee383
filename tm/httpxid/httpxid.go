// Package httpxid carries the XID of a global transaction across HTTP
// calls made with net/http, in the header Apache Seata uses (TX_XID).
//
// Wrap the client's transport on the caller's side and the handler on
// the callee's side:
//
//	client := &http.Client{Transport: httpxid.Transport(nil)}
//	req, _ := http.NewRequestWithContext(ctx, "POST", url, body) // ctx carries the XID
//	resp, err := client.Do(req)
//
//	http.ListenAndServe(addr, httpxid.Middleware(mux))
//
// Header names are case-insensitive in HTTP. The transport sends the
// header as "TX_XID", the spelling of the Java client; the middleware
// accepts any spelling (TX_XID, tx_xid, Tx_xid, ...). An incoming value
// that fails tm.ValidXID, or several different values, are ignored: the
// handler runs without an XID. Note that some proxies (nginx by default)
// drop header names that contain an underscore.
//
// They carry only the XID. To carry the trace context too (otelatcc's
// spans, W3C traceparent), wrap the same transport and handler with
// OpenTelemetry's otelhttp.NewTransport and otelhttp.NewHandler
// (go.opentelemetry.io/contrib/.../otelhttp); this package does not depend
// on OpenTelemetry.
//
// Both are safe for concurrent use.
package httpxid

import (
	"net/http"
	"strings"

	"github.com/atcc-go/atcc/tm"
)

// Transport returns an http.RoundTripper that sends the XID of each
// request's context (see tm.XID) in the TX_XID header, replacing any value
// of that header in another spelling, and then hands the request to base
// (http.DefaultTransport when base is nil). A request whose context
// carries no XID goes to base unchanged. The caller's request is never
// modified: the header is set on a copy, as the RoundTripper contract
// requires.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

type transport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	xid, ok := tm.XID(req.Context())
	if !ok {
		return t.base.RoundTrip(req)
	}
	if vals := values(req.Header); len(vals) == 1 && vals[0] == xid {
		if _, exact := req.Header[tm.XIDKey]; exact {
			return t.base.RoundTrip(req)
		}
	}
	// A shallow copy with its own header map: only the header changes.
	r := new(http.Request)
	*r = *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = make(http.Header, 1)
	}
	for k := range r.Header {
		if strings.EqualFold(k, tm.XIDKey) {
			delete(r.Header, k)
		}
	}
	r.Header[tm.XIDKey] = []string{xid}
	return t.base.RoundTrip(r)
}

// Middleware returns a handler that puts the XID of the request's TX_XID
// header, if there is a valid one, into the request's context with
// tm.WithXID and then calls next.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if xid, ok := pick(values(r.Header)); ok {
			r = r.WithContext(tm.WithXID(r.Context(), xid))
		}
		next.ServeHTTP(w, r)
	})
}

// values returns the values of every spelling of the XID header.
func values(h http.Header) []string {
	var vals []string
	for k, v := range h {
		if strings.EqualFold(k, tm.XIDKey) {
			vals = append(vals, v...)
		}
	}
	return vals
}

// pick returns the XID the values agree on, if they do and it is valid.
func pick(vals []string) (string, bool) {
	if len(vals) == 0 || !tm.ValidXID(vals[0]) {
		return "", false
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", false
		}
	}
	return vals[0], true
}

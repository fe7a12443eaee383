package httpxid_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/tm/httpxid"
)

const xid = "127.0.0.1:8091:4567890123456789"

// echo answers with the XID its request context carries ("" for none).
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	xid, _ := tm.XID(r.Context())
	io.WriteString(w, xid)
})

func get(t *testing.T, c *http.Client, ctx context.Context, url string, hdr ...string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1]) // raw spelling
	}
	before := req.Header.Clone()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if len(before) != len(req.Header) {
		t.Fatalf("the transport modified the caller's request headers: %v -> %v", before, req.Header)
	}
	for k, v := range before {
		if strings.Join(req.Header[k], ",") != strings.Join(v, ",") {
			t.Fatalf("the transport modified the caller's request header %s", k)
		}
	}
	return string(b)
}

func expect(t *testing.T, got, want, why string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %q, want %q", why, got, want)
	}
}

func TestXIDCrossesHTTP(t *testing.T) {
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(httpxid.Middleware(echo))
			if proto == "HTTP/2" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			base := srv.Client().Transport
			c := &http.Client{Transport: httpxid.Transport(base)}
			ctx := t.Context()

			expect(t, get(t, c, ctx, srv.URL), "", "no XID in the caller's context")
			expect(t, get(t, c, tm.WithXID(ctx, xid), srv.URL), xid, "XID in the caller's context")
			expect(t, get(t, c, tm.WithoutXID(tm.WithXID(ctx, xid)), srv.URL), "", "suspended")
			expect(t, get(t, c, tm.WithXID(ctx, xid), srv.URL, "tx_xid", "127.0.0.1:8091:1"), xid,
				"a stale XID in another spelling is replaced")
			expect(t, get(t, c, tm.WithXID(ctx, xid), srv.URL, "TX_XID", xid), xid, "already set")
			// Without an XID in the context, a header set by hand passes.
			expect(t, get(t, c, ctx, srv.URL, "TX_XID", xid), xid, "set by hand")
		})
	}
}

func TestMiddleware(t *testing.T) {
	h := httpxid.Middleware(echo)
	serve := func(hdr ...string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for i := 0; i < len(hdr); i += 2 {
			r.Header[hdr[i]] = append(r.Header[hdr[i]], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	expect(t, serve(), "", "no header")
	for _, k := range []string{"TX_XID", "tx_xid", "Tx_xid", "tX_XiD"} {
		expect(t, serve(k, xid), xid, k)
	}
	expect(t, serve("Tx_xid", xid, "TX_XID", xid), xid, "equal values in two spellings")
	expect(t, serve("Tx_xid", xid, "TX_XID", "127.0.0.1:8091:2"), "", "conflicting values")
	expect(t, serve("Tx_xid", xid, "Tx_xid", "127.0.0.1:8091:2"), "", "conflicting values, one spelling")
	expect(t, serve("Tx-Xid", xid), "", "hyphen is another header")
	expect(t, serve("Tx_xid", ""), "", "empty")
	expect(t, serve("Tx_xid", strings.Repeat("9", tm.MaxXIDLen+1)), "", "too long")
	expect(t, serve("Tx_xid", "a\x01b"), "", "control character")
	expect(t, serve("Tx_xid", "a b"), "", "space")
	expect(t, serve("Tx_xid", "ü:1:2"), "", "non-ASCII")
}

func TestMiddlewareKeepsUpstreamXIDWithoutHeader(t *testing.T) {
	var got string
	h := httpxid.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = tm.XID(r.Context())
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(tm.WithXID(r.Context(), xid)))
	expect(t, got, xid, "no header: the request context is passed on")
}

func TestTransportDefaultBase(t *testing.T) {
	srv := httptest.NewServer(httpxid.Middleware(echo))
	defer srv.Close()
	c := &http.Client{Transport: httpxid.Transport(nil)}
	expect(t, get(t, c, tm.WithXID(t.Context(), xid), srv.URL), xid, "http.DefaultTransport")
}

type nopTransport struct{}

func (nopTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func BenchmarkTransport(b *testing.B) {
	tr := httpxid.Transport(nopTransport{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "application/json")
	req = req.WithContext(tm.WithXID(req.Context(), xid))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = tr.RoundTrip(req)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	h := httpxid.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Tx_xid", xid)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

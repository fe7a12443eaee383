package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/internal/rpc"
)

func decode[T any](t testing.TB, resp *http.Response, wantCode int) T {
	t.Helper()
	var v T
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantCode {
		t.Fatalf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, wantCode)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}

var post = map[string]string{csrfHeader: "1", "Content-Type": "application/json"}

func TestAPIListShowResolve(t *testing.T) {
	t.Parallel()
	for _, mysqlStore := range []bool{false, true} {
		name := map[bool]string{false: "memory", true: "mysql"}[mysqlStore]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &slogRecorder{}
			s, db := coordinator(t, mysqlStore, logs)
			xid, _ := stuckTx(t, s)
			ts := console(t, s, nil)

			list := decode[ListJSON](t, do(t, "GET", ts.URL+"/api/transactions?status=stuck&limit=10", "", "", "", nil), 200)
			if len(list.Transactions) != 1 || list.Transactions[0].XID != xid || list.Transactions[0].Status != "RollbackFailed" ||
				strings.Join(list.Transactions[0].Actions, ",") != "retry,resolve" || list.Next != "" {
				t.Fatalf("%+v", list)
			}
			if l := decode[ListJSON](t, do(t, "GET", ts.URL+"/api/transactions?status=Begin", "", "", "", nil), 200); len(l.Transactions) != 0 {
				t.Fatalf("%+v", l)
			}
			if l := decode[ListJSON](t, do(t, "GET", ts.URL+"/api/transactions?application=other", "", "", "", nil), 200); len(l.Transactions) != 0 {
				t.Fatalf("%+v", l)
			}
			for _, q := range []string{"status=Nope", "min_age=ten", "limit=100000", "limit=x", "after=junk"} {
				decode[ErrorJSON](t, do(t, "GET", ts.URL+"/api/transactions?"+q, "", "", "", nil), 400)
			}

			d := decode[DetailJSON](t, do(t, "GET", ts.URL+"/api/transactions/"+xid, "", "", "", nil), 200)
			if d.Status != "RollbackFailed" || d.ApplicationID != "shop" || len(d.Branches) != 1 || len(d.Locks) != 2 ||
				d.Branches[0].Status != "PhaseTwo_RollbackFailed_Unretryable" || d.Branches[0].Attempts != 1 ||
				d.Branches[0].Type != "AT" || d.Locks[0].Table != "stock" || d.Locks[0].PK != "1" {
				t.Fatalf("%+v", d)
			}
			decode[ErrorJSON](t, do(t, "GET", ts.URL+"/api/transactions/127.0.0.1:1:2", "", "", "", nil), 404)

			// No CSRF header, a foreign origin, a cross-site fetch: refused.
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "", nil), 403)
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "",
				map[string]string{csrfHeader: "1", "Origin": "https://evil.example"}), 403)
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "",
				map[string]string{csrfHeader: "1", "Sec-Fetch-Site": "cross-site"}), 403)
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", strings.Repeat("x", maxBody+1), post), 413)
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "{", post), 400)

			r := decode[ActionJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", `{"reason":"stock rows fixed"}`, post), 200)
			if r.Status != "Rollbacked" {
				t.Fatalf("%+v", r)
			}
			d = decode[DetailJSON](t, do(t, "GET", ts.URL+"/api/transactions/"+xid, "", "", "", nil), 200)
			if d.Status != "Rollbacked" || len(d.Branches) != 0 || len(d.Locks) != 0 || len(d.Actions) != 0 {
				t.Fatalf("%+v", d)
			}
			if db != nil && lockRows(t, db) != 0 {
				t.Fatal("lock rows left")
			}
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "", post), 409)
			decode[ErrorJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/retry", "", "", "", post), 409)
			audit := logs.find("resolved by an operator")
			if len(audit) != 1 || audit[0]["xid"] != xid || audit[0]["reason"] != "stock rows fixed" ||
				!strings.HasPrefix(audit[0]["by"], "anonymous@127.0.0.1:") {
				t.Fatalf("audit: %v", audit)
			}
		})
	}
}

func TestAccessKeysAndProbes(t *testing.T) {
	t.Parallel()
	s, _ := coordinator(t, false, nil)
	xid, _ := stuckTx(t, s)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "atcc_test 1\n") })
	logs := &slogRecorder{}
	ts := console(t, s, func(c *Config) {
		c.AccessKeys = []rpc.AccessKey{{Key: "ops", Secret: "s3cret"}, {Key: "dev", Secret: "other"}}
		c.Metrics = metrics
		c.Logger = logs.logger()
	})
	for _, path := range []string{"/", "/app.js", "/metrics", "/api/transactions", "/api/transactions/" + xid} {
		resp := do(t, "GET", ts.URL+path, "", "", "", nil)
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Fatalf("%s without credentials: %d", path, resp.StatusCode)
		}
		if resp := do(t, "GET", ts.URL+path, "ops", "wrong", "", nil); resp.StatusCode != 401 {
			t.Fatalf("%s with a wrong secret: %d", path, resp.StatusCode)
		}
		if resp := do(t, "GET", ts.URL+path, "dev", "s3cret", "", nil); resp.StatusCode != 401 {
			t.Fatalf("%s with another key's secret: %d", path, resp.StatusCode)
		}
		if resp := do(t, "GET", ts.URL+path, "ops", "s3cret", "", nil); resp.StatusCode != 200 {
			t.Fatalf("%s with credentials: %d", path, resp.StatusCode)
		}
	}
	if len(logs.find("refused credentials")) == 0 {
		t.Fatal("refused logins not logged")
	}
	if resp := do(t, "POST", ts.URL+"/api/transactions/"+xid+"/resolve", "", "", "", post); resp.StatusCode != 401 {
		t.Fatalf("POST without credentials: %d", resp.StatusCode)
	}
	page := do(t, "GET", ts.URL+"/", "ops", "s3cret", "", nil)
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	body, _ := io.ReadAll(do(t, "GET", ts.URL+"/metrics", "ops", "s3cret", "", nil).Body)
	if string(body) != "atcc_test 1\n" {
		t.Fatalf("metrics %q", body)
	}
	// Probes stay open for orchestrators.
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp := do(t, "GET", ts.URL+path, "", "", "", nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	r := decode[ActionJSON](t, do(t, "POST", ts.URL+"/api/transactions/"+xid+"/retry", "ops", "s3cret", "", post), 200)
	if r.XID != xid {
		t.Fatalf("%+v", r)
	}

	// Without metrics: a clear 404. After the coordinator stops: not ready.
	bare := console(t, s, nil)
	resp := do(t, "GET", bare.URL+"/metrics", "", "", "", nil)
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !strings.Contains(string(body), "metrics are not configured") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	s.Close()
	if resp := do(t, "GET", bare.URL+"/readyz", "", "", "", nil); resp.StatusCode != 503 {
		t.Fatalf("readyz after close: %d", resp.StatusCode)
	}
	if resp := do(t, "GET", bare.URL+"/healthz", "", "", "", nil); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no coordinator accepted")
	}
	s, _ := coordinator(t, false, nil)
	if _, err := New(Config{Coordinator: s, AccessKeys: []rpc.AccessKey{{Key: "k"}}}); err == nil {
		t.Fatal("empty secret accepted")
	}
}

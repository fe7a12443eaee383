package admin

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
)

const resource = "jdbc:mysql://127.0.0.1:3306/orders"

// coordinator starts a tc.Server, on a fresh MySQL database when db is
// set (returned), else on the memory store.
func coordinator(t testing.TB, mysqlStore bool, logger *slogRecorder) (*tc.Server, *sql.DB) {
	t.Helper()
	cfg := tc.Config{RetryPeriod: 20 * time.Millisecond, MaxRetryBackoff: time.Minute}
	if logger != nil {
		cfg.Logger = logger.logger()
	}
	var db *sql.DB
	if mysqlStore {
		d := testdb.Create(t)
		if err := tc.CreateTables(context.Background(), d.DB); err != nil {
			t.Fatal(err)
		}
		db, cfg.DB = d.DB, d.DB
	}
	s, err := tc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, db
}

// client connects an rpc client to s; with answer, it is an RM of
// resource whose rollbacks get that status.
func client(t testing.TB, s *tc.Server, app string, answer protocol.BranchStatus) *rpc.Client {
	t.Helper()
	cfg := rpc.ClientConfig{ApplicationID: app, Addresses: []string{s.Addr().String()}, RequestTimeout: 10 * time.Second}
	if answer != 0 {
		cfg.Handler = rpc.RequestHandlerFunc(func(_ context.Context, req protocol.Message) protocol.Message {
			switch req.(type) {
			case *protocol.BranchRollbackRequest:
				return &protocol.BranchRollbackResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: answer}
			case *protocol.BranchCommitRequest:
				return &protocol.BranchCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoCommitted}
			}
			return nil
		})
	}
	c, err := rpc.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if answer != 0 {
		if err := c.AddResource(context.Background(), resource); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// stuckTx makes a transaction whose rollback the RM refuses for good (as
// an AT RM does on a dirty write): it ends RollbackFailed, holding the
// row locks stock:1 and stock:2. It returns the XID and the TM client.
func stuckTx(t testing.TB, s *tc.Server) (string, *rpc.Client) {
	t.Helper()
	ctx := context.Background()
	rm := client(t, s, "orders", protocol.PhaseTwoRollbackFailedUnretryable)
	tm := client(t, s, "shop", 0)
	resp, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "place-order"})
	if err != nil {
		t.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	if _, err := rm.Call(ctx, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: resource, LockKey: "stock:1,2"}); err != nil {
		t.Fatal(err)
	}
	resp, err = tm.Call(ctx, rpc.RoleTM, &protocol.GlobalRollbackRequest{XID: xid})
	if err != nil {
		t.Fatal(err)
	}
	if st := resp.(*protocol.GlobalRollbackResponse).GlobalStatus; st != protocol.GlobalRollbackFailed {
		t.Fatalf("rollback ended %v, want RollbackFailed", st)
	}
	return xid, tm
}

// console serves New(cfg) for s on a test server.
func console(t testing.TB, s *tc.Server, edit func(*Config)) *httptest.Server {
	t.Helper()
	cfg := Config{Coordinator: s}
	if edit != nil {
		edit(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func lockRows(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM lock_table").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// do sends a request with optional Basic credentials and headers.
func do(t testing.TB, method, url, user, pass string, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// slogRecorder keeps the log records of a tc.Server.
type slogRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *slogRecorder) logger() *slog.Logger { return slog.New(r) }

func (r *slogRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *slogRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	r.records = append(r.records, rec.Clone())
	r.mu.Unlock()
	return nil
}
func (r *slogRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *slogRecorder) WithGroup(string) slog.Handler      { return r }

// find returns the attributes of the records whose message contains msg.
func (r *slogRecorder) find(msg string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, rec := range r.records {
		if strings.Contains(rec.Message, msg) {
			m := map[string]string{}
			rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
			out = append(out, m)
		}
	}
	return out
}

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc/admin"
)

// adminURL waits for the admin console's URL in the binary's log (it
// starts after the coordinator, which serveLogs waits for).
func adminURL(t *testing.T, logs interface{ String() string }) string {
	t.Helper()
	re := regexp.MustCompile(`admin console started" url=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin console in\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stuck makes a transaction on the coordinator at addr whose rollback its
// RM refuses for good; it ends RollbackFailed.
func stuck(t *testing.T, addr string, ak, sk string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const res = "jdbc:mysql://db/orders"
	rm, err := rpc.NewClient(rpc.ClientConfig{Addresses: []string{addr}, ApplicationID: "orders", AccessKey: ak, SecretKey: sk,
		Handler: rpc.RequestHandlerFunc(func(_ context.Context, req protocol.Message) protocol.Message {
			if _, ok := req.(*protocol.BranchRollbackRequest); ok {
				return &protocol.BranchRollbackResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, BranchStatus: protocol.PhaseTwoRollbackFailedUnretryable}
			}
			return nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	if err := rm.AddResource(ctx, res); err != nil {
		t.Fatal(err)
	}
	resp, err := rm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "order"})
	if err != nil {
		t.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	if _, err := rm.Call(ctx, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: res, LockKey: "stock:7"}); err != nil {
		t.Fatal(err)
	}
	resp, err = rm.Call(ctx, rpc.RoleTM, &protocol.GlobalRollbackRequest{XID: xid})
	if err != nil || resp.(*protocol.GlobalRollbackResponse).GlobalStatus != protocol.GlobalRollbackFailed {
		t.Fatal(resp, err)
	}
	return xid
}

// cli runs "atcc-tc admin args..." with $ATCC_ADMIN_PASSWORD = password.
func cli(password string, args ...string) (string, error) {
	var out, errs bytes.Buffer
	err := runAdmin(args, func(k string) string {
		if k == "ATCC_ADMIN_PASSWORD" {
			return password
		}
		return ""
	}, &out, &errs)
	return out.String(), err
}

func TestAdminConsoleAndCLI(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("ops s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs := serveLogs(t, "-access-keys", keys, "-admin", "127.0.0.1:0")
	url := adminURL(t, logs)

	get := func(path, user, pass string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+strings.TrimPrefix(path, "/"), nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz", "", ""); code != 200 {
		t.Fatal("healthz", code)
	}
	if code, _ := get("/readyz", "", ""); code != 200 {
		t.Fatal("readyz", code)
	}
	if code, _ := get("/metrics", "", ""); code != 401 {
		t.Fatal("metrics without credentials", code)
	}
	code, body := get("/metrics", "ops", "s3cret")
	if code != 200 || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "target_info") {
		t.Fatalf("metrics: %d\n%.2000s", code, body)
	}

	xid := stuck(t, addr, "ops", "s3cret")
	// The coordinator's own instruments (otelatcc) reach the same endpoint.
	if code, body := get("/metrics", "ops", "s3cret"); code != 200 ||
		!strings.Contains(body, "atcc_coordinator_global_tx_begun") || !strings.Contains(body, "atcc_coordinator_locks_held") {
		t.Fatalf("coordinator metrics: %d\n%.4000s", code, body)
	}
	out, err := cli("s3cret", "list", "-addr", url, "-user", "ops", "-status", "failed")
	if err != nil || !strings.Contains(out, xid) || !strings.Contains(out, "RollbackFailed") || !strings.Contains(out, "retry,resolve") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = cli("s3cret", "show", xid, "-addr", url, "-user", "ops", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var d admin.DetailJSON
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.XID != xid || len(d.Branches) != 1 || len(d.Locks) != 1 {
		t.Fatalf("show -json: %v\n%s", err, out)
	}
	if out, err := cli("s3cret", "show", "-addr", url, "-user", "ops", xid); err != nil || !strings.Contains(out, "PhaseTwo_RollbackFailed_Unretryable") ||
		!strings.Contains(out, "stock") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := cli("", "list", "-addr", url, "-user", "ops"); err == nil || !strings.Contains(err.Error(), "ATCC_ADMIN_PASSWORD") {
		t.Fatalf("no password: %v", err)
	}
	if _, err := cli("wrong", "list", "-addr", url, "-user", "ops"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := cli("", "resolve", "-addr", url, xid); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("resolve without credentials: %v", err)
	}
	out, err = cli("s3cret", "resolve", "-addr", url, "-user", "ops", "-reason", "stock 7 restored", xid)
	if err != nil || !strings.Contains(out, "resolved, Rollbacked") {
		t.Fatalf("resolve: %v\n%s", err, out)
	}
	if _, err := cli("s3cret", "retry", "-addr", url, "-user", "ops", xid); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("retry of a resolved transaction: %v", err)
	}
	if !regexp.MustCompile(`resolved by an operator" xid=\S+ from=RollbackFailed to=Rollbacked by=access-key:ops@127.0.0.1:\d+ at=\S+ reason="stock 7 restored"`).MatchString(logs.String()) {
		t.Fatalf("no audit line in\n%s", logs)
	}
	for _, args := range [][]string{{}, {"drop"}, {"show"}, {"list", "extra"}, {"list", "-addr", "ftp://x"}, {"show", "a", "b"}} {
		if _, err := cli("", args...); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestAdminTLS: with the RPC port's TLS and client certificates, the admin
// console is HTTPS and requires a client certificate too.
func TestAdminTLS(t *testing.T) {
	dir := t.TempDir()
	caKey, ca := newCert(t, "test CA", nil, nil, true)
	srvKey, srv := newCert(t, "coordinator", ca, caKey, false)
	cliKey, cliCert := newCert(t, "operator", ca, caKey, false)
	write := func(name string, b *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ecKey := func(k any) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	caFile := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	_, logs := serveLogs(t, "-tls-cert", write("srv.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}),
		"-tls-key", write("srv.key", ecKey(srvKey)), "-tls-client-ca", caFile, "-admin", "127.0.0.1:0")
	url := adminURL(t, logs)
	if !strings.HasPrefix(url, "https://") {
		t.Fatal(url)
	}
	if _, err := cli("", "list", "-addr", url, "-ca", caFile); err == nil {
		t.Fatal("listed without a client certificate")
	}
	out, err := cli("", "list", "-addr", url, "-ca", caFile,
		"-cert", write("cli.pem", &pem.Block{Type: "CERTIFICATE", Bytes: cliCert.Raw}), "-key", write("cli.key", ecKey(cliKey)))
	if err != nil || !strings.HasPrefix(out, "XID") {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := cli("", "list", "-addr", strings.Replace(url, "https", "http", 1)); err == nil {
		t.Fatal("plain HTTP answered")
	}
	_ = tls.VersionTLS13
}

func TestAdminExposure(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(nil, []string{"-listen", "127.0.0.1:0", "-admin", "0.0.0.0:0"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "-admin-insecure") {
		t.Fatalf("exposed admin: %v", err)
	}
	if err := run(nil, []string{"-admin-insecure"}, &out, &errs); err == nil {
		t.Fatal("-admin-insecure without -admin accepted")
	}
	if err := run(nil, []string{"-admin", "nonsense"}, &out, &errs); err == nil {
		t.Fatal("bad -admin accepted")
	}
	_, logs := serveLogs(t, "-admin", "0.0.0.0:0", "-admin-insecure")
	adminURL(t, logs)
}

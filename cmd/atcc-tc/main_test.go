package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc/discovery"
	"github.com/atcc-go/atcc/discovery/etcd"
	"github.com/atcc-go/atcc/internal/etcdtest"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/internal/testlog"
	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestMain(m *testing.M) {
	rpc.SetGettyLogger(nil)
	os.Exit(testdb.Run(m))
}

func TestPrintSchema(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(nil, []string{"-print-schema"}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"global_table", "branch_table", "lock_table", "tc_sequence"} {
		if !strings.Contains(out.String(), "CREATE TABLE IF NOT EXISTS "+table) {
			t.Fatalf("no %s in\n%s", table, out.String())
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "redis"},
		{"-store", "mysql"},
		{"-store", "mysql", "-dsn", "root@tcp(127.0.0.1:3306)/"},
		{"-store", "mysql", "-dsn", "::bad::"},
		{"-dsn", "root@tcp(127.0.0.1:3306)/x"},
		{"-init-schema"},
		{"-log-level", "loud"},
		{"-nope"},
		{"extra"},
	} {
		var out, errs bytes.Buffer
		if err := run(nil, args, &out, &errs); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// serve runs the binary until the test ends and returns its address.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := serveLogs(t, args...)
	return addr
}

// serveLogs is serve that also returns the binary's log.
func serveLogs(t *testing.T, args ...string) (string, *testlog.Buffer) {
	t.Helper()
	stop := make(chan os.Signal, 2)
	logs := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(stop, append([]string{"-listen", "127.0.0.1:0"}, args...), logs, logs) }()
	t.Cleanup(func() {
		stop <- syscall.SIGTERM
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v\n%s", err, logs)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no shutdown\n%s", logs)
		}
	})
	re := regexp.MustCompile(`coordinator started" addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1], logs
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not started\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func beginCommit(t *testing.T, addr string) {
	t.Helper()
	c, err := rpc.NewClient(rpc.ClientConfig{Addresses: []string{addr}, ApplicationID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "t"})
	if err != nil {
		t.Fatal(err)
	}
	xid := resp.(*protocol.GlobalBeginResponse).XID
	if !strings.HasPrefix(xid, addr+":") {
		t.Fatalf("xid %q", xid)
	}
	resp, err = c.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: xid})
	if err != nil || resp.(*protocol.GlobalCommitResponse).GlobalStatus != protocol.GlobalCommitted {
		t.Fatal(resp, err)
	}
}

func TestServeMemory(t *testing.T) {
	beginCommit(t, serve(t, "-log-level", "debug"))
}

func TestServeMySQL(t *testing.T) {
	d := testdb.Create(t)
	beginCommit(t, serve(t, "-store", "mysql", "-dsn", d.DSN(), "-init-schema"))
	var n int
	if err := d.DB.QueryRow("SELECT COUNT(*) FROM global_table").Scan(&n); err != nil || n != 1 {
		t.Fatalf("global_table has %d rows (%v), want the remembered end", n, err)
	}
}

// runUntilSIGTERM runs the binary, waits until it serves, stops it with
// one SIGTERM and returns everything it logged.
func runUntilSIGTERM(t *testing.T, args ...string) string {
	t.Helper()
	stop := make(chan os.Signal, 2)
	logs := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(stop, append([]string{"-listen", "127.0.0.1:0"}, args...), logs, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "coordinator started") {
		select {
		case err := <-done:
			t.Fatalf("run: %v\n%s", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not started\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no shutdown\n%s", logs)
	}
	return logs.String()
}

// Issue 13: the memory store says at startup, on one line, what a restart
// loses; a normal SIGTERM logs no warning and no stack trace.
func TestMemoryStoreStartupAndQuietShutdown(t *testing.T) {
	logs := runUntilSIGTERM(t)
	var lossLines int
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "memory store") && strings.Contains(l, "restart") && strings.Contains(l, "loses") {
			lossLines++
		}
	}
	if lossLines != 1 {
		t.Errorf("want one line saying what a restart loses, got %d:\n%s", lossLines, logs)
	}
	if strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") || strings.Contains(logs, ".go:") {
		t.Errorf("a normal SIGTERM logged a warning, an error or a stack trace:\n%s", logs)
	}
}

// Issue 13: -init-schema on a missing database creates it; without it the
// error says how to create it.
func TestMissingDatabase(t *testing.T) {
	mc := testdb.ServerConfig(t)
	mc.DBName = fmt.Sprintf("atcc_tc_missing_%d", time.Now().UnixNano())
	dsn := mc.FormatDSN()
	t.Cleanup(func() {
		admin := testdb.ServerConfig(t)
		conn, err := mysql.NewConnector(admin)
		if err != nil {
			return
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		_, _ = db.Exec("DROP DATABASE IF EXISTS `" + mc.DBName + "`")
	})
	var out, errs bytes.Buffer
	err := run(nil, []string{"-store", "mysql", "-dsn", dsn}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "-init-schema") ||
		!strings.Contains(err.Error(), "CREATE DATABASE") {
		t.Fatalf("without -init-schema: %v", err)
	}
	beginCommit(t, serve(t, "-store", "mysql", "-dsn", dsn, "-init-schema"))
}

// -etcd-endpoints registers the coordinator under Seata's etcd3 key for
// its cluster; a client finds it through the vgroup mapping and begins a
// transaction there; at shutdown the key goes.
func TestRegisterInEtcd(t *testing.T) {
	cli, ep := etcdtest.Start(t)
	var addr string
	t.Run("serve", func(t *testing.T) {
		addr = serve(t, "-etcd-endpoints", ep, "-registry-cluster", "hangzhou")
		r := &etcd.Resolver{Client: cli, VGroupMapping: discovery.VGroupMapping{"my_tx_group": "hangzhou"}}
		var got []string
		var err error
		// serve returns once the coordinator listens; it registers next.
		for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			got, err = r.Resolve(t.Context(), "my_tx_group")
		}
		if err != nil || len(got) != 1 {
			t.Fatalf("Resolve = %q, %v", got, err)
		}
		beginCommit(t, got[0])
		resp, err := cli.Get(t.Context(), "registry-seata-hangzhou-"+got[0])
		if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
			t.Fatalf("key: %v %v (want one, on a lease)", resp, err)
		}
		addr = got[0]
	}) // the subtest's cleanup stops the coordinator
	resp, err := cli.Get(t.Context(), "registry-seata-hangzhou-"+addr)
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("key after shutdown: %v %v, want none", resp, err)
	}
}

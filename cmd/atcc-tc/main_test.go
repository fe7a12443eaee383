package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/internal/testlog"
	"github.com/atcc-go/atcc/rpc"
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
			return m[1]
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

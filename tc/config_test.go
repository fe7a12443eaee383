package tc

import (
	"net"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	if err := (Config{}).check(); err != nil {
		t.Fatal(err)
	}
	cfg := Config{}.withDefaults()
	if cfg.RetryPeriod != time.Second || cfg.MaxRetryBackoff != time.Minute || cfg.BranchTimeout != 15*time.Second ||
		cfg.LeaseTimeout != time.Minute || cfg.EndedRetention != 10*time.Minute || cfg.UndoLogDeletePeriod != 24*time.Hour ||
		cfg.UndoLogSaveDays != 7 || cfg.Logger == nil || cfg.MaxCommitRetryTimeout != 0 ||
		cfg.RPC.Workers != 128 || cfg.RPC.Logger != cfg.Logger || cfg.Limits.MaxTimeout != 10*time.Minute {
		t.Fatalf("%+v", cfg)
	}
	cfg = Config{BranchTimeout: time.Minute, RetryPeriod: 2 * time.Minute}.withDefaults()
	if cfg.LeaseTimeout != 2*time.Minute || cfg.MaxRetryBackoff != 2*time.Minute {
		t.Fatalf("lease %v, backoff %v", cfg.LeaseTimeout, cfg.MaxRetryBackoff)
	}
	for _, bad := range []Config{
		{RetryPeriod: -1}, {BranchTimeout: -1}, {LeaseTimeout: -1}, {MaxRetryBackoff: -1},
		{UndoLogSaveDays: -1}, {AdvertiseAddr: "no-port"},
	} {
		if err := bad.check(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (Config{EndedRetention: -1, UndoLogDeletePeriod: -1}).check(); err != nil {
		t.Fatal(err)
	}
}

func TestAdvertiseAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8091": "127.0.0.1:8091",
		"10.1.2.3:1":     "10.1.2.3:1",
		"[::1]:5":        "[::1]:5",
	} {
		a, _ := net.ResolveTCPAddr("tcp", in)
		if got, err := advertiseAddr(a); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"0.0.0.0:8091", "[::]:8091"} {
		a, _ := net.ResolveTCPAddr("tcp", in)
		got, err := advertiseAddr(a)
		if err != nil {
			t.Fatal(err)
		}
		host, port, _ := net.SplitHostPort(got)
		ip := net.ParseIP(host)
		if port != "8091" || ip == nil || ip.IsUnspecified() || ip.To4() == nil {
			t.Errorf("%s: %q", in, got)
		}
	}
}

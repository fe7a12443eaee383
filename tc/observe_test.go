package tc

import (
	"testing"

	"github.com/atcc-go/atcc/observe"
)

// A branch's application data with the trace context an observing client
// adds (observe.WithTraceParent) still reads as Java's AT data.
func TestAutoCommitWithTraceParent(t *testing.T) {
	data := observe.WithTraceParent(`{"autoCommit":false}`, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if data == `{"autoCommit":false}` {
		t.Fatal("no trace context added")
	}
	if autoCommit(data) {
		t.Errorf("%s: autoCommit read as true", data)
	}
}

func TestRefusalReason(t *testing.T) {
	for msg, want := range map[string]string{
		"timeout 2m0s is longer than the coordinator allows, 1m0s (Limits.MaxTimeout)":            "max_timeout",
		"3 transactions are open on this coordinator (Limits.MaxOpenTransactions)":                "max_open_transactions",
		`application "a" has 2 open transactions (Limits.MaxOpenPerApplication)`:                  "max_open_per_application",
		"lock key is 9 bytes, more than 8 (Limits.MaxLockKeyBytes)":                               "max_lock_key_bytes",
		"lock key names 9 rows, more than 8 (Limits.MaxLocksPerBranch)":                           "max_locks_per_branch",
		`application "a" may not register branches on resource "r" (Config.ResourceApplications)`: "resource_applications",
		`resource "r" is not registered by this connection (RegisterRM first)`:                    "resource_not_registered",
		"something else": "other",
	} {
		if got := refusalReason(msg); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

package protocol

import "testing"

func TestXIDOf(t *testing.T) {
	const x = "127.0.0.1:8091:42"
	for _, m := range []Message{
		&GlobalCommitRequest{XID: x}, &GlobalRollbackRequest{XID: x}, &GlobalStatusRequest{XID: x},
		&GlobalReportRequest{XID: x}, &BranchRegisterRequest{XID: x}, &BranchReportRequest{XID: x},
		&GlobalLockQueryRequest{XID: x},
	} {
		if got := XIDOf(m); got != x {
			t.Errorf("XIDOf(%T) = %q", m, got)
		}
	}
	for _, m := range []Message{&GlobalBeginRequest{}, &BranchCommitRequest{XID: x}, &GlobalCommitResponse{}} {
		if got := XIDOf(m); got != "" {
			t.Errorf("XIDOf(%T) = %q, want none", m, got)
		}
	}
}

package tc

import (
	"database/sql"
	"testing"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// With the memory store, every request but GlobalCommit and GlobalRollback is
// answered from memory and runs inline; with the MySQL store none does.
func TestInlineRequests(t *testing.T) {
	mem := rpcHandler{&Server{cfg: Config{}}}
	db := rpcHandler{&Server{cfg: Config{DB: &sql.DB{}}}}
	for _, tt := range []struct {
		req    protocol.Message
		inline bool
	}{
		{&protocol.GlobalBeginRequest{}, true},
		{&protocol.BranchRegisterRequest{}, true},
		{&protocol.BranchReportRequest{}, true},
		{&protocol.GlobalLockQueryRequest{}, true},
		{&protocol.GlobalStatusRequest{}, true},
		{&protocol.GlobalReportRequest{}, true},
		{&protocol.GlobalCommitRequest{}, false},
		{&protocol.GlobalRollbackRequest{}, false},
	} {
		if got := mem.Inline(tt.req); got != tt.inline {
			t.Errorf("memory store: Inline(%v) = %v", tt.req.TypeCode(), got)
		}
		if db.Inline(tt.req) {
			t.Errorf("MySQL store: Inline(%v) = true", tt.req.TypeCode())
		}
	}
}

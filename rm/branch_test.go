package rm

import (
	"errors"
	"testing"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// The coordinator's lock conflicts reach the caller as this package's
// sentinels, the coordinator's error still in the chain; other failures
// match neither.
func TestBranchRegisterLockConflict(t *testing.T) {
	m, f, _ := newTestManager(t, Config{})
	ctx := t.Context()
	if err := m.Register(ctx, answer(nil)); err != nil {
		t.Fatal(err)
	}
	b := Branch{XID: "127.0.0.1:8091:1", BranchType: protocol.BranchAT, ResourceID: "db1", LockKeys: "t:1"}
	for _, c := range []struct {
		code     protocol.ExceptionCode
		want     error // nil: neither sentinel
		coordErr error
	}{
		{protocol.CodeLockKeyConflict, ErrLockConflict, protocol.ErrLockKeyConflict},
		{protocol.CodeLockKeyConflictFailFast, ErrLockConflictFailFast, protocol.ErrLockKeyConflictFailFast},
		{protocol.CodeGlobalTransactionNotActive, nil, protocol.ErrGlobalTransactionNotActive},
	} {
		f.respond = func(protocol.Message) (protocol.Message, error) {
			return &protocol.BranchRegisterResponse{Result: protocol.Result{Code: protocol.ResultFailed, ExceptionCode: c.code, Msg: "no"}}, nil
		}
		_, err := m.BranchRegister(ctx, b)
		if !errors.Is(err, c.coordErr) {
			t.Errorf("code %v: %v does not match the coordinator's error", c.code, err)
		}
		for _, s := range []error{ErrLockConflict, ErrLockConflictFailFast} {
			if got := errors.Is(err, s); got != (s == c.want) {
				t.Errorf("code %v: errors.Is(%v, %v) = %v", c.code, err, s, got)
			}
		}
	}
}

package tm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// endGlobal sends GlobalCommit (commit) or GlobalRollback and returns the
// global status the coordinator reports, retrying as the Config says.
func (m *Manager) endGlobal(ctx context.Context, tx *GlobalTx, commit bool) (_ protocol.GlobalStatus, err error) {
	xid := tx.xid
	if m.obs != nil {
		var op observe.Op
		ctx, op = m.startEnd(ctx, xid, commit)
		defer func() { m.endOp(ctx, op, err) }()
	}
	var (
		status protocol.GlobalStatus
		op     = "rollback"
		tries  = m.cfg.RollbackRetries
		send   func() error
	)
	if commit {
		op, tries = "commit", m.cfg.CommitRetries
		req := &tx.msgs.commit
		*req = protocol.GlobalCommitRequest{XID: xid}
		send = func() error {
			r, err := call[*protocol.GlobalCommitResponse](ctx, m.caller, req)
			if err == nil {
				status = r.GlobalStatus
			}
			return err
		}
	} else {
		req := &tx.msgs.rollback
		*req = protocol.GlobalRollbackRequest{XID: xid}
		send = func() error {
			r, err := call[*protocol.GlobalRollbackResponse](ctx, m.caller, req)
			if err == nil {
				status = r.GlobalStatus
			}
			return err
		}
	}
	if err := m.retry(ctx, op, xid, tries, true, send); err != nil {
		return protocol.GlobalUnknown, fmt.Errorf("atcc/tm: %s %s: %w", op, xid, err)
	}
	return status, nil
}

// retry runs send, and runs it again up to retries more times while it
// fails with an error m.retryable accepts and ctx is not done, pausing
// with a growing, jittered backoff in between.
func (m *Manager) retry(ctx context.Context, op, xid string, retries int, idempotent bool, send func() error) error {
	backoff := m.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := send()
		if err == nil {
			return nil
		}
		if attempt >= retries || ctx.Err() != nil || !m.retryable(err, idempotent) {
			return err
		}
		pause := backoff - rand.N(backoff/2+1)
		m.log.Warn("atcc/tm: retrying", "op", op, "xid", xid, "attempt", attempt+1, "pause", pause, "err", err)
		if !sleep(ctx, pause) {
			return err
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

// sleep pauses for d and reports whether it did so before ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// call sends req and checks that the response has the expected type and
// a successful result.
func call[R protocol.Message](ctx context.Context, c Caller, req protocol.Message) (R, error) {
	resp, err := c.Call(ctx, req)
	return rpc.Expect[R](req, resp, err)
}

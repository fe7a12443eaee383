package tc

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Ownership. A global transaction belongs to the application that began it
// (its application_id): only sessions registered with that application id
// may commit it, roll it back, report it or ask its status. An AT or TCC
// branch's phase two goes only to sessions of the application that
// registered the branch. With authentication on (TransportAuth), the
// application id is bound to the credentials; without it, it is what the
// client says, which stops mistakes and XID guessing but not an impostor.
// Config.SharedOwnership turns both checks off, as in Seata.

// owner is the application a request from p acts as, or "" when
// ownership is not checked.
func (c *coordinator) owner(p peer) string {
	if c.cfg.shared {
		return ""
	}
	return truncate(p.appID, maxAppIDLen)
}

// notOwnerError refuses a request on another application's transaction.
// It reads as "not found", so a prober learns nothing about the XID.
func notOwnerError(xid, app string) *txError {
	return txErrorf(protocol.CodeGlobalTransactionNotExist, "could not find global transaction xid = %s for application %q", xid, clip(app))
}

// errNotOwner marks a refusal by ownership inside the stores' callbacks.
var errNotOwner = errors.New("atcc/tc: not the transaction's application")

// commitAs answers GlobalCommit from p.
func (c *coordinator) commitAs(ctx context.Context, p peer, xid string) (protocol.GlobalStatus, error) {
	st, err := c.endAs(ctx, c.owner(p), xid, true)
	return st, c.ownerRefusal(p, "GlobalCommit", xid, err)
}

// rollbackAs answers GlobalRollback from p.
func (c *coordinator) rollbackAs(ctx context.Context, p peer, xid string) (protocol.GlobalStatus, error) {
	st, err := c.endAs(ctx, c.owner(p), xid, false)
	return st, c.ownerRefusal(p, "GlobalRollback", xid, err)
}

// statusAs answers GlobalStatus from p.
func (c *coordinator) statusAs(ctx context.Context, p peer, xid string) (protocol.GlobalStatus, error) {
	if err := c.checkOwner(ctx, p, xid); err != nil {
		return protocol.GlobalUnknown, c.ownerRefusal(p, "GlobalStatus", xid, err)
	}
	return c.status(ctx, xid)
}

// reportAs answers GlobalReport from p.
func (c *coordinator) reportAs(ctx context.Context, p peer, xid string, reported protocol.GlobalStatus) (protocol.GlobalStatus, error) {
	if err := c.checkOwner(ctx, p, xid); err != nil {
		return protocol.GlobalUnknown, c.ownerRefusal(p, "GlobalReport", xid, err)
	}
	return c.globalReport(ctx, xid, reported)
}

// reportBranchAs answers BranchReport from p: only the application that
// registered a branch may report it (a PhaseOneFailed report makes phase
// two skip the branch).
func (c *coordinator) reportBranchAs(ctx context.Context, p peer, req *protocol.BranchReportRequest) error {
	if app := c.owner(p); app != "" {
		bs, err := c.st.branches(ctx, req.XID)
		if err != nil && !errors.Is(err, errNoGlobal) {
			return storeError("read branches", err)
		}
		for _, b := range bs {
			if b.branchID == req.BranchID && !strings.HasPrefix(b.clientID, app+":") {
				c.warn.warn("owner:BranchReport", "atcc/tc: report on another application's branch refused",
					slog.String("xid", req.XID), slog.Int64("branch", req.BranchID), slog.String("app", p.appID), slog.String("addr", p.addr))
				return txErrorf(protocol.CodeBranchTransactionNotExist, "could not find branch %d of global transaction xid = %s for application %q", req.BranchID, req.XID, clip(p.appID))
			}
		}
	}
	return c.reportBranch(ctx, req)
}

// checkOwner returns errNotOwner when xid exists and belongs to another
// application than p's.
func (c *coordinator) checkOwner(ctx context.Context, p peer, xid string) error {
	app := c.owner(p)
	if app == "" {
		return nil
	}
	g, err := c.st.global(ctx, xid)
	if err == nil && g.appID != app {
		return errNotOwner
	}
	return nil
}

// ownerRefusal turns errNotOwner into the refusal sent to p, and logs it.
func (c *coordinator) ownerRefusal(p peer, op, xid string, err error) error {
	if !errors.Is(err, errNotOwner) {
		return err
	}
	c.refusedFor(err)
	c.warn.warn("owner:"+op, "atcc/tc: request on another application's transaction refused",
		slog.String("op", op), slog.String("xid", xid), slog.String("app", p.appID), slog.String("addr", p.addr))
	return notOwnerError(xid, p.appID)
}

// refused logs a refusal by a limit or a policy (rate-limited) and returns
// err.
func (c *coordinator) refused(p peer, op string, err *txError) error {
	c.refusedFor(err)
	c.warn.warn("refused:"+op, "atcc/tc: request refused", slog.String("op", op), slog.String("app", p.appID),
		slog.String("addr", p.addr), slog.String("why", err.msg))
	return err
}

// rateWarn logs at most one line per key a second, counting the others.
// It is safe for concurrent use.
type rateWarn struct {
	log *slog.Logger

	mu   sync.Mutex
	last map[string]time.Time
	drop map[string]int
}

func newRateWarn(log *slog.Logger) *rateWarn {
	return &rateWarn{log: log, last: make(map[string]time.Time), drop: make(map[string]int)}
}

func (r *rateWarn) warn(key, msg string, attrs ...slog.Attr) {
	now := time.Now()
	r.mu.Lock()
	if now.Sub(r.last[key]) < time.Second {
		r.drop[key]++
		r.mu.Unlock()
		return
	}
	r.last[key] = now
	n := r.drop[key]
	delete(r.drop, key)
	r.mu.Unlock()
	if n > 0 {
		attrs = append(attrs, slog.Int("suppressed", n))
	}
	r.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}

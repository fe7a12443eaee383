package tm

import (
	"context"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// launched is what Begin allocates for a launcher, in one block: the
// GlobalTx, the context it returns and the requests the GlobalTx sends. A
// context.WithValue and the requests apart made 3 allocations per
// transaction more (atcc-bench). Nothing in it changes once Begin returns
// but the GlobalTx's guarded state; each request is written once, before
// it is first sent, and may still be read by the transport afterwards.
type launched struct {
	parent context.Context
	tx     GlobalTx
	msgs   launcherMsgs
}

// launcherMsgs are the requests of a launcher.
type launcherMsgs struct {
	begin    protocol.GlobalBeginRequest
	commit   protocol.GlobalCommitRequest
	rollback protocol.GlobalRollbackRequest
}

// launchedCtx is the context Begin returns for a launcher: its parent,
// carrying the XID as context.WithValue(parent, xidKey{}, &tx.xid) would.
// Deadline, Done, Err and every other value are the parent's, so the
// context package treats it as its parent (a WithCancel on it starts no
// goroutine).
type launchedCtx launched

func (c *launchedCtx) Deadline() (deadline time.Time, ok bool) { return c.parent.Deadline() }
func (c *launchedCtx) Done() <-chan struct{}                   { return c.parent.Done() }
func (c *launchedCtx) Err() error                              { return c.parent.Err() }

// Value returns a *string pointing at the GlobalTx's XID for xidKey{}.
func (c *launchedCtx) Value(key any) any {
	if key == (xidKey{}) {
		return &c.tx.xid // never changes once Begin returns (see xidKey)
	}
	return c.parent.Value(key)
}

// String describes the context as context.WithValue's String does.
func (c *launchedCtx) String() string {
	return contextName(c.parent) + ".WithValue(tm.xidKey, " + c.tx.xid + ")"
}

func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return "context"
}

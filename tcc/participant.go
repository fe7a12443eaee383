package tcc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// Defaults of Config.
const (
	DefaultFenceCleanupAfter  = 24 * time.Hour // Seata's one day
	DefaultFenceCleanupPeriod = time.Hour
)

// Config configures a Participant. The zero value is valid: no fence.
type Config struct {
	// Fence, when not nil, turns the fence on: every Try, Confirm and
	// Cancel writes a row of the fence table in this database, in the
	// local transaction handed to the action as ActionContext.Tx. Then
	//
	//   - Confirm and Cancel take effect at most once per branch: a
	//     duplicate delivery, even a concurrent one, finds the branch done
	//     and answers success without calling the action;
	//   - a Cancel that finds no committed Try (Try failed, or has not
	//     run yet) records the branch as suspended and answers success
	//     without calling the action (empty rollback);
	//   - a Try that comes after that Cancel is refused with ErrSuspended
	//     before the action's Try runs (anti-suspension).
	//
	// This holds for the action's database work in ActionContext.Tx, which
	// commits together with the fence row. Work outside it (a call to
	// another service, a message) is not covered: when Try fails after
	// doing such work, its transaction and fence row roll back and Cancel
	// sees an empty rollback, so that work is never compensated (Seata
	// #6374); such actions should do it last, or run without a fence.
	//
	// The database must be MySQL or MariaDB through go-sql-driver/mysql
	// (directly or wrapped), holding the fence table (see DDL,
	// CreateTable). Transactions use the pool's default isolation
	// level; REPEATABLE READ and READ COMMITTED both work.
	Fence *sql.DB
	// FenceTable is the fence table's name, "table" or "schema.table".
	// Default DefaultFenceTable ("tcc_fence_log").
	FenceTable string
	// FenceCleanupAfter is the age (time since their last change) at which
	// the rows of finished branches (committed, rolled back, suspended)
	// of this action are deleted. Rows still "tried" (phase two has not
	// finished) are never deleted. Default DefaultFenceCleanupAfter
	// (24 h); negative disables the periodic cleanup (CleanFence still
	// works). A branch's suspended row must outlive any Try that could
	// still arrive for it.
	FenceCleanupAfter time.Duration
	// FenceCleanupPeriod is how often the cleanup runs. Default
	// DefaultFenceCleanupPeriod (1 h).
	FenceCleanupPeriod time.Duration
	// Logger receives empty rollbacks and idempotent skips (Debug),
	// cleanup results (Debug) and failures (Warn). Default: discard.
	Logger *slog.Logger
}

// withDefaults returns a copy of c with every zero field set to its
// default. A negative FenceCleanupAfter stays negative (no cleanup).
func (c Config) withDefaults() Config {
	if c.FenceTable == "" {
		c.FenceTable = DefaultFenceTable
	}
	if c.FenceCleanupAfter == 0 {
		c.FenceCleanupAfter = DefaultFenceCleanupAfter
	}
	if c.FenceCleanupPeriod <= 0 {
		c.FenceCleanupPeriod = DefaultFenceCleanupPeriod
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Participant is a registered Action: it runs Try inside global
// transactions and answers the coordinator's phase-two requests for the
// action's branches by calling Confirm or Cancel. It is the rm.Resource of
// the action (branch type TCC, resource id Action.Name).
//
// A Participant is safe for concurrent use. With a fence and a cleanup
// period it runs one goroutine, stopped by Close.
type Participant struct {
	rm       *rm.Manager
	action   Action
	name     string
	codec    contextCodec
	fence    *fence // nil without a fence
	log      *slog.Logger
	attempts *attempts

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc // ends the cleanup goroutine; nil without one
	done      chan struct{}      // closed when the cleanup goroutine returns

	// beforeTry, set by tests only, runs in Try after the branch is
	// registered and before the action's Try (and the fence row).
	beforeTry func(ctx context.Context, xid string, branchID int64)
}

var _ rm.Resource = (*Participant)(nil)

// Register makes a a participant of the global transactions of client: it
// registers the action with the client's resource manager (branch type TCC,
// resource id a.Name()), so that the coordinator sends the phase two of its
// branches to this client. It fails with ErrInvalidAction for a nil client
// or action, a name that cannot be a resource id (the error then also
// matches rm.ErrInvalidResource), or a bad fence table name, and with the
// resource manager's error otherwise (rm.ErrDuplicateResource when the
// client already has a participant of that name, rm.ErrClosed).
//
// Register does no I/O on a client that has not connected yet; on a
// connected one it announces the action to the coordinator, which takes at
// most the client's RequestTimeout. It does not touch the fence database.
// A service restarted while branches of its actions await phase two should
// register its actions and then call client.Ping, so that the coordinator
// can reach it.
func Register(client *atcc.Client, a Action, cfg Config) (*Participant, error) {
	if client == nil || a == nil {
		return nil, fmt.Errorf("%w: nil client or action", ErrInvalidAction)
	}
	name := a.Name()
	if name == "" {
		return nil, fmt.Errorf("%w: empty action name", ErrInvalidAction)
	}
	cfg = cfg.withDefaults()
	host, err := os.Hostname()
	if err != nil {
		host = ""
	}
	p := &Participant{
		rm:       client.RM(),
		action:   a,
		name:     name,
		codec:    newContextCodec(name, host),
		log:      cfg.Logger.With("action", name),
		attempts: newAttempts(),
	}
	if cfg.Fence != nil {
		if len(name) > 64 {
			return nil, fmt.Errorf("%w: action name %q longer than the fence's 64 bytes", ErrInvalidAction, name)
		}
		if p.fence, err = newFence(cfg.Fence, cfg.FenceTable, name); err != nil {
			return nil, err
		}
	}
	if err := p.rm.Register(context.Background(), p); err != nil {
		if errors.Is(err, rm.ErrInvalidResource) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidAction, err)
		}
		return nil, fmt.Errorf("atcc/tcc: register action %q: %w", name, err)
	}
	if p.fence != nil && cfg.FenceCleanupAfter >= 0 {
		ctx, cancel := context.WithCancel(context.Background())
		p.stop, p.done = cancel, make(chan struct{})
		go p.cleanLoop(ctx, cfg.FenceCleanupAfter, cfg.FenceCleanupPeriod)
	}
	return p, nil
}

// Name returns the action's name.
func (p *Participant) Name() string { return p.name }

// ResourceID returns the action's name, implementing rm.Resource.
func (p *Participant) ResourceID() string { return p.name }

// BranchType returns protocol.BranchTCC, implementing rm.Resource.
func (p *Participant) BranchType() protocol.BranchType { return protocol.BranchTCC }

// Try runs phase one of the action in the global transaction ctx carries:
// it registers a branch with params as its action context (the branch's
// application data, in Seata's {"actionContext":{...}} layout), then calls
// the action's Try; with a fence, it first writes the branch's "tried" row
// and commits it with the action's work (see Config.Fence).
//
// It fails with ErrNoGlobalTx outside a global transaction, ErrInvalidParams
// for params that cannot be sent, ErrClosed after Close, the resource
// manager's error when the branch cannot be registered (e.g. the global
// transaction has timed out), ErrSuspended when the branch was already
// rolled back (fence), or the action's own error, returned as it is. On
// any error after the branch is registered the caller must make the
// launcher roll the global transaction back, which runs Cancel for the
// branch.
func (p *Participant) Try(ctx context.Context, params Params) error {
	if p.closed.Load() {
		return ErrClosed
	}
	xid, ok := tm.XID(ctx)
	if !ok {
		return ErrNoGlobalTx
	}
	data, user, err := p.codec.encode(params, time.Now())
	if err != nil {
		return err
	}
	view, err := paramsOf(user)
	if err != nil {
		return err
	}
	branchID, err := p.rm.BranchRegister(ctx, rm.Branch{
		XID: xid, BranchType: protocol.BranchTCC, ResourceID: p.name, ApplicationData: data,
	})
	if err != nil {
		return fmt.Errorf("atcc/tcc: %s: %w", p.name, err)
	}
	if p.beforeTry != nil {
		p.beforeTry(ctx, xid, branchID)
	}
	ac := &ActionContext{XID: xid, BranchID: branchID, ActionName: p.name, Params: view}
	if p.fence == nil {
		return p.action.Try(ctx, ac)
	}
	return p.fence.try(ctx, ac, p.action.Try)
}

// CleanFence deletes the fence rows of this action whose branches have
// finished (committed, rolled back, suspended) and that were last changed
// before olderThan, and returns how many it deleted. Rows still "tried"
// are kept. The periodic cleanup (Config.FenceCleanupAfter) calls it;
// it is also there for manual use. ErrNoFence without a fence.
func (p *Participant) CleanFence(ctx context.Context, olderThan time.Time) (int64, error) {
	if p.fence == nil {
		return 0, ErrNoFence
	}
	return p.fence.cleanOlder(ctx, olderThan)
}

// Close unregisters the action from the client's resource manager (phase
// two for its branches then gets a retryable failure here, and reaches
// another instance, or this one once a new Participant is registered),
// makes Try fail with ErrClosed, and stops the fence cleanup, waiting for
// it to return. It does not wait for phase-two calls in progress (closing
// the client does). Calling it again does nothing.
func (p *Participant) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		// After the client closed its manager this fails with
		// ErrUnknownResource or not at all; the action is gone either way.
		_ = p.rm.Unregister(protocol.BranchTCC, p.name)
		if p.stop != nil {
			p.stop()
			<-p.done
		}
	})
	return nil
}

package tm

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Caller sends one request to the coordinator over a TM connection and
// returns the response. *atcc.Client provides one built on the rpc
// package; tests may pass a fake.
//
// Call returns the response, or an error: the Manager retries the rpc
// package's errors as GlobalTx.Commit describes and treats any other error
// as final. A response whose result code is Failed may come as an error
// (as rpc.Client.Call returns it) or as the response alone; the Manager
// turns the latter into an *protocol.CoordinatorError.
type Caller interface {
	Call(ctx context.Context, req protocol.Message) (protocol.Message, error)
}

// Config configures a Manager. The zero value is valid: every field has a
// default.
type Config struct {
	// DefaultTimeout is the global transaction timeout used when
	// TxOptions.Timeout is zero: the coordinator rolls back a transaction
	// that has not ended after this long. Default 60 s.
	DefaultTimeout time.Duration
	// CommitRetries is how many times GlobalTx.Commit resends the commit
	// after a failure that leaves the outcome open (the first attempt not
	// counted). Default 5; a negative value means no retry. Begin is never
	// retried (see Begin).
	CommitRetries int
	// RollbackRetries is the same for GlobalTx.Rollback. Default 5; a
	// negative value means no retry.
	RollbackRetries int
	// RetryBackoff is the pause before the first retry; it doubles before
	// each further retry, up to 10 s, and every pause is shortened by a
	// random fraction of up to a half so that clients do not retry in
	// step. Default 100 ms.
	RetryBackoff time.Duration
	// Logger receives retries (Warn) and failed rollbacks that cannot be
	// returned (Error, after a panic). Default: discard.
	Logger *slog.Logger
	// Observer, when not nil, is told of global transactions, their
	// commits and rollbacks, and conflict retries (see package observe).
	// Default nil.
	Observer observe.Observer
}

// Defaults for Config.
const (
	defaultTimeout      = 60 * time.Second
	defaultRetries      = 5
	defaultRetryBackoff = 100 * time.Millisecond
	// maxRetryBackoff caps the doubling backoff.
	maxRetryBackoff = 10 * time.Second
	// defaultName is the transaction name sent when TxOptions.Name is "".
	defaultName = "default"
	// maxNameLen keeps the name a valid str16 (Java reads the length as a
	// signed 16-bit value).
	maxNameLen = math.MaxInt16
)

// Manager begins global transactions and ends them. It holds no goroutines
// and no connections of its own; it is safe for concurrent use.
type Manager struct {
	caller    Caller
	cfg       Config
	log       *slog.Logger
	obs       observe.Observer                      // nil: none
	retryable func(err error, idempotent bool) bool // retryable, replaced in tests
}

// withDefaults returns a copy of c with every zero field set to its
// default, and negative retry counts set to 0 (no retry).
func (c Config) withDefaults() Config {
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = defaultTimeout
	}
	switch {
	case c.CommitRetries == 0:
		c.CommitRetries = defaultRetries
	case c.CommitRetries < 0:
		c.CommitRetries = 0
	}
	switch {
	case c.RollbackRetries == 0:
		c.RollbackRetries = defaultRetries
	case c.RollbackRetries < 0:
		c.RollbackRetries = 0
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = defaultRetryBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// NewManager returns a Manager that reaches the coordinator through c. It
// does no I/O.
func NewManager(c Caller, cfg Config) *Manager {
	cfg = cfg.withDefaults()
	return &Manager{caller: c, cfg: cfg, log: cfg.Logger, obs: cfg.Observer, retryable: retryable}
}

// TxOptions are the options of Begin and WithGlobalTx. The zero value
// begins (or joins) a transaction named "default" with the Manager's
// default timeout.
type TxOptions struct {
	// Name is the transaction name the coordinator records, e.g. the
	// business operation ("purchase"). Default "default". At most 32767
	// bytes.
	Name string
	// Timeout is the global transaction timeout: the coordinator rolls the
	// transaction back when it has not ended after this long. Zero means
	// Config.DefaultTimeout. It is sent in whole milliseconds (rounded up)
	// and may not exceed 2^31-1 ms (about 24 days).
	Timeout time.Duration
	// Propagation says what to do when the context already carries an XID.
	// Default Required.
	Propagation Propagation
	// ConflictRetries is how many times WithGlobalTx runs the transaction
	// again after it failed on a conflict (ErrConflict), the first attempt
	// not counted. Zero means DefaultConflictRetries; a negative value
	// turns retrying off. Begin ignores it.
	ConflictRetries int
}

// Begin starts, joins or suspends a global transaction as opts.Propagation
// says, and returns the context to do the transaction's work with and the
// transaction handle.
//
//   - When a new global transaction begins (Required without an XID in
//     ctx, RequiresNew), Begin sends GlobalBegin; the returned context
//     carries the new XID and the GlobalTx has RoleLauncher: its Commit and
//     Rollback end the global transaction.
//   - When ctx already carries an XID and the mode joins it (Required,
//     Supports, Mandatory), nothing is sent; the returned context is ctx
//     and the GlobalTx has RoleParticipant: it never ends the global
//     transaction (see GlobalTx.Commit).
//   - When the mode runs without a transaction (NotSupported, Supports or
//     Never without an XID), nothing is sent; the returned context carries
//     no XID and the GlobalTx has RoleNone.
//
// Suspension (RequiresNew, NotSupported) never touches ctx: the outer XID
// stays in ctx, so the caller resumes the outer transaction simply by
// going on with ctx.
//
// Begin fails with ErrExistingTx (Never with an XID), ErrNoTx (Mandatory
// without one), ErrInvalidOptions, or the error of the GlobalBegin call.
// Begin sends GlobalBegin once and does not retry it: nothing is decided
// yet, so the caller loses nothing by getting the error at once. (The
// transport resends a request none of whose bytes were written on another
// session by itself; and with no coordinator reachable, rpc.Client.Call
// fails fast with atcc.ErrNoSession after one connection attempt, bounded
// by the DialTimeout.) A begin that reached the coordinator but whose
// answer was lost leaves a transaction without an owner, which the
// coordinator rolls back when it times out. On error Begin returns ctx
// unchanged and a nil GlobalTx.
func (m *Manager) Begin(ctx context.Context, opts TxOptions) (context.Context, *GlobalTx, error) {
	if opts.Propagation > Mandatory {
		return ctx, nil, fmt.Errorf("%w: propagation %v", ErrInvalidOptions, opts.Propagation)
	}
	xid, inTx := XID(ctx)
	switch opts.Propagation {
	case Required:
		if inTx {
			return ctx, m.participant(xid), nil
		}
		return m.begin(ctx, opts)
	case RequiresNew:
		return m.begin(ctx, opts)
	case NotSupported:
		return WithoutXID(ctx), m.none(), nil
	case Supports:
		if inTx {
			return ctx, m.participant(xid), nil
		}
		return ctx, m.none(), nil
	case Never:
		if inTx {
			return ctx, nil, fmt.Errorf("%w: propagation NEVER, xid %s", ErrExistingTx, xid)
		}
		return ctx, m.none(), nil
	default: // Mandatory
		if !inTx {
			return ctx, nil, fmt.Errorf("%w: propagation MANDATORY", ErrNoTx)
		}
		return ctx, m.participant(xid), nil
	}
}

func (m *Manager) participant(xid string) *GlobalTx {
	return &GlobalTx{m: m, xid: xid, role: RoleParticipant}
}

func (m *Manager) none() *GlobalTx {
	return &GlobalTx{m: m, role: RoleNone}
}

// begin sends GlobalBegin and returns a launcher.
func (m *Manager) begin(ctx context.Context, opts TxOptions) (context.Context, *GlobalTx, error) {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = m.cfg.DefaultTimeout
	}
	if timeout < 0 {
		return ctx, nil, fmt.Errorf("%w: negative timeout %v", ErrInvalidOptions, timeout)
	}
	ms := (timeout + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		return ctx, nil, fmt.Errorf("%w: timeout %v exceeds 2^31-1 ms", ErrInvalidOptions, timeout)
	}
	name := opts.Name
	if name == "" {
		name = defaultName
	}
	if len(name) > maxNameLen {
		return ctx, nil, fmt.Errorf("%w: name of %d bytes exceeds %d", ErrInvalidOptions, len(name), maxNameLen)
	}
	var start time.Time
	if m.obs != nil {
		start = time.Now()
	}
	// The launcher, its context and its requests are one allocation.
	l := &launched{parent: ctx}
	l.msgs.begin = protocol.GlobalBeginRequest{TimeoutMillis: int32(ms), TransactionName: name}
	resp, err := call[*protocol.GlobalBeginResponse](ctx, m.caller, &l.msgs.begin)
	if err != nil {
		return ctx, nil, fmt.Errorf("atcc/tm: begin: %w", err)
	}
	if !ValidXID(resp.XID) {
		return ctx, nil, fmt.Errorf("%w: %q", ErrInvalidXID, resp.XID)
	}
	tx := &l.tx
	*tx = GlobalTx{m: m, xid: resp.XID, role: RoleLauncher, timeout: time.Duration(ms) * time.Millisecond, msgs: &l.msgs}
	ctx = (*launchedCtx)(l)
	if m.obs != nil {
		ctx = m.startTx(ctx, tx, name, start)
	}
	return ctx, tx, nil
}

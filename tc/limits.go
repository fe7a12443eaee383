package tc

import (
	"strings"
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Limits bound what clients can make the coordinator hold. Fields left at
// zero take the default their comment names; a negative value disables the
// limit. The transport's limits (connections, buffered bytes, resource ids,
// registration deadline) are in Config.RPC.Limits.
//
// A request over a limit is refused with a failed result whose message
// names the limit, and logged (at most one line a second per limit).
type Limits struct {
	// MaxTimeout is the longest global transaction timeout a GlobalBegin
	// may ask for; a longer one is refused (BeginFailed). It also bounds
	// how long a transaction can hold row locks. Default 10 minutes.
	MaxTimeout time.Duration

	// MaxLocksPerBranch bounds the row locks of one AT branch, and
	// MaxLockKeyBytes the length of its lock key; a BranchRegister over
	// either is refused (BranchRegisterFailed). Defaults 20,000 rows and
	// 1 MiB.
	MaxLocksPerBranch, MaxLockKeyBytes int

	// MaxOpenTransactions bounds the global transactions begun on this
	// coordinator and not yet ended (committed, rolled back or timed out),
	// and MaxOpenPerApplication those of one application; a GlobalBegin
	// over either is refused (BeginFailed). Each coordinator sharing a
	// MySQL store counts the transactions it began. Defaults 100,000 and
	// 20,000.
	MaxOpenTransactions, MaxOpenPerApplication int
}

// withDefaults applies the defaults; negative values become 0 (no limit).
func (l Limits) withDefaults() Limits {
	def := func(p *int, v int) {
		switch {
		case *p == 0:
			*p = v
		case *p < 0:
			*p = 0
		}
	}
	def(&l.MaxLocksPerBranch, 20_000)
	def(&l.MaxLockKeyBytes, 1<<20)
	def(&l.MaxOpenTransactions, 100_000)
	def(&l.MaxOpenPerApplication, 20_000)
	switch {
	case l.MaxTimeout == 0:
		l.MaxTimeout = 10 * time.Minute
	case l.MaxTimeout < 0:
		l.MaxTimeout = 0
	}
	return l
}

// openTxs counts the transactions this coordinator began that have not
// ended, per application. A transaction is forgotten when this coordinator
// sees it end (commit, rollback), or, when the count reaches a limit,
// once its deadline has passed (it timed out, or another coordinator
// sharing the store ended it). It is safe for concurrent use.
type openTxs struct {
	maxAll, maxApp int // 0: no limit

	mu        sync.Mutex
	byXID     map[string]openTx
	byApp     map[string]int
	peak      int   // the largest len(byXID) since byXID was last rebuilt
	nextSweep int64 // Unix ms of the next sweep
}

type openTx struct {
	app   string
	dueAt int64 // Unix ms
}

func newOpenTxs(l Limits) *openTxs {
	return &openTxs{maxAll: l.MaxOpenTransactions, maxApp: l.MaxOpenPerApplication,
		byXID: make(map[string]openTx), byApp: make(map[string]int)}
}

// add counts xid for app, or refuses it when a limit is reached.
func (o *openTxs) add(xid, app string, dueAt, now int64) *txError {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.full(app) {
		o.expire(now)
		if o.full(app) {
			if o.maxAll > 0 && len(o.byXID) >= o.maxAll {
				return txErrorf(protocol.CodeBeginFailed, "%d transactions are open on this coordinator (Limits.MaxOpenTransactions)", len(o.byXID))
			}
			return txErrorf(protocol.CodeBeginFailed, "application %q has %d open transactions (Limits.MaxOpenPerApplication)", clip(app), o.byApp[app])
		}
	}
	o.byXID[xid] = openTx{app: app, dueAt: dueAt}
	o.byApp[app]++
	o.peak = max(o.peak, len(o.byXID))
	return nil
}

// sweep forgets, at most once a second, the transactions past their
// deadline, and gives back the memory of a map that shrank to a quarter
// of its peak. The coordinator's scan loop calls it.
func (o *openTxs) sweep(now int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if now < o.nextSweep {
		return
	}
	o.nextSweep = now + 1000
	o.expire(now)
	if o.peak >= 4096 && len(o.byXID) < o.peak/4 {
		m := make(map[string]openTx, len(o.byXID))
		for k, v := range o.byXID {
			m[k] = v
		}
		o.byXID, o.peak = m, len(m)
		a := make(map[string]int, len(o.byApp))
		for k, v := range o.byApp {
			a[k] = v
		}
		o.byApp = a
	}
}

func (o *openTxs) full(app string) bool {
	return o.maxAll > 0 && len(o.byXID) >= o.maxAll || o.maxApp > 0 && o.byApp[app] >= o.maxApp
}

// expire forgets the transactions past their deadline; o.mu is held.
func (o *openTxs) expire(now int64) {
	for xid, t := range o.byXID {
		if t.dueAt <= now {
			o.forget(xid, t)
		}
	}
}

func (o *openTxs) forget(xid string, t openTx) {
	delete(o.byXID, xid)
	if o.byApp[t.app]--; o.byApp[t.app] <= 0 {
		delete(o.byApp, t.app)
	}
}

// done forgets xid: it has left status Begin.
func (o *openTxs) done(xid string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t, ok := o.byXID[xid]; ok {
		o.forget(xid, t)
	}
}

// len returns the number of transactions counted.
func (o *openTxs) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.byXID)
}

// checkTimeout refuses a timeout over MaxTimeout (0: none).
func checkTimeout(timeoutMs int32, maxTimeout time.Duration) *txError {
	if maxTimeout > 0 && time.Duration(timeoutMs)*time.Millisecond > maxTimeout {
		return txErrorf(protocol.CodeBeginFailed, "timeout %v is longer than the coordinator allows, %v (Limits.MaxTimeout)", time.Duration(timeoutMs)*time.Millisecond, maxTimeout)
	}
	return nil
}

// checkLockKey refuses a lock key over the limits (0: none), before it is
// parsed: the rows are counted as the separators plus one, exact for
// every key an RM builds.
func checkLockKey(lockKey string, l Limits) *txError {
	if l.MaxLockKeyBytes > 0 && len(lockKey) > l.MaxLockKeyBytes {
		return txErrorf(protocol.CodeBranchRegisterFailed, "lock key is %d bytes, more than %d (Limits.MaxLockKeyBytes)", len(lockKey), l.MaxLockKeyBytes)
	}
	if rows := strings.Count(lockKey, ",") + strings.Count(lockKey, ";") + 1; l.MaxLocksPerBranch > 0 && rows > l.MaxLocksPerBranch {
		return txErrorf(protocol.CodeBranchRegisterFailed, "lock key names %d rows, more than %d (Limits.MaxLocksPerBranch)", rows, l.MaxLocksPerBranch)
	}
	return nil
}

package tc

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Stats is a snapshot of a Server's state, for gauges and the admin
// console.
type Stats struct {
	// Sessions is the number of client connections open.
	Sessions int
	// Queued is the number of client requests waiting for a worker, and
	// Rejected how many found the queue full (since Start) and were
	// answered at once with a failure.
	Queued   int
	Rejected uint64
	// Refused counts the connections, registrations and requests refused
	// since New, by reason: the transport's (see atcc.Stats.Refused:
	// "connection_limit", "registration", "register_timeout",
	// "buffer_limit") and the coordinator's: "max_timeout",
	// "max_open_transactions", "max_open_per_application",
	// "max_lock_key_bytes", "max_locks_per_branch" (Limits),
	// "resource_applications" (Config.ResourceApplications),
	// "resource_not_registered" (a branch on a resource its connection did
	// not register), "not_owner" (another application's transaction).
	Refused map[string]uint64
	// OpenHere is the number of global transactions this coordinator
	// began that have not ended, as Limits.MaxOpenTransactions counts
	// them.
	OpenHere int
	// WaitingForSession is the number of global transactions whose phase
	// two waits for an RM of one of their resources to connect.
	WaitingForSession int
	// Transactions counts the global transactions in the store by
	// status: those under way, in phase two, waiting for a phase-two
	// retry (the *Retrying statuses: the retry queues), failed, and those
	// ended successfully until they are forgotten (Config.Retention). With
	// a MySQL store shared by several coordinators it counts them all.
	Transactions map[protocol.GlobalStatus]int
	// Locks is the number of row locks held, in the store.
	Locks int
}

// Stats returns a snapshot of the server's state. The counts of the store
// (Transactions, Locks) are read from it: a query each with the MySQL
// store, bounded by ctx. It is safe for concurrent use, also before Start
// and after Close (the store counts are then left out).
func (s *Server) Stats(ctx context.Context) (Stats, error) {
	rs := s.rpc.Stats()
	st := Stats{Sessions: rs.Sessions, Queued: rs.Queued, Rejected: rs.Rejected,
		Refused: s.core.refusals.counts(), OpenHere: s.core.open.len(), WaitingForSession: s.core.waitingCount()}
	for k, v := range rs.Refused {
		st.Refused[k] += v
	}
	s.mu.Lock()
	running := s.state == stateRunning
	s.mu.Unlock()
	if !running {
		return st, nil
	}
	var err error
	if st.Transactions, st.Locks, err = storeCounts(ctx, s.st); err != nil {
		return st, fmt.Errorf("atcc/tc: stats: %w", err)
	}
	return st, nil
}

// storeCounts counts a store's transactions by status and its row locks.
func storeCounts(ctx context.Context, st store) (map[protocol.GlobalStatus]int, int, error) {
	switch s := st.(type) {
	case *memStore:
		byStatus, locks := s.counts()
		return byStatus, locks, nil
	case *mysqlStore:
		return s.counts(ctx)
	}
	return nil, 0, fmt.Errorf("store %T keeps no counts", st)
}

func (m *memStore) counts() (map[protocol.GlobalStatus]int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byStatus := make(map[protocol.GlobalStatus]int)
	for _, g := range m.globals {
		byStatus[g.g.status]++
	}
	for _, g := range m.ended {
		byStatus[g.status]++
	}
	return byStatus, len(m.locks)
}

func (m *mysqlStore) counts(ctx context.Context) (map[protocol.GlobalStatus]int, int, error) {
	rows, err := m.db.QueryContext(ctx, "SELECT status, COUNT(*) FROM global_table GROUP BY status")
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	byStatus := make(map[protocol.GlobalStatus]int)
	for rows.Next() {
		var status, n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, 0, err
		}
		byStatus[protocol.GlobalStatus(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var locks int
	if err := m.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM lock_table").Scan(&locks); err != nil {
		return nil, 0, err
	}
	return byStatus, locks, nil
}

// waitingCount returns the number of transactions waiting for a session.
func (c *coordinator) waitingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make(map[string]struct{})
	for _, xids := range c.waiting {
		for x := range xids {
			seen[x] = struct{}{}
		}
	}
	return len(seen)
}

// refusals counts refused requests by reason. It is safe for concurrent
// use.
type refusals struct {
	mu sync.Mutex
	by map[string]uint64
}

// add counts a refusal for reason.
func (r *refusals) add(reason string) {
	r.mu.Lock()
	if r.by == nil {
		r.by = make(map[string]uint64)
	}
	r.by[reason]++
	r.mu.Unlock()
}

func (r *refusals) counts() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]uint64, len(r.by))
	for k, v := range r.by {
		m[k] = v
	}
	return m
}

// refusalReasons maps the setting a refusal's message names to the
// reason counted.
var refusalReasons = [...]struct{ setting, reason string }{
	{"(Limits.MaxTimeout)", "max_timeout"},
	{"(Limits.MaxOpenTransactions)", "max_open_transactions"},
	{"(Limits.MaxOpenPerApplication)", "max_open_per_application"},
	{"(Limits.MaxLockKeyBytes)", "max_lock_key_bytes"},
	{"(Limits.MaxLocksPerBranch)", "max_locks_per_branch"},
	{"(Config.ResourceApplications)", "resource_applications"},
	{"(RegisterRM first)", "resource_not_registered"},
}

// refusalReason returns the reason counted for a refusal by a limit or a
// policy with message msg.
func refusalReason(msg string) string {
	for _, r := range refusalReasons {
		if strings.HasSuffix(msg, r.setting) {
			return r.reason
		}
	}
	return "other"
}

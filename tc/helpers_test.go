package tc

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// fakeRM is a branchCaller that records every phase-two delivery and answers
// through answer (default: success).
type fakeRM struct {
	mu     sync.Mutex
	answer func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error) // n: deliveries of this phase to b so far, this one included
	log    []delivery
	count  map[delivery]int
}

type delivery struct {
	commit   bool
	xid      string
	branchID int64
}

func (f *fakeRM) phaseTwo(ctx context.Context, commit bool, g *globalTx, b *branchTx) (protocol.BranchStatus, error) {
	d := delivery{commit, b.xid, b.branchID}
	f.mu.Lock()
	if f.count == nil {
		f.count = make(map[delivery]int)
	}
	f.count[d]++
	n := f.count[d]
	f.log = append(f.log, d)
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(commit, b, n)
	}
	if commit {
		return protocol.PhaseTwoCommitted, nil
	}
	return protocol.PhaseTwoRollbacked, nil
}

func (f *fakeRM) setAnswer(a func(commit bool, b *branchTx, n int) (protocol.BranchStatus, error)) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

// deliveries returns how many times phase two (commit or rollback) reached
// the branch.
func (f *fakeRM) deliveries(commit bool, xid string, branchID int64) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[delivery{commit, xid, branchID}]
}

// order returns the branch ids of the deliveries for xid, in order.
func (f *fakeRM) order(xid string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for _, d := range f.log {
		if d.xid == xid {
			ids = append(ids, d.branchID)
		}
	}
	return ids
}

// logSink collects log records for assertions.
type logSink struct {
	mu      sync.Mutex
	records []slog.Record
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.records = append(s.records, r.Clone())
	s.mu.Unlock()
	return nil
}
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *logSink) WithGroup(string) slog.Handler      { return s }

// find returns the records at level whose message contains msg.
func (s *logSink) find(level slog.Level, msg string) []slog.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slog.Record
	for _, r := range s.records {
		if r.Level == level && strings.Contains(r.Message, msg) {
			out = append(out, r)
		}
	}
	return out
}

func attr(r slog.Record, key string) string {
	v := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// testClock is a coordinator clock that runs with the real one and can be
// moved forward. A test that times a transaction out begins it with a long
// timeout, registers its branches, then moves the clock past the deadline:
// on a loaded machine a short real timeout could expire before the branches
// register. It is safe for concurrent use.
type testClock struct {
	skew atomic.Int64 // nanoseconds ahead of time.Now
}

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

type testCore struct {
	*coordinator
	rm   *fakeRM
	logs *logSink
}

func testCoreConfig(logs *logSink) coreConfig {
	return coreConfig{
		advertise:     "127.0.0.1:8091",
		owner:         "test-" + time.Now().Format("150405.000000"),
		retryPeriod:   20 * time.Millisecond,
		backoffMax:    40 * time.Millisecond,
		branchTimeout: time.Second,
		lease:         2 * time.Second,
		retention:     time.Minute,
		log:           slog.New(logs),
		now:           time.Now,
	}
}

// newTestCore starts a coordinator on s with a fake RM; edit adjusts the
// configuration.
func newTestCore(t testing.TB, s store, edit func(*coreConfig)) *testCore {
	t.Helper()
	return newTestCoreRM(t, s, &fakeRM{}, edit)
}

// newTestCoreRM is newTestCore with the fake RM given, so that several
// coordinators can deliver to one RM.
func newTestCoreRM(t testing.TB, s store, rm *fakeRM, edit func(*coreConfig)) *testCore {
	t.Helper()
	logs := &logSink{}
	cfg := testCoreConfig(logs)
	if edit != nil {
		edit(&cfg)
	}
	c := newCoordinator(cfg, s, rm)
	c.start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.shutdown(ctx)
	})
	return &testCore{coordinator: c, rm: rm, logs: logs}
}

var tmPeer = peer{clientID: "tm-app:10.0.0.1:4000", appID: "tm-app", group: "grp"}
var rmPeer = peer{clientID: "rm-app:10.0.0.2:5000", appID: "rm-app", group: "grp"}

func (c *testCore) begin(t testing.TB, timeout time.Duration) string {
	t.Helper()
	xid, err := c.coordinator.begin(context.Background(), tmPeer, int32(timeout/time.Millisecond), "test")
	if err != nil {
		t.Fatal(err)
	}
	return xid
}

func (c *testCore) register(t testing.TB, xid string, typ protocol.BranchType, lockKey string) int64 {
	t.Helper()
	id, err := c.tryRegister(xid, typ, lockKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (c *testCore) tryRegister(xid string, typ protocol.BranchType, lockKey, appData string) (int64, error) {
	return c.registerBranch(context.Background(), rmPeer, &protocol.BranchRegisterRequest{
		XID: xid, BranchType: typ, ResourceID: "jdbc:mysql://db/r", LockKey: lockKey, ApplicationData: appData})
}

func (c *testCore) mustStatus(t testing.TB, xid string) protocol.GlobalStatus {
	t.Helper()
	st, err := c.status(context.Background(), xid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (c *testCore) waitStatus(t testing.TB, xid string, want ...protocol.GlobalStatus) protocol.GlobalStatus {
	t.Helper()
	var st protocol.GlobalStatus
	eventually(t, func() bool {
		st = c.mustStatus(t, xid)
		return slices.Contains(want, st)
	}, "status of %s is %v, want one of %v", xid, &st, want)
	return st
}

func (c *testCore) lockable(t testing.TB, xid, lockKey string) bool {
	t.Helper()
	ok, err := c.lockQuery(context.Background(), &protocol.GlobalLockQueryRequest{
		XID: xid, BranchType: protocol.BranchAT, ResourceID: "jdbc:mysql://db/r", LockKey: lockKey})
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// scanPassed returns after the scan loop has claimed every transaction
// that was due when scanPassed was called: it begins a probe transaction
// due a millisecond later and waits until a scan has timed it out (scans
// claim in due order). A test asserting that a transaction is not retried
// checks, after scanPassed, that it is unclaimed (no owner).
func (c *testCore) scanPassed(t testing.TB) {
	t.Helper()
	probe := c.begin(t, time.Millisecond)
	var st protocol.GlobalStatus
	eventually(t, func() bool {
		c.wake() // the retry period may be long
		st = c.mustStatus(t, probe)
		return st == protocol.GlobalTimeoutRollbacked
	}, "probe transaction %s is %v, want TimeoutRollbacked", probe, &st)
}

// unclaimed asserts that xid is in status want and owned by no coordinator.
func (c *testCore) unclaimed(t testing.TB, xid string, want protocol.GlobalStatus) {
	t.Helper()
	g, err := c.st.global(context.Background(), xid)
	if err != nil {
		t.Fatal(err)
	}
	if g.status != want || g.owner != "" {
		t.Fatalf("%s is %v owned by %q, want %v unowned", xid, g.status, g.owner, want)
	}
}

// eventually polls cond for up to 10 s.
func eventually(t testing.TB, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for i, a := range args {
				if p, ok := a.(*protocol.GlobalStatus); ok {
					args[i] = *p
				}
			}
			t.Fatalf(format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func codeOf(err error) protocol.ExceptionCode {
	if te, ok := err.(*txError); ok {
		return te.code
	}
	return 255
}

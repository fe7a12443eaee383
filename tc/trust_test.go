package tc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// legitimate runs, until the test ends, an application ("bank") that keeps
// beginning, registering an AT branch and committing, with its own TM and
// RM. progress waits until it has committed n more transactions.
type legitimate struct {
	committed atomic.Int64
	failed    atomic.Value // string: the last failure
}

func startLegitimate(t *testing.T, s *Server) *legitimate {
	t.Helper()
	const res = "jdbc:mysql://127.0.0.1:3306/bank"
	tm := newClient(t, "bank", nil, nil, s.Addr())
	rm := newClient(t, "bank", rpc.RequestHandlerFunc(commitAll), []string{res}, s.Addr())
	l := &legitimate{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if err := l.once(ctx, tm, rm, res, i); err != nil && ctx.Err() == nil {
				l.failed.Store(err.Error())
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

// commitAll is an RM that records nothing (it runs for the whole of
// TestAttackMemory): every branch commits or rolls back.
func commitAll(_ context.Context, req protocol.Message) protocol.Message {
	ok := protocol.Result{Code: protocol.ResultSuccess}
	switch m := req.(type) {
	case *protocol.BranchCommitRequest:
		return &protocol.BranchCommitResponse{Result: ok, XID: m.XID, BranchID: m.BranchID, BranchStatus: protocol.PhaseTwoCommitted}
	case *protocol.BranchRollbackRequest:
		return &protocol.BranchRollbackResponse{Result: ok, XID: m.XID, BranchID: m.BranchID, BranchStatus: protocol.PhaseTwoRollbacked}
	}
	return nil
}

func (l *legitimate) once(ctx context.Context, tm, rm *rpc.Client, res string, i int) error {
	b, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 30000, TransactionName: "transfer"})
	if err != nil {
		return err
	}
	br := b.(*protocol.GlobalBeginResponse)
	if _, err := rm.Call(ctx, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: br.XID, BranchType: protocol.BranchAT, ResourceID: res, LockKey: "account:" + strconv.Itoa(i%100)}); err != nil {
		return err
	}
	c, err := tm.Call(ctx, rpc.RoleTM, &protocol.GlobalCommitRequest{XID: br.XID})
	if err != nil {
		return err
	}
	if cr := c.(*protocol.GlobalCommitResponse); cr.GlobalStatus != protocol.GlobalCommitted {
		return fmt.Errorf("commit: %v %s", cr.GlobalStatus, cr.Msg)
	}
	l.committed.Add(1)
	return nil
}

// progress waits until the application has committed n more transactions.
func (l *legitimate) progress(t *testing.T, n int64) {
	t.Helper()
	from := l.committed.Load()
	eventually(t, func() bool { return l.committed.Load() >= from+n }, "the legitimate application stalled (last failure: %v)", l.failed.Load())
}

// refusedWith checks that a call was refused with a failed result (which
// the rpc client returns as a *protocol.CoordinatorError) naming want.
func refusedWith(t *testing.T, err error, want string) *protocol.CoordinatorError {
	t.Helper()
	var ce *protocol.CoordinatorError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, want) {
		t.Fatalf("got %v, want a refusal naming %q", err, want)
	}
	return ce
}

func TestLimitLockKey(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Limits = Limits{MaxLocksPerBranch: 1000, MaxLockKeyBytes: 64 << 10}
	s := startServer(t, cfg)
	legit := startLegitimate(t, s)
	legit.progress(t, 5)

	tm := newClient(t, "evil", nil, nil, s.Addr())
	rm := newClient(t, "evil", &recordingRM{}, []string{dbRes}, s.Addr())
	xid := begin(t, tm, time.Minute)
	huge := "t:" + strings.Repeat("1234567,", 5<<20/8) // 5 MB, 655,360 rows
	_, err := call[*protocol.BranchRegisterResponse](t, rm, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: dbRes, LockKey: huge})
	refusedWith(t, err, "Limits.MaxLockKeyBytes")
	many := "t:" + strings.Repeat("1,", 1001)
	_, err = call[*protocol.BranchRegisterResponse](t, rm, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: dbRes, LockKey: many})
	refusedWith(t, err, "Limits.MaxLocksPerBranch")
	mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "t:"+strings.Repeat("1,", 999)+"1000")
	legit.progress(t, 5)
}

func TestLimitTimeoutAndOpenTransactions(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Limits = Limits{MaxTimeout: time.Minute, MaxOpenPerApplication: 20, MaxOpenTransactions: 50}
	s := startServer(t, cfg)
	legit := startLegitimate(t, s)

	evil := newClient(t, "evil", nil, nil, s.Addr())
	_, err := call[*protocol.GlobalBeginResponse](t, evil, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: math.MaxInt32, TransactionName: "x"})
	refusedWith(t, err, "Limits.MaxTimeout")

	var xids []string
	for range 20 {
		xids = append(xids, begin(t, evil, time.Minute))
	}
	_, err = call[*protocol.GlobalBeginResponse](t, evil, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "x"})
	refusedWith(t, err, "Limits.MaxOpenPerApplication")
	legit.progress(t, 20) // another application is not held back

	// Over all applications: two more greedy applications fill the rest.
	for _, app := range []string{"evil2", "evil3"} {
		c := newClient(t, app, nil, nil, s.Addr())
		for {
			if _, err := call[*protocol.GlobalBeginResponse](t, c, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "x"}); err != nil {
				refusedWith(t, err, "Limits.MaxOpen")
				break
			}
		}
	}
	// The legitimate application's transaction in flight, if any, ends
	// meanwhile and frees a place: begin until refused (a few at most).
	evil4 := newClient(t, "evil4", nil, nil, s.Addr())
	for range 5 {
		if _, err = call[*protocol.GlobalBeginResponse](t, evil4, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "x"}); err != nil {
			break
		}
	}
	refusedWith(t, err, "Limits.MaxOpenTransactions")

	// The attacker leaves: what it held is counted no more.
	for _, xid := range xids {
		rollbackTx(t, evil, xid)
	}
	begin(t, evil, time.Minute)
	if n := s.core.open.len(); n > 50 {
		t.Fatalf("%d open transactions counted, limit 50", n)
	}
}

// TestLimitOpenTransactionsExpire: transactions that time out stop
// counting once their deadline has passed.
func TestLimitOpenTransactionsExpire(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Limits = Limits{MaxOpenPerApplication: 10}
	s := startServer(t, cfg)
	evil := newClient(t, "evil", nil, nil, s.Addr())
	for range 10 {
		begin(t, evil, 100*time.Millisecond)
	}
	eventually(t, func() bool {
		_, err := call[*protocol.GlobalBeginResponse](t, evil, rpc.RoleTM, &protocol.GlobalBeginRequest{TimeoutMillis: 100, TransactionName: "x"})
		return err == nil
	}, "timed-out transactions still count")
}

// TestOwnership: another application can neither end nor probe a
// transaction; the owner, beside it, commits.
func TestOwnership(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	owner := newClient(t, "bank", nil, nil, s.Addr())
	evil := newClient(t, "evil", nil, nil, s.Addr())
	xid := begin(t, owner, time.Minute)
	for _, req := range []protocol.Message{
		&protocol.GlobalCommitRequest{XID: xid},
		&protocol.GlobalRollbackRequest{XID: xid},
		&protocol.GlobalStatusRequest{XID: xid},
		&protocol.GlobalReportRequest{XID: xid, GlobalStatus: protocol.GlobalCommitted},
	} {
		_, err := evil.Call(context.Background(), rpc.RoleTM, req)
		if ce := refusedWith(t, err, "could not find global transaction"); ce.Code != protocol.CodeGlobalTransactionNotExist {
			t.Fatalf("%T by another application: %v", req, err)
		}
	}
	if st := statusOf(t, owner, xid); st != protocol.GlobalBegin {
		t.Fatalf("status %v after the refusals", st)
	}
	if st := commitTx(t, owner, xid); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}

	shared := testConfig()
	shared.SharedOwnership = true
	s2 := startServer(t, shared)
	owner2 := newClient(t, "bank", nil, nil, s2.Addr())
	evil2 := newClient(t, "evil", nil, nil, s2.Addr())
	if st := rollbackTx(t, evil2, begin(t, owner2, time.Minute)); st != protocol.GlobalRollbacked {
		t.Fatalf("shared ownership: %v", st)
	}
}

// TestOwnershipPhaseTwo: an application that registers another one's
// resource after that one's RM died does not receive its phase two; the
// owner's RM does, when it comes back.
func TestOwnershipPhaseTwo(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "bank", nil, nil, s.Addr())
	bankRM := &recordingRM{}
	rm := newClient(t, "bank", bankRM, []string{dbRes}, s.Addr())
	xid := begin(t, tm, time.Minute)
	at := mustRegister(t, rm, xid, protocol.BranchAT, dbRes, "t:1")
	rm.Close()
	eventually(t, func() bool { return s.sess.count(dbRes) == 0 }, "bank's RM still indexed")
	evilRM := &recordingRM{}
	newClient(t, "evil", evilRM, []string{dbRes}, s.Addr())
	if st := rollbackTx(t, tm, xid); st != protocol.GlobalRollbackRetrying {
		t.Fatalf("rollback %v, want RollbackRetrying until bank's RM is back", st)
	}
	back := &recordingRM{}
	newClient(t, "bank", back, []string{dbRes}, s.Addr())
	waitFor(t, tm, xid, protocol.GlobalRollbacked)
	if len(back.phases(at)) == 0 || len(evilRM.phases(at)) != 0 {
		t.Fatalf("phase two went to bank %v, evil %v", back.phases(at), evilRM.phases(at))
	}
}

// TestBranchRegisterNeedsResource: a BranchRegister must come from a
// connection that registered the resource.
func TestBranchRegisterNeedsResource(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "bank", nil, nil, s.Addr())
	rm := newClient(t, "evil", &recordingRM{}, []string{"other"}, s.Addr())
	xid := begin(t, tm, time.Minute)
	_, err := call[*protocol.BranchRegisterResponse](t, rm, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: dbRes, LockKey: "t:1"})
	refusedWith(t, err, "not registered by this connection")
}

// TestXIDsNotFromTheClock: XIDs keep the host:port:<int64> format, are
// distinct, and their ids neither follow the clock nor each other.
func TestXIDsNotFromTheClock(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "bank", nil, nil, s.Addr())
	seen := make(map[int64]bool)
	var prev int64
	var ascending int
	for i := range 200 {
		xid := begin(t, tm, time.Minute)
		host, rest, _ := strings.Cut(xid, ":")
		port, idText, _ := strings.Cut(rest, ":")
		if net.JoinHostPort(host, port) != s.Addr().String() {
			t.Fatalf("xid %q does not start with the server's address", xid)
		}
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || id <= 0 {
			t.Fatalf("xid %q: id %v", xid, err)
		}
		if seen[id] {
			t.Fatalf("id %d twice", id)
		}
		seen[id] = true
		if ms := id >> 22; ms > time.Now().Add(-time.Minute).UnixMilli() && ms < time.Now().Add(time.Minute).UnixMilli() {
			t.Fatalf("id %d is a timestamp (%v)", id, time.UnixMilli(ms))
		}
		if i > 0 && id > prev {
			ascending++
		}
		prev = id
	}
	if ascending < 50 || ascending > 150 {
		t.Fatalf("%d of 199 ids above their predecessor: they follow each other", ascending)
	}
}

// TestXIDPermutation: distinct inputs give distinct positive ids.
func TestXIDPermutation(t *testing.T) {
	p := newXIDPermutation([16]byte{1, 2, 3})
	out := make(map[int64]bool, 1<<17)
	base := time.Now().UnixMilli() << 22
	for i := range int64(1 << 17) {
		v := p.permute(base + i)
		if v < 0 || out[v] {
			t.Fatalf("permute(%d) = %d: negative or repeated", base+i, v)
		}
		out[v] = true
	}
	if p.permute(42) != newXIDPermutation([16]byte{1, 2, 3}).permute(42) {
		t.Fatal("not a function of the key")
	}
	if p.permute(42) == newXIDPermutation([16]byte{1, 2, 4}).permute(42) {
		t.Fatal("key ignored")
	}
}

// TestXIDPermutationStable: the permutation is the one coordinators
// sharing a MySQL store already used (values from the version before its
// round function kept its blocks in the permutation), and concurrent use
// gives the same values.
func TestXIDPermutationStable(t *testing.T) {
	p := newXIDPermutation([16]byte{1, 2, 3})
	golden := map[int64]int64{42: 6190907565691430290, 1 << 62: 4187806745012004480, 7: 5304980853865109895}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				for in, want := range golden {
					if got := p.permute(in); got != want {
						t.Errorf("permute(%d) = %d, want %d", in, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestXIDKeySharedByMySQLCoordinators: coordinators on one MySQL store,
// and their restarts, share the key, so the ids stay unique among them.
func TestXIDKeySharedByMySQLCoordinators(t *testing.T) {
	t.Parallel()
	db := mysqlTables(t).DB
	cfg := testConfig()
	cfg.DB = db
	a, b := startServer(t, cfg), startServer(t, cfg)
	if a.core.xidKey.Load().permute(7) != b.core.xidKey.Load().permute(7) {
		t.Fatal("two coordinators on one store use different keys")
	}
	ta, tb := newClient(t, "bank", nil, nil, a.Addr()), newClient(t, "bank", nil, nil, b.Addr())
	ids := make(map[string]bool)
	for range 50 {
		for _, c := range []*rpc.Client{ta, tb} {
			xid := begin(t, c, time.Minute)
			id := xid[strings.LastIndexByte(xid, ':')+1:]
			if ids[id] {
				t.Fatalf("id %s twice", id)
			}
			ids[id] = true
		}
	}
	key := a.core.xidKey.Load().permute(7)
	a.Close()
	c := startServer(t, cfg)
	if c.core.xidKey.Load().permute(7) != key {
		t.Fatal("the key changed across a restart")
	}
}

// TestResourceApplications: on a resource reserved for an application,
// another one cannot register a branch, so cannot squat its rows.
func TestResourceApplications(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ResourceApplications = map[string][]string{dbRes: {"bank"}}
	s := startServer(t, cfg)
	tm := newClient(t, "bank", nil, nil, s.Addr())
	bank := newClient(t, "bank", &recordingRM{}, []string{dbRes}, s.Addr())
	evil := newClient(t, "evil", &recordingRM{}, []string{dbRes}, s.Addr())
	xid := begin(t, tm, time.Minute)
	_, err := call[*protocol.BranchRegisterResponse](t, evil, rpc.RoleRM, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT, ResourceID: dbRes, LockKey: "account:1"})
	refusedWith(t, err, "Config.ResourceApplications")
	mustRegister(t, bank, xid, protocol.BranchAT, dbRes, "account:1")
	if st := commitTx(t, tm, xid); st != protocol.GlobalCommitted {
		t.Fatal(st)
	}
}

// TestBranchReportOwnership: another application cannot report a branch
// as failed (which would make its rollback skip it).
func TestBranchReportOwnership(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig())
	tm := newClient(t, "bank", nil, nil, s.Addr())
	bank := newClient(t, "bank", &recordingRM{}, []string{dbRes}, s.Addr())
	evil := newClient(t, "evil", &recordingRM{}, []string{dbRes}, s.Addr())
	xid := begin(t, tm, time.Minute)
	id := mustRegister(t, bank, xid, protocol.BranchAT, dbRes, "account:1")
	_, err := call[*protocol.BranchReportResponse](t, evil, rpc.RoleRM, &protocol.BranchReportRequest{XID: xid, BranchID: id, BranchType: protocol.BranchAT, ResourceID: dbRes, Status: protocol.PhaseOneFailed})
	refusedWith(t, err, "could not find branch")
	if _, err := call[*protocol.BranchReportResponse](t, bank, rpc.RoleRM, &protocol.BranchReportRequest{XID: xid, BranchID: id, BranchType: protocol.BranchAT, ResourceID: dbRes, Status: protocol.PhaseOneDone}); err != nil {
		t.Fatal(err)
	}
}

// TestOpenTxsSweep: expired transactions are forgotten by the scan loop's
// sweep, not only when a limit is reached, and the map is rebuilt.
func TestOpenTxsSweep(t *testing.T) {
	o := newOpenTxs(Limits{}.withDefaults())
	for i := range 5000 {
		if err := o.add(strconv.Itoa(i), "bank", 100, 0); err != nil {
			t.Fatal(err)
		}
	}
	o.add("live", "bank", 1000, 0)
	o.sweep(50)
	if o.len() != 5001 {
		t.Fatalf("%d counted before the deadline", o.len())
	}
	o.sweep(60) // within a second of the last sweep: nothing
	if o.len() != 5001 {
		t.Fatal("swept twice in a second")
	}
	o.sweep(1050)
	if o.len() != 0 || o.peak != 0 || len(o.byApp) != 0 {
		t.Fatalf("after the deadlines: %d counted, peak %d, apps %v", o.len(), o.peak, o.byApp)
	}
}

// TestMemStoreShrinks: after a burst, the memory store's maps are rebuilt.
func TestMemStoreShrinks(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(time.Now)
	for i := range 5000 {
		g := globalTx{xid: "x:1:" + strconv.Itoa(i), status: protocol.GlobalBegin, dueAt: 1}
		if err := s.insertGlobal(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4000 {
		if ok, err := s.endEmpty(ctx, "x:1:"+strconv.Itoa(i), 0, change{status: protocol.GlobalCommitted}); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if s.globalsPeak > 5000/4 || len(s.globals) != 1000 {
		t.Fatalf("peak %d, %d globals: not rebuilt", s.globalsPeak, len(s.globals))
	}
}

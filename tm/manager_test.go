package tm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// fakeTC is a coordinator in memory. fail, when set, may answer a request
// instead (returning a non-nil response or error).
type fakeTC struct {
	mu       sync.Mutex
	next     int
	status   map[string]protocol.GlobalStatus
	requests []protocol.Message
	fail     func(n int, req protocol.Message) (protocol.Message, error) // n counts requests of req's type
	counts   map[protocol.TypeCode]int
	// commitStatus, when set, is what commits report.
	commitStatus protocol.GlobalStatus
}

func newFakeTC() *fakeTC {
	return &fakeTC{status: map[string]protocol.GlobalStatus{}, counts: map[protocol.TypeCode]int{}}
}

func ok() protocol.Result { return protocol.Result{Code: protocol.ResultSuccess} }

func (f *fakeTC) Call(ctx context.Context, req protocol.Message) (protocol.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, req)
	f.counts[req.TypeCode()]++
	if f.fail != nil {
		if resp, err := f.fail(f.counts[req.TypeCode()], req); resp != nil || err != nil {
			return resp, err
		}
	}
	switch r := req.(type) {
	case *protocol.GlobalBeginRequest:
		f.next++
		xid := fmt.Sprintf("127.0.0.1:8091:%d", f.next)
		f.status[xid] = protocol.GlobalBegin
		return &protocol.GlobalBeginResponse{Result: ok(), XID: xid}, nil
	case *protocol.GlobalCommitRequest:
		st, known := f.status[r.XID]
		switch {
		case !known:
			st = protocol.GlobalFinished
		case st == protocol.GlobalBegin:
			st = protocol.GlobalCommitted
			if f.commitStatus != 0 {
				st = f.commitStatus
			}
			f.status[r.XID] = st
		}
		return &protocol.GlobalCommitResponse{Result: ok(), GlobalStatus: st}, nil
	case *protocol.GlobalRollbackRequest:
		st, known := f.status[r.XID]
		switch {
		case !known:
			st = protocol.GlobalFinished
		case st == protocol.GlobalBegin:
			st = protocol.GlobalRollbacked
			f.status[r.XID] = st
		}
		return &protocol.GlobalRollbackResponse{Result: ok(), GlobalStatus: st}, nil
	case *protocol.GlobalStatusRequest:
		st, known := f.status[r.XID]
		if !known {
			st = protocol.GlobalFinished
		}
		return &protocol.GlobalStatusResponse{Result: ok(), GlobalStatus: st}, nil
	}
	return nil, fmt.Errorf("fakeTC: unexpected %T", req)
}

func (f *fakeTC) count(t protocol.TypeCode) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[t]
}

// errTransient is what the test managers treat as retryable for an
// idempotent request; errUnsent for any request (Begin is never retried).
var (
	errTransient = errors.New("transient")
	errUnsent    = errors.New("not sent")
)

func newTestManager(f *fakeTC) *Manager {
	m := NewManager(f, Config{RetryBackoff: time.Millisecond})
	m.retryable = func(err error, idempotent bool) bool {
		return errors.Is(err, errUnsent) || (idempotent && errors.Is(err, errTransient))
	}
	return m
}

func TestPropagation(t *testing.T) {
	const outer = "127.0.0.1:8091:999"
	cases := []struct {
		p        Propagation
		inTx     bool
		role     Role
		ctxXID   string // "" for none, "new" for a fresh one
		err      error
		begins   int
		commitRq int // GlobalCommit requests that Commit sends
	}{
		{Required, false, RoleLauncher, "new", nil, 1, 1},
		{Required, true, RoleParticipant, outer, nil, 0, 0},
		{RequiresNew, false, RoleLauncher, "new", nil, 1, 1},
		{RequiresNew, true, RoleLauncher, "new", nil, 1, 1},
		{NotSupported, false, RoleNone, "", nil, 0, 0},
		{NotSupported, true, RoleNone, "", nil, 0, 0},
		{Supports, false, RoleNone, "", nil, 0, 0},
		{Supports, true, RoleParticipant, outer, nil, 0, 0},
		{Never, false, RoleNone, "", nil, 0, 0},
		{Never, true, 0, "", ErrExistingTx, 0, 0},
		{Mandatory, false, 0, "", ErrNoTx, 0, 0},
		{Mandatory, true, RoleParticipant, outer, nil, 0, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/inTx=%v", c.p, c.inTx), func(t *testing.T) {
			f := newFakeTC()
			m := newTestManager(f)
			ctx := context.Background()
			if c.inTx {
				ctx = WithXID(ctx, outer)
			}
			txCtx, tx, err := m.Begin(ctx, TxOptions{Propagation: c.p})
			if c.err != nil {
				if !errors.Is(err, c.err) || tx != nil || txCtx != ctx {
					t.Fatalf("Begin = %v, %v; want %v, nil and ctx unchanged", tx, err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tx.Role() != c.role {
				t.Fatalf("role %v, want %v", tx.Role(), c.role)
			}
			got, _ := XID(txCtx)
			switch c.ctxXID {
			case "new":
				if got == "" || got == outer || got != tx.XID() {
					t.Fatalf("ctx XID %q, tx XID %q: want a new one", got, tx.XID())
				}
			default:
				if got != c.ctxXID || tx.XID() != c.ctxXID {
					t.Fatalf("ctx XID %q, tx XID %q: want %q", got, tx.XID(), c.ctxXID)
				}
			}
			// Suspension never touches the caller's context.
			if x, _ := XID(ctx); c.inTx && x != outer {
				t.Fatalf("caller's context lost its XID: %q", x)
			}
			if n := f.count(protocol.TypeGlobalBegin); n != c.begins {
				t.Fatalf("%d GlobalBegin, want %d", n, c.begins)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if n := f.count(protocol.TypeGlobalCommit); n != c.commitRq {
				t.Fatalf("%d GlobalCommit, want %d", n, c.commitRq)
			}
			if f.count(protocol.TypeGlobalRollback) != 0 {
				t.Fatal("rollback sent")
			}
		})
	}
}

func TestRequiresNewSuspendsAndResumes(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	outerCtx, outer, err := m.Begin(context.Background(), TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = m.WithGlobalTx(outerCtx, TxOptions{Propagation: RequiresNew}, func(ctx context.Context) error {
		x, _ := XID(ctx)
		if x == outer.XID() {
			t.Error("inner transaction runs under the outer XID")
		}
		return errors.New("inner fails")
	})
	if err == nil {
		t.Fatal("inner error lost")
	}
	if x, _ := XID(outerCtx); x != outer.XID() {
		t.Fatalf("outer context now carries %q", x)
	}
	if err := outer.Commit(outerCtx); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status[outer.XID()] != protocol.GlobalCommitted || f.status["127.0.0.1:8091:2"] != protocol.GlobalRollbacked {
		t.Fatalf("statuses %v", f.status)
	}
}

func TestCommitAndRollbackStatuses(t *testing.T) {
	commitOK := map[protocol.GlobalStatus]bool{
		protocol.GlobalCommitted: true, protocol.GlobalAsyncCommitting: true,
		protocol.GlobalCommitting: true, protocol.GlobalCommitRetrying: true,
	}
	rollbackOK := map[protocol.GlobalStatus]bool{
		protocol.GlobalRollbacked: true, protocol.GlobalRollbacking: true, protocol.GlobalRollbackRetrying: true,
		protocol.GlobalTimeoutRollbacked: true, protocol.GlobalTimeoutRollbacking: true,
		protocol.GlobalTimeoutRollbackRetrying: true,
	}
	for st := protocol.GlobalUnknown; st <= protocol.GlobalRollbackRetryTimeout; st++ {
		for _, commit := range []bool{true, false} {
			f := newFakeTC()
			f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
				switch req.(type) {
				case *protocol.GlobalCommitRequest:
					return &protocol.GlobalCommitResponse{Result: ok(), GlobalStatus: st}, nil
				case *protocol.GlobalRollbackRequest:
					return &protocol.GlobalRollbackResponse{Result: ok(), GlobalStatus: st}, nil
				}
				return nil, nil
			}
			m := newTestManager(f)
			ctx, tx, err := m.Begin(context.Background(), TxOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, wantOK := protocol.GlobalRollbacked, rollbackOK[st]
			if commit {
				err = tx.Commit(ctx)
				want, wantOK = protocol.GlobalCommitted, commitOK[st]
			} else {
				err = tx.Rollback(ctx)
			}
			if wantOK {
				if err != nil {
					t.Errorf("commit=%v, status %v: %v", commit, st, err)
				}
				continue
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Want != want || se.Got != st || se.XID != tx.XID() {
				t.Errorf("commit=%v, status %v: err %v, want a *StatusError", commit, st, err)
				continue
			}
			if commit && se.RolledBack() != rollbackOK[st] {
				t.Errorf("status %v: RolledBack() = %v", st, se.RolledBack())
			}
			// Issue 13: "asked Rollbacked, coordinator reports Finished"
			// must say that the outcome is unknown.
			unknown := st == protocol.GlobalFinished || st == protocol.GlobalUnknown || st == protocol.GlobalCommitFailed ||
				st == protocol.GlobalRollbackFailed || st == protocol.GlobalTimeoutRollbackFailed ||
				st == protocol.GlobalCommitRetryTimeout || st == protocol.GlobalRollbackRetryTimeout
			if errors.Is(err, ErrOutcomeUnknown) != unknown || se.NeedsAttention() != unknown ||
				strings.Contains(err.Error(), "outcome unknown") != unknown || strings.Contains(err.Error(), "need attention") != unknown {
				t.Errorf("commit=%v, status %v: %v: want outcome unknown = %v", commit, st, err, unknown)
			}
		}
	}
}

func TestTimeoutRollbackReachesTheCaller(t *testing.T) {
	f := newFakeTC()
	f.commitStatus = protocol.GlobalTimeoutRollbacked
	m := newTestManager(f)
	err := m.WithGlobalTx(context.Background(), TxOptions{}, func(context.Context) error { return nil })
	var se *StatusError
	if !errors.As(err, &se) || se.Got != protocol.GlobalTimeoutRollbacked || !se.RolledBack() {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "TimeoutRollbacked") {
		t.Fatalf("message %q", err)
	}
}

func TestEndsOnce(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	ctx, tx, err := m.Begin(context.Background(), TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback after Commit: %v", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, ErrTxDone) {
		t.Fatalf("second Commit: %v", err)
	}
	if f.count(protocol.TypeGlobalRollback) != 0 || f.count(protocol.TypeGlobalCommit) != 1 {
		t.Fatal("requests after the end")
	}
	if st, err := tx.Status(ctx); err != nil || st != protocol.GlobalCommitted {
		t.Fatalf("Status after Commit: %v, %v", st, err)
	}

	ctx, tx, err = m.Begin(context.Background(), TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); !errors.Is(err, ErrTxDone) {
		t.Fatalf("second Rollback: %v", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, ErrTxDone) {
		t.Fatalf("Commit after Rollback: %v", err)
	}

	// A participant ends once too, and never calls the coordinator.
	ptx := m.participant("127.0.0.1:8091:77")
	if err := ptx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ptx.Commit(ctx); !errors.Is(err, ErrTxDone) {
		t.Fatalf("participant Commit after Rollback: %v", err)
	}
	if _, err := m.none().Status(ctx); !errors.Is(err, ErrNoTx) {
		t.Fatalf("Status without a transaction: %v", err)
	}
	if n := len(f.requests); n != 5 { // begin, commit, status, begin, rollback
		t.Fatalf("%d requests", n)
	}
}

func TestConcurrentEnd(t *testing.T) {
	for range 50 {
		f := newFakeTC()
		m := newTestManager(f)
		ctx, tx, err := m.Begin(context.Background(), TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() {
				if i%2 == 0 {
					errs[i] = tx.Commit(ctx)
				} else {
					errs[i] = tx.Rollback(ctx)
				}
			})
		}
		wg.Wait()
		if n := f.count(protocol.TypeGlobalCommit) + f.count(protocol.TypeGlobalRollback); n != 1 {
			t.Fatalf("%d end requests", n)
		}
	}
}

func TestRetry(t *testing.T) {
	t.Run("commit retried on transient errors", func(t *testing.T) {
		f := newFakeTC()
		f.fail = func(n int, req protocol.Message) (protocol.Message, error) {
			if _, isCommit := req.(*protocol.GlobalCommitRequest); isCommit && n <= 3 {
				return nil, errTransient
			}
			return nil, nil
		}
		m := newTestManager(f)
		ctx, tx, err := m.Begin(context.Background(), TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if n := f.count(protocol.TypeGlobalCommit); n != 4 {
			t.Fatalf("%d commits", n)
		}
	})
	t.Run("retries are bounded", func(t *testing.T) {
		f := newFakeTC()
		f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
			if _, isBegin := req.(*protocol.GlobalBeginRequest); !isBegin {
				return nil, errTransient
			}
			return nil, nil
		}
		m := NewManager(f, Config{RetryBackoff: time.Millisecond, CommitRetries: 2, RollbackRetries: -1})
		m.retryable = func(error, bool) bool { return true }
		ctx, tx, err := m.Begin(context.Background(), TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); !errors.Is(err, errTransient) {
			t.Fatalf("commit: %v", err)
		}
		if n := f.count(protocol.TypeGlobalCommit); n != 3 {
			t.Fatalf("%d commits, want 3", n)
		}
		ctx, tx, _ = m.Begin(context.Background(), TxOptions{})
		if err := tx.Rollback(ctx); !errors.Is(err, errTransient) {
			t.Fatalf("rollback: %v", err)
		}
		if n := f.count(protocol.TypeGlobalRollback); n != 1 {
			t.Fatalf("%d rollbacks, want 1 (retries disabled)", n)
		}
	})
	t.Run("not retried on definite errors", func(t *testing.T) {
		f := newFakeTC()
		errDefinite := errors.New("definite")
		f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
			if _, isRollback := req.(*protocol.GlobalRollbackRequest); isRollback {
				return nil, errDefinite
			}
			return nil, nil
		}
		m := newTestManager(f)
		ctx, tx, _ := m.Begin(context.Background(), TxOptions{})
		if err := tx.Rollback(ctx); !errors.Is(err, errDefinite) {
			t.Fatal(err)
		}
		if n := f.count(protocol.TypeGlobalRollback); n != 1 {
			t.Fatalf("%d rollbacks", n)
		}
	})
	t.Run("failed result is an error", func(t *testing.T) {
		f := newFakeTC()
		f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
			if _, isCommit := req.(*protocol.GlobalCommitRequest); isCommit {
				return &protocol.GlobalCommitResponse{Result: protocol.Result{Code: protocol.ResultFailed,
					ExceptionCode: protocol.CodeGlobalTransactionNotActive, Msg: "not active"}}, nil
			}
			return nil, nil
		}
		m := newTestManager(f)
		ctx, tx, _ := m.Begin(context.Background(), TxOptions{})
		if err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "not active") {
			t.Fatal(err)
		}
	})
	t.Run("begin is sent once", func(t *testing.T) {
		// Issue 13: a begin retried five times at 30 s each kept a caller
		// waiting 3 minutes with no coordinator up.
		for _, c := range []struct {
			err   error
			begin int
		}{{errUnsent, 1}, {errTransient, 1}} {
			f := newFakeTC()
			f.fail = func(n int, req protocol.Message) (protocol.Message, error) {
				if _, isBegin := req.(*protocol.GlobalBeginRequest); isBegin && n <= 2 {
					return nil, c.err
				}
				return nil, nil
			}
			m := newTestManager(f)
			ctx := context.Background()
			txCtx, tx, err := m.Begin(ctx, TxOptions{})
			if c.begin == 1 {
				if !errors.Is(err, c.err) || tx != nil || txCtx != ctx {
					t.Fatalf("%v: Begin = %v, %v", c.err, tx, err)
				}
			} else if err != nil {
				t.Fatalf("%v: %v", c.err, err)
			}
			if n := f.count(protocol.TypeGlobalBegin); n != c.begin {
				t.Fatalf("%v: %d begins, want %d", c.err, n, c.begin)
			}
		}
	})
	t.Run("backoff stops when the context ends", func(t *testing.T) {
		f := newFakeTC()
		f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
			if _, isCommit := req.(*protocol.GlobalCommitRequest); isCommit {
				return nil, errTransient
			}
			return nil, nil
		}
		m := NewManager(f, Config{RetryBackoff: time.Hour})
		m.retryable = func(error, bool) bool { return true }
		_, tx, _ := m.Begin(context.Background(), TxOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := tx.Commit(ctx); !errors.Is(err, errTransient) {
			t.Fatal(err)
		}
		if n := f.count(protocol.TypeGlobalCommit); n != 1 {
			t.Fatalf("%d commits", n)
		}
	})
}

func TestBeginOptions(t *testing.T) {
	f := newFakeTC()
	m := NewManager(f, Config{DefaultTimeout: 3 * time.Second})
	ctx := context.Background()
	for name, opts := range map[string]TxOptions{
		"negative timeout": {Timeout: -time.Second},
		"huge timeout":     {Timeout: 1 << 31 * time.Millisecond},
		"propagation":      {Propagation: Mandatory + 1},
		"long name":        {Name: strings.Repeat("n", 1<<15)},
	} {
		if _, _, err := m.Begin(ctx, opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(f.requests) != 0 {
		t.Fatal("invalid options sent")
	}
	for _, c := range []struct {
		opts TxOptions
		ms   int32
		name string
	}{
		{TxOptions{}, 3000, "default"},
		{TxOptions{Name: "purchase", Timeout: 1500 * time.Microsecond}, 2, "purchase"},
		{TxOptions{Timeout: (1<<31 - 1) * time.Millisecond}, 1<<31 - 1, "default"},
	} {
		if _, _, err := m.Begin(ctx, c.opts); err != nil {
			t.Fatal(err)
		}
		r := f.requests[len(f.requests)-1].(*protocol.GlobalBeginRequest)
		if r.TimeoutMillis != c.ms || r.TransactionName != c.name {
			t.Errorf("%+v sent as %+v", c.opts, r)
		}
	}

	f.fail = func(int, protocol.Message) (protocol.Message, error) {
		return &protocol.GlobalBeginResponse{Result: ok(), XID: "bad xid"}, nil
	}
	if _, _, err := m.Begin(ctx, TxOptions{}); !errors.Is(err, ErrInvalidXID) {
		t.Fatalf("invalid XID: %v", err)
	}
	f.fail = func(int, protocol.Message) (protocol.Message, error) {
		return &protocol.GlobalStatusResponse{Result: ok()}, nil
	}
	if _, _, err := m.Begin(ctx, TxOptions{}); err == nil {
		t.Fatal("wrong response type accepted")
	}
}

func TestWithGlobalTx(t *testing.T) {
	errFn := errors.New("business failed")
	t.Run("commit on nil", func(t *testing.T) {
		f := newFakeTC()
		m := newTestManager(f)
		var seen string
		err := m.WithGlobalTx(context.Background(), TxOptions{}, func(ctx context.Context) error {
			seen, _ = XID(ctx)
			return nil
		})
		if err != nil || seen == "" || f.status[seen] != protocol.GlobalCommitted {
			t.Fatalf("err %v, xid %q, status %v", err, seen, f.status[seen])
		}
	})
	t.Run("rollback on error", func(t *testing.T) {
		f := newFakeTC()
		m := newTestManager(f)
		err := m.WithGlobalTx(context.Background(), TxOptions{}, func(context.Context) error { return errFn })
		if err != errFn {
			t.Fatalf("err %v, want fn's error as is", err)
		}
		if f.status["127.0.0.1:8091:1"] != protocol.GlobalRollbacked {
			t.Fatal("not rolled back")
		}
	})
	t.Run("rollback failure is joined", func(t *testing.T) {
		f := newFakeTC()
		errRB := errors.New("rollback failed")
		f.fail = func(_ int, req protocol.Message) (protocol.Message, error) {
			if _, isRollback := req.(*protocol.GlobalRollbackRequest); isRollback {
				return nil, errRB
			}
			return nil, nil
		}
		m := newTestManager(f)
		err := m.WithGlobalTx(context.Background(), TxOptions{}, func(context.Context) error { return errFn })
		if !errors.Is(err, errFn) || !errors.Is(err, errRB) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("rollback on panic, then the panic goes on", func(t *testing.T) {
		f := newFakeTC()
		m := newTestManager(f)
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v", p)
			}
			if f.status["127.0.0.1:8091:1"] != protocol.GlobalRollbacked {
				t.Fatal("not rolled back")
			}
		}()
		_ = m.WithGlobalTx(context.Background(), TxOptions{}, func(context.Context) error { panic("boom") })
		t.Fatal("the panic was swallowed")
	})
	t.Run("rollback despite a canceled context", func(t *testing.T) {
		f := newFakeTC()
		m := newTestManager(f)
		ctx, cancel := context.WithCancel(context.Background())
		err := m.WithGlobalTx(ctx, TxOptions{}, func(ctx context.Context) error {
			cancel()
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if f.status["127.0.0.1:8091:1"] != protocol.GlobalRollbacked {
			t.Fatal("not rolled back")
		}
	})
	t.Run("participant leaves the end to the launcher", func(t *testing.T) {
		f := newFakeTC()
		m := newTestManager(f)
		ctx := WithXID(context.Background(), "127.0.0.1:8091:5")
		if err := m.WithGlobalTx(ctx, TxOptions{}, func(context.Context) error { return errFn }); err != errFn {
			t.Fatal(err)
		}
		if err := m.WithGlobalTx(ctx, TxOptions{}, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if len(f.requests) != 0 {
			t.Fatalf("a participant sent %d requests", len(f.requests))
		}
	})
	t.Run("begin failure", func(t *testing.T) {
		f := newFakeTC()
		f.fail = func(int, protocol.Message) (protocol.Message, error) { return nil, errTransient }
		m := newTestManager(f)
		called := false
		err := m.WithGlobalTx(context.Background(), TxOptions{}, func(context.Context) error { called = true; return nil })
		if !errors.Is(err, errTransient) || called {
			t.Fatalf("err %v, fn called %v", err, called)
		}
	})
}

// BenchmarkBeginCommit measures the Manager's own cost of a launcher's
// begin and commit, with a coordinator that answers at once.
func BenchmarkBeginCommit(b *testing.B) {
	m := NewManager(instantTC{}, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		txCtx, tx, err := m.Begin(ctx, TxOptions{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(txCtx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWithGlobalTxParticipant measures joining an upstream
// transaction, which sends nothing.
func BenchmarkWithGlobalTxParticipant(b *testing.B) {
	m := NewManager(instantTC{}, Config{})
	ctx := WithXID(context.Background(), "127.0.0.1:8091:1")
	fn := func(context.Context) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := m.WithGlobalTx(ctx, TxOptions{}, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// instantTC answers begin and commit without bookkeeping.
type instantTC struct{}

var (
	beginResp  = &protocol.GlobalBeginResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, XID: "127.0.0.1:8091:1"}
	commitResp = &protocol.GlobalCommitResponse{Result: protocol.Result{Code: protocol.ResultSuccess}, GlobalStatus: protocol.GlobalCommitted}
)

func (instantTC) Call(_ context.Context, req protocol.Message) (protocol.Message, error) {
	if _, ok := req.(*protocol.GlobalBeginRequest); ok {
		return beginResp, nil
	}
	return commitResp, nil
}

package tm

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// conflictErr is an application's error that asks for another attempt by
// matching ErrConflict; attempt says which attempt of fn returned it.
type conflictErr struct{ attempt int }

func (e *conflictErr) Error() string        { return fmt.Sprintf("conflict in attempt %d", e.attempt) }
func (e *conflictErr) Is(target error) bool { return target == ErrConflict }

// conflict returns attempt's conflict, wrapped as fn would return it.
func conflict(attempt int) error {
	return fmt.Errorf("update stock: %w", &conflictErr{attempt: attempt})
}

// recorder is a fn for WithGlobalTx that records the XID of every attempt
// and returns what answer says for it (attempts count from 1).
type recorder struct {
	xids   []string
	answer func(attempt int) error
}

func (r *recorder) fn(ctx context.Context) error {
	xid, _ := XID(ctx)
	r.xids = append(r.xids, xid)
	return r.answer(len(r.xids))
}

// alwaysConflicting returns a recorder whose every attempt conflicts.
func alwaysConflicting() *recorder {
	return &recorder{answer: conflict}
}

// wantRequests checks how many requests of each kind f received.
func wantRequests(t *testing.T, f *fakeTC, begins, commits, rollbacks int) {
	t.Helper()
	if b, c, r := f.count(protocol.TypeGlobalBegin), f.count(protocol.TypeGlobalCommit), f.count(protocol.TypeGlobalRollback); b != begins || c != commits || r != rollbacks {
		t.Fatalf("%d GlobalBegin, %d GlobalCommit, %d GlobalRollback; want %d, %d, %d", b, c, r, begins, commits, rollbacks)
	}
}

// wantNotRetried checks that err is fn's single attempt's outcome, not a
// *ConflictError.
func wantNotRetried(t *testing.T, err error, r *recorder) {
	t.Helper()
	var ce *ConflictError
	if errors.As(err, &ce) {
		t.Fatalf("err %v is a *ConflictError", err)
	}
	if len(r.xids) != 1 {
		t.Fatalf("fn ran %d times, want once", len(r.xids))
	}
}

func TestConflictRetriedToSuccess(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	r := &recorder{answer: func(attempt int) error {
		if attempt <= 2 {
			return conflict(attempt)
		}
		return nil
	}}
	if err := m.WithGlobalTx(context.Background(), TxOptions{}, r.fn); err != nil {
		t.Fatal(err)
	}
	if len(r.xids) != 3 {
		t.Fatalf("fn ran %d times, want 3", len(r.xids))
	}
	seen := map[string]bool{}
	for _, xid := range r.xids {
		if xid == "" || seen[xid] {
			t.Fatalf("XIDs of the attempts %q: want 3 distinct ones", r.xids)
		}
		seen[xid] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []protocol.GlobalStatus{protocol.GlobalRollbacked, protocol.GlobalRollbacked, protocol.GlobalCommitted}
	for i, xid := range r.xids {
		if f.status[xid] != want[i] {
			t.Errorf("attempt %d (%s) ended %v, want %v", i+1, xid, f.status[xid], want[i])
		}
	}
	if f.counts[protocol.TypeGlobalBegin] != 3 || f.counts[protocol.TypeGlobalRollback] != 2 || f.counts[protocol.TypeGlobalCommit] != 1 {
		t.Fatalf("requests %v", f.counts)
	}
}

func TestConflictRetriesOff(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	var returned error
	r := &recorder{answer: func(attempt int) error {
		returned = conflict(attempt)
		return returned
	}}
	err := m.WithGlobalTx(context.Background(), TxOptions{ConflictRetries: -1}, r.fn)
	if err != returned {
		t.Fatalf("err %v, want fn's conflict unchanged", err)
	}
	wantNotRetried(t, err, r)
	wantRequests(t, f, 1, 0, 1)
}

func TestConflictRetriesExhausted(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	r := alwaysConflicting()
	err := m.WithGlobalTx(context.Background(), TxOptions{ConflictRetries: 2}, r.fn)
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *ConflictError", err)
	}
	if ce.Attempts != 3 || len(r.xids) != 3 {
		t.Fatalf("Attempts %d, fn ran %d times; want 3", ce.Attempts, len(r.xids))
	}
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err %v does not match ErrConflict", err)
	}
	var last *conflictErr
	if !errors.As(err, &last) || last.attempt != 3 {
		t.Fatalf("err %v unwraps to %v, want the last attempt's conflict", err, last)
	}
	wantRequests(t, f, 3, 0, 3)
}

func TestConflictRetriesDefault(t *testing.T) {
	// The pauses add up to at most 4+8+...+128+4*250 ms = 1.25 s.
	f := newFakeTC()
	m := newTestManager(f)
	r := alwaysConflicting()
	start := time.Now()
	err := m.WithGlobalTx(context.Background(), TxOptions{}, r.fn)
	t.Logf("%d attempts in %v", len(r.xids), time.Since(start))
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Attempts != DefaultConflictRetries+1 || len(r.xids) != DefaultConflictRetries+1 {
		t.Fatalf("err %v after %d attempts, want a *ConflictError after %d", err, len(r.xids), DefaultConflictRetries+1)
	}
	wantRequests(t, f, DefaultConflictRetries+1, 0, DefaultConflictRetries+1)
}

func TestConflictNotRetried(t *testing.T) {
	errFn := errors.New("out of stock")
	errRB := errors.New("rollback refused")
	outer := "127.0.0.1:8091:900"
	cases := []struct {
		name string
		ctx  context.Context
		fail func(req protocol.Message) (protocol.Message, error) // for f.fail
		fn   func(attempt int) error
		// requests sent
		begins, commits, rollbacks int
		check                      func(t *testing.T, err error)
	}{
		{
			name:   "error other than a conflict",
			fn:     func(int) error { return errFn },
			begins: 1, rollbacks: 1,
			check: func(t *testing.T, err error) {
				if err != errFn {
					t.Fatalf("err %v, want fn's error as is", err)
				}
			},
		},
		{
			name: "participant",
			ctx:  WithXID(context.Background(), outer),
			fn:   conflict,
			check: func(t *testing.T, err error) {
				var c *conflictErr
				if !errors.As(err, &c) || c.attempt != 1 || err.Error() != conflict(1).Error() {
					t.Fatalf("err %v, want fn's conflict", err)
				}
			},
		},
		{
			name: "rollback error",
			fail: func(req protocol.Message) (protocol.Message, error) {
				if _, isRollback := req.(*protocol.GlobalRollbackRequest); isRollback {
					return nil, errRB
				}
				return nil, nil
			},
			fn:     conflict,
			begins: 1, rollbacks: 1,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrConflict) || !errors.Is(err, errRB) {
					t.Fatalf("err %v, want fn's conflict joined with the rollback's error", err)
				}
			},
		},
		{
			name: "rollback failed at the coordinator",
			fail: func(req protocol.Message) (protocol.Message, error) {
				if _, isRollback := req.(*protocol.GlobalRollbackRequest); isRollback {
					return &protocol.GlobalRollbackResponse{Result: ok(), GlobalStatus: protocol.GlobalRollbackFailed}, nil
				}
				return nil, nil
			},
			fn:     conflict,
			begins: 1, rollbacks: 1,
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.Is(err, ErrConflict) || !errors.As(err, &se) || se.Got != protocol.GlobalRollbackFailed {
					t.Fatalf("err %v, want fn's conflict joined with a RollbackFailed *StatusError", err)
				}
			},
		},
		{
			// A commit's error never asks for another attempt, even one
			// that matches ErrConflict: the commit may have reached the
			// coordinator.
			name: "commit error",
			fail: func(req protocol.Message) (protocol.Message, error) {
				if _, isCommit := req.(*protocol.GlobalCommitRequest); isCommit {
					return nil, conflict(1)
				}
				return nil, nil
			},
			fn:     func(int) error { return nil },
			begins: 1, commits: 1,
			check: func(t *testing.T, err error) {
				var c *conflictErr
				if !errors.As(err, &c) {
					t.Fatalf("err %v, want the commit's error", err)
				}
			},
		},
		{
			name: "commit rolled back at the coordinator",
			fail: func(req protocol.Message) (protocol.Message, error) {
				if _, isCommit := req.(*protocol.GlobalCommitRequest); isCommit {
					return &protocol.GlobalCommitResponse{Result: ok(), GlobalStatus: protocol.GlobalTimeoutRollbacked}, nil
				}
				return nil, nil
			},
			fn:     func(int) error { return nil },
			begins: 1, commits: 1,
			check: func(t *testing.T, err error) {
				var se *StatusError
				if !errors.As(err, &se) || se.Got != protocol.GlobalTimeoutRollbacked {
					t.Fatalf("err %v, want a TimeoutRollbacked *StatusError", err)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeTC()
			if c.fail != nil {
				f.fail = func(_ int, req protocol.Message) (protocol.Message, error) { return c.fail(req) }
			}
			m := newTestManager(f)
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			r := &recorder{answer: c.fn}
			err := m.WithGlobalTx(ctx, TxOptions{ConflictRetries: 3}, r.fn)
			wantNotRetried(t, err, r)
			c.check(t, err)
			wantRequests(t, f, c.begins, c.commits, c.rollbacks)
			if c.ctx != nil && r.xids[0] != outer {
				t.Fatalf("participant ran in %q, want %q", r.xids[0], outer)
			}
		})
	}
}

func TestConflictContextCanceledBetweenAttempts(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &recorder{answer: func(attempt int) error {
		if attempt == 2 {
			cancel()
		}
		return conflict(attempt)
	}}
	err := m.WithGlobalTx(ctx, TxOptions{ConflictRetries: 5}, r.fn)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Attempts != 2 || len(r.xids) != 2 {
		t.Fatalf("err %v after %d attempts, want a *ConflictError after 2", err, len(r.xids))
	}
	var last *conflictErr
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrConflict) || !errors.As(err, &last) || last.attempt != 2 {
		t.Fatalf("err %v, want the second attempt's conflict and context.Canceled", err)
	}
	// The rollback of the attempt during which ctx ended still ran.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status[r.xids[1]] != protocol.GlobalRollbacked {
		t.Fatalf("attempt 2 ended %v, want Rollbacked", f.status[r.xids[1]])
	}
	if f.counts[protocol.TypeGlobalBegin] != 2 || f.counts[protocol.TypeGlobalRollback] != 2 {
		t.Fatalf("requests %v", f.counts)
	}
}

func TestConflictThenPanic(t *testing.T) {
	f := newFakeTC()
	m := newTestManager(f)
	r := &recorder{answer: func(attempt int) error {
		if attempt == 2 {
			panic("boom")
		}
		return conflict(attempt)
	}}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want the panic of fn", p)
		}
		if len(r.xids) != 2 {
			t.Fatalf("fn ran %d times, want 2", len(r.xids))
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, xid := range r.xids {
			if f.status[xid] != protocol.GlobalRollbacked {
				t.Errorf("attempt %d (%s) ended %v, want Rollbacked", i+1, xid, f.status[xid])
			}
		}
		if f.counts[protocol.TypeGlobalBegin] != 2 || f.counts[protocol.TypeGlobalRollback] != 2 || f.counts[protocol.TypeGlobalCommit] != 0 {
			t.Fatalf("requests %v", f.counts)
		}
	}()
	_ = m.WithGlobalTx(context.Background(), TxOptions{}, r.fn)
	t.Fatal("the panic was swallowed")
}

func TestConflictPause(t *testing.T) {
	const samples = 2000
	for _, c := range []struct {
		retry int
		limit time.Duration
	}{
		{0, 4 * time.Millisecond},
		{1, 4 * time.Millisecond},
		{2, 8 * time.Millisecond},
		{3, 16 * time.Millisecond},
		{6, 128 * time.Millisecond},
		{7, 250 * time.Millisecond},
		{10, 250 * time.Millisecond},
		{1000, 250 * time.Millisecond},
	} {
		var lo, hi time.Duration = c.limit, 0
		for range samples {
			p := conflictPause(c.retry)
			if p <= 0 || p > c.limit {
				t.Fatalf("retry %d: pause %v, want in (0, %v]", c.retry, p, c.limit)
			}
			lo, hi = min(lo, p), max(hi, p)
		}
		// Full jitter: the pauses spread over the whole range. The chance
		// that 2000 uniform draws all miss a quarter of it is 0.75^2000.
		if lo > c.limit/4 || hi < c.limit*3/4 {
			t.Errorf("retry %d: pauses in [%v, %v], want them spread over (0, %v]", c.retry, lo, hi, c.limit)
		}
	}
}

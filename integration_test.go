package atcc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/internal/testlog"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/tm/grpcxid"
	"github.com/atcc-go/atcc/tm/httpxid"
)

// startTC runs an embedded coordinator on addr ("127.0.0.1:0" for any
// port) with short retry intervals, closed when the test ends.
func startTC(t *testing.T, addr string, cfg tc.Config) *tc.Server {
	t.Helper()
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 20 * time.Millisecond
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 100 * time.Millisecond
	}
	srv, err := tc.New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Start(t.Context(), addr))
	t.Cleanup(func() { srv.Close() })
	return srv
}

// newClient returns a client of the coordinator at addr, closed when the
// test ends, logging into logs when not nil.
func newClient(t *testing.T, addr, app string, logs io.Writer) *atcc.Client {
	t.Helper()
	cfg := atcc.Config{
		ApplicationID:  app,
		Coordinators:   []string{addr},
		RetryBackoff:   10 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
		HandlerTimeout: 5 * time.Second,
	}
	if logs != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := atcc.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// call is one phase-two call a recorder saw.
type call struct {
	commit   bool
	xid      string
	branchID int64
}

// recorder is a TCC resource that records its phase-two calls. fail, when
// set, runs first and may fail or panic.
type recorder struct {
	id   string
	mu   sync.Mutex
	seen []call
	got  chan call
	fail func(c call, attempt int) (protocol.BranchStatus, error)
}

func newRecorder(id string) *recorder {
	return &recorder{id: id, got: make(chan call, 64)}
}

func (r *recorder) ResourceID() string              { return r.id }
func (r *recorder) BranchType() protocol.BranchType { return protocol.BranchTCC }

func (r *recorder) record(c call) (protocol.BranchStatus, error) {
	r.mu.Lock()
	r.seen = append(r.seen, c)
	attempt := len(r.seen)
	r.mu.Unlock()
	r.got <- c
	if r.fail != nil {
		if st, err := r.fail(c, attempt); st != 0 || err != nil {
			return st, err
		}
	}
	if c.commit {
		return protocol.PhaseTwoCommitted, nil
	}
	return protocol.PhaseTwoRollbacked, nil
}

func (r *recorder) BranchCommit(_ context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	return r.record(call{true, b.XID, b.BranchID})
}

func (r *recorder) BranchRollback(_ context.Context, b rm.BranchRequest) (protocol.BranchStatus, error) {
	return r.record(call{false, b.XID, b.BranchID})
}

// next waits for the recorder's next phase-two call.
func (r *recorder) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-r.got:
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no phase-two call", r.id)
		return call{}
	}
}

// none checks that r got no phase-two call beyond those taken with next.
// Rather than wait a while for nothing, it rolls back a probe transaction
// with a branch on r through c, the client r is registered with: the
// probe's rollback reaches r before Rollback returns, so any call that
// comes before it in r's queue is one too many.
func (r *recorder) none(t *testing.T, c *atcc.Client) {
	t.Helper()
	ctx, tx, err := c.TM().Begin(t.Context(), tm.TxOptions{Name: "probe"})
	require.NoError(t, err)
	id, err := c.RM().BranchRegister(ctx, rm.Branch{XID: tx.XID(), BranchType: protocol.BranchTCC, ResourceID: r.id})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	if got := r.next(t); got != (call{false, tx.XID(), id}) {
		t.Fatalf("%s: unexpected phase-two call %+v", r.id, got)
	}
}

// branch registers a branch of the transaction ctx carries on r.
func branch(t *testing.T, c *atcc.Client, ctx context.Context, r *recorder) int64 {
	t.Helper()
	xid, ok := tm.XID(ctx)
	require.True(t, ok, "no XID in the context")
	id, err := c.RM().BranchRegister(ctx, rm.Branch{XID: xid, BranchType: protocol.BranchTCC, ResourceID: r.id})
	require.NoError(t, err)
	return id
}

func TestBeginCommitRollback(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	c := newClient(t, srv.Addr().String(), "app", nil)
	res := newRecorder("res")
	ctx := t.Context()
	require.NoError(t, c.Ping(ctx))
	require.NoError(t, c.RM().Register(ctx, res))

	txCtx, tx, err := c.TM().Begin(ctx, tm.TxOptions{Name: "commit-me"})
	require.NoError(t, err)
	require.Equal(t, tm.RoleLauncher, tx.Role())
	st, err := tx.Status(txCtx)
	require.NoError(t, err)
	require.Equal(t, protocol.GlobalBegin, st)
	id := branch(t, c, txCtx, res)
	require.NoError(t, tx.Commit(txCtx))
	require.Equal(t, call{true, tx.XID(), id}, res.next(t))
	require.NoError(t, tx.Rollback(txCtx), "Rollback after Commit")
	require.ErrorIs(t, tx.Commit(txCtx), tm.ErrTxDone)
	st, err = tx.Status(txCtx)
	require.NoError(t, err)
	require.Equal(t, protocol.GlobalCommitted, st)

	txCtx, tx, err = c.TM().Begin(ctx, tm.TxOptions{Name: "roll-me-back"})
	require.NoError(t, err)
	id = branch(t, c, txCtx, res)
	require.NoError(t, tx.Rollback(txCtx))
	require.Equal(t, call{false, tx.XID(), id}, res.next(t))
	res.none(t, c)
}

func TestTimeoutRollbackIsReported(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	c := newClient(t, srv.Addr().String(), "app", nil)
	res := newRecorder("res")
	ctx := t.Context()
	require.NoError(t, c.RM().Register(ctx, res))

	var undone call
	// The branch registers within the timeout, even on a loaded machine.
	err := c.TM().WithGlobalTx(ctx, tm.TxOptions{Timeout: time.Second}, func(ctx context.Context) error {
		branch(t, c, ctx, res)
		undone = res.next(t) // outlive the transaction: the coordinator rolls it back
		return nil
	})
	require.False(t, undone.commit, "the branch must be rolled back")
	var se *tm.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, protocol.GlobalCommitted, se.Want)
	require.True(t, se.RolledBack(), "got %v", se.Got)
}

// TestPropagationModes runs every propagation mode against the coordinator,
// with and without an outer transaction, and checks which transaction the
// branches registered inside end up in.
func TestPropagationModes(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	c := newClient(t, srv.Addr().String(), "app", nil)
	ctx := t.Context()
	res := newRecorder("res")
	require.NoError(t, c.RM().Register(ctx, res))
	m := c.TM()

	// inner runs WithGlobalTx(p) and registers a branch when it runs in a
	// transaction; it returns the XID it ran under.
	inner := func(ctx context.Context, p tm.Propagation, fail bool) (string, error) {
		var xid string
		err := m.WithGlobalTx(ctx, tm.TxOptions{Propagation: p}, func(ctx context.Context) error {
			xid, _ = tm.XID(ctx)
			if xid != "" {
				branch(t, c, ctx, res)
			}
			if fail {
				return errors.New("inner failed")
			}
			return nil
		})
		return xid, err
	}

	t.Run("without an outer transaction", func(t *testing.T) {
		for _, p := range []tm.Propagation{tm.Required, tm.RequiresNew} {
			xid, err := inner(ctx, p, false)
			require.NoError(t, err)
			require.NotEmpty(t, xid, p)
			require.Equal(t, call{commit: true, xid: xid}, stripBranch(res.next(t)), p)
		}
		for _, p := range []tm.Propagation{tm.NotSupported, tm.Supports, tm.Never} {
			xid, err := inner(ctx, p, false)
			require.NoError(t, err)
			require.Empty(t, xid, p)
		}
		_, err := inner(ctx, tm.Mandatory, false)
		require.ErrorIs(t, err, tm.ErrNoTx)
		res.none(t, c)
	})

	t.Run("inside an outer transaction", func(t *testing.T) {
		outerCtx, outer, err := m.Begin(ctx, tm.TxOptions{Name: "outer"})
		require.NoError(t, err)

		// Joining modes run under the outer XID; their failure does not end
		// the outer transaction (the launcher decides).
		for _, p := range []tm.Propagation{tm.Required, tm.Supports, tm.Mandatory} {
			xid, err := inner(outerCtx, p, true)
			require.Error(t, err, p)
			require.Equal(t, outer.XID(), xid, p)
		}
		st, err := outer.Status(outerCtx)
		require.NoError(t, err)
		require.Equal(t, protocol.GlobalBegin, st, "a participant ended the transaction")

		// RequiresNew runs a transaction of its own, which commits while
		// the outer one goes on and rolls back later.
		newXID, err := inner(outerCtx, tm.RequiresNew, false)
		require.NoError(t, err)
		require.NotEqual(t, outer.XID(), newXID)
		require.Equal(t, call{commit: true, xid: newXID}, stripBranch(res.next(t)))
		resumed, _ := tm.XID(outerCtx)
		require.Equal(t, outer.XID(), resumed, "the outer transaction resumes with the caller's context")

		// NotSupported suspends: no XID inside.
		xid, err := inner(outerCtx, tm.NotSupported, false)
		require.NoError(t, err)
		require.Empty(t, xid)

		_, err = inner(outerCtx, tm.Never, false)
		require.ErrorIs(t, err, tm.ErrExistingTx)

		res.none(t, c)
		require.NoError(t, outer.Rollback(outerCtx))
		for range 3 { // the branches of Required, Supports and Mandatory
			require.Equal(t, call{commit: false, xid: outer.XID()}, stripBranch(res.next(t)))
		}
		res.none(t, c)
	})
}

func stripBranch(c call) call { c.branchID = 0; return c }

// TestXIDCrossesGRPCAndHTTP runs three services in the process, each with a
// client of its own (different application ids and resources): the
// launcher calls an inventory service over gRPC and a payment service over
// HTTP; both register branches under the XID they receive.
func TestXIDCrossesGRPCAndHTTP(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	addr := srv.Addr().String()
	ctx := t.Context()

	// inventory: gRPC (the health service stands in for a business API).
	invClient := newClient(t, addr, "inventory", nil)
	inv := newRecorder("inventory-db")
	require.NoError(t, invClient.RM().Register(ctx, inv))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gsrv := grpc.NewServer(grpc.ChainUnaryInterceptor(grpcxid.UnaryServerInterceptor()))
	healthpb.RegisterHealthServer(gsrv, &inventoryService{c: invClient, res: inv, t: t})
	go gsrv.Serve(lis)
	t.Cleanup(gsrv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcxid.UnaryClientInterceptor()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	invAPI := healthpb.NewHealthClient(conn)

	// payment: net/http.
	payClient := newClient(t, addr, "payment", nil)
	pay := newRecorder("payment-db")
	require.NoError(t, payClient.RM().Register(ctx, pay))
	hsrv := httptest.NewServer(httpxid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := payClient.TM().WithGlobalTx(r.Context(), tm.TxOptions{Propagation: tm.Mandatory}, func(ctx context.Context) error {
			xid, _ := tm.XID(ctx)
			_, err := payClient.RM().BranchRegister(ctx, rm.Branch{XID: xid, BranchType: protocol.BranchTCC, ResourceID: pay.id})
			if err != nil {
				return err
			}
			if r.URL.Query().Get("fail") != "" {
				return errors.New("card declined")
			}
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusPaymentRequired)
		}
	})))
	t.Cleanup(hsrv.Close)
	httpc := &http.Client{Transport: httpxid.Transport(nil)}

	// The launcher.
	shop := newClient(t, addr, "shop", nil)
	purchase := func(failPayment bool) (string, error) {
		var xid string
		err := shop.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "purchase"}, func(ctx context.Context) error {
			xid, _ = tm.XID(ctx)
			if _, err := invAPI.Check(ctx, &healthpb.HealthCheckRequest{Service: "reserve"}); err != nil {
				return err
			}
			url := hsrv.URL + "/pay"
			if failPayment {
				url += "?fail=1"
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
			if err != nil {
				return err
			}
			resp, err := httpc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				return fmt.Errorf("payment: %s", b)
			}
			return nil
		})
		return xid, err
	}

	xid, err := purchase(false)
	require.NoError(t, err)
	require.Equal(t, call{commit: true, xid: xid}, stripBranch(inv.next(t)))
	require.Equal(t, call{commit: true, xid: xid}, stripBranch(pay.next(t)))

	xid, err = purchase(true)
	require.ErrorContains(t, err, "card declined")
	require.Equal(t, call{commit: false, xid: xid}, stripBranch(inv.next(t)))
	require.Equal(t, call{commit: false, xid: xid}, stripBranch(pay.next(t)))
	inv.none(t, invClient)
	pay.none(t, payClient)
}

// inventoryService registers a branch under the caller's XID.
type inventoryService struct {
	healthpb.UnimplementedHealthServer
	c   *atcc.Client
	res *recorder
	t   *testing.T
}

func (s *inventoryService) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	err := s.c.TM().WithGlobalTx(ctx, tm.TxOptions{Propagation: tm.Mandatory}, func(ctx context.Context) error {
		xid, _ := tm.XID(ctx)
		_, err := s.c.RM().BranchRegister(ctx, rm.Branch{XID: xid, BranchType: protocol.BranchTCC, ResourceID: s.res.id})
		return err
	})
	if err != nil {
		return nil, status.Error(codes.Aborted, err.Error())
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// TestPanickingPhaseTwoHandler checks that a panic in BranchCommit is
// answered at once with a retryable failure (not left for the coordinator
// to time out), logged with its stack, and that the coordinator's retry
// then commits the branch.
func TestPanickingPhaseTwoHandler(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{BranchTimeout: time.Minute})
	logs := &testlog.Buffer{}
	c := newClient(t, srv.Addr().String(), "app", logs)
	ctx := t.Context()
	res := newRecorder("res")
	res.fail = func(_ call, attempt int) (protocol.BranchStatus, error) {
		if attempt == 1 {
			panic("phase two exploded")
		}
		return 0, nil
	}
	require.NoError(t, c.RM().Register(ctx, res))

	start := time.Now()
	txCtx, tx, err := c.TM().Begin(ctx, tm.TxOptions{})
	require.NoError(t, err)
	id := branch(t, c, txCtx, res)
	require.NoError(t, tx.Commit(txCtx), "a branch that will be retried does not fail the commit")
	require.Equal(t, call{true, tx.XID(), id}, res.next(t), "first attempt (panics)")
	require.Equal(t, call{true, tx.XID(), id}, res.next(t), "retry")
	// With a one-minute branch timeout, a silent RM would have delayed the
	// retry by a minute.
	require.Less(t, time.Since(start), 30*time.Second)
	require.Contains(t, logs.String(), "phase two exploded")
	require.Contains(t, logs.String(), "integration_test.go", "the stack is logged")

	require.Eventually(t, func() bool {
		st, err := tx.Status(ctx)
		return err == nil && (st == protocol.GlobalCommitted || st == protocol.GlobalFinished)
	}, 10*time.Second, 20*time.Millisecond)
}

// TestCoordinatorRestart stops the coordinator in the middle of a global
// transaction and starts it again on the same address.
func TestCoordinatorRestart(t *testing.T) {
	t.Run("mysql store: the transaction survives", func(t *testing.T) {
		d := testdb.Create(t)
		require.NoError(t, tc.CreateTables(t.Context(), d.DB))
		cfg := tc.Config{DB: d.DB}
		first := startTC(t, "127.0.0.1:0", cfg)
		addr := first.Addr().String()
		c := newClient(t, addr, "app", nil)
		ctx := t.Context()
		res := newRecorder("res")
		require.NoError(t, c.RM().Register(ctx, res))

		txCtx, tx, err := c.TM().Begin(ctx, tm.TxOptions{Timeout: time.Minute})
		require.NoError(t, err)
		id := branch(t, c, txCtx, res)

		require.NoError(t, first.Close())
		cfg.RetryPeriod, cfg.MaxRetryBackoff = 20*time.Millisecond, 100*time.Millisecond
		second, err := tc.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { second.Close() })
		restarted := make(chan error, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			restarted <- second.Start(context.Background(), addr)
		}()
		// The commit waits for (or retries until) the new coordinator,
		// which knows the transaction from the database and reaches the
		// branch over the RM connection, re-registered with its resources.
		require.NoError(t, tx.Commit(txCtx))
		require.NoError(t, <-restarted)
		require.Equal(t, call{true, tx.XID(), id}, res.next(t))

		// The client keeps working.
		err = c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
			branch(t, c, ctx, res)
			return nil
		})
		require.NoError(t, err)
		require.True(t, res.next(t).commit)
	})

	t.Run("memory store: the caller learns the transaction is lost", func(t *testing.T) {
		first := startTC(t, "127.0.0.1:0", tc.Config{})
		addr := first.Addr().String()
		c := newClient(t, addr, "app", nil)
		ctx := t.Context()
		res := newRecorder("res")
		require.NoError(t, c.RM().Register(ctx, res))

		txCtx, tx, err := c.TM().Begin(ctx, tm.TxOptions{})
		require.NoError(t, err)
		branch(t, c, txCtx, res)

		require.NoError(t, first.Close())
		startTC(t, addr, tc.Config{})
		err = tx.Commit(txCtx)
		var se *tm.StatusError
		require.ErrorAs(t, err, &se)
		require.Equal(t, protocol.GlobalFinished, se.Got, "the new coordinator does not know the XID")
		require.ErrorIs(t, err, tm.ErrOutcomeUnknown)
		require.Contains(t, err.Error(), "outcome unknown")
		require.Contains(t, err.Error(), "branches need attention")

		err = c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
			branch(t, c, ctx, res)
			return nil
		})
		require.NoError(t, err, "the client works again")
		require.True(t, res.next(t).commit)
	})
}

// TestClientsAreIndependent runs two clients with different
// configurations in one process and closes one while the other works.
func TestClientsAreIndependent(t *testing.T) {
	srv1 := startTC(t, "127.0.0.1:0", tc.Config{})
	srv2 := startTC(t, "127.0.0.1:0", tc.Config{})
	a := newClient(t, srv1.Addr().String(), "a", nil)
	b, err := atcc.New(atcc.Config{
		ApplicationID:  "b",
		TxServiceGroup: "other_group",
		Coordinators:   []string{srv2.Addr().String()},
		DefaultTimeout: 5 * time.Second,
		PoolSize:       2,
		Workers:        2,
	})
	require.NoError(t, err)
	ctx := t.Context()
	ra, rb := newRecorder("same-id"), newRecorder("same-id")
	require.NoError(t, a.RM().Register(ctx, ra))
	require.NoError(t, b.RM().Register(ctx, rb))

	for _, x := range []struct {
		c *atcc.Client
		r *recorder
	}{{a, ra}, {b, rb}} {
		err := x.c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
			branch(t, x.c, ctx, x.r)
			return nil
		})
		require.NoError(t, err)
		require.True(t, x.r.next(t).commit)
	}
	ra.none(t, a)
	rb.none(t, b)

	require.NoError(t, b.Close())
	_, _, err = b.TM().Begin(ctx, tm.TxOptions{})
	require.Error(t, err, "a closed client refuses work")
	require.NoError(t, a.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(context.Context) error { return nil }))
}

// TestCloseStopsGoroutines checks that Close stops every goroutine the
// client started, connections and phase-two workers included.
func TestCloseStopsGoroutines(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	use := func() {
		c, err := atcc.New(atcc.Config{ApplicationID: "app", Coordinators: []string{srv.Addr().String()}})
		require.NoError(t, err)
		res := newRecorder("res")
		require.NoError(t, c.RM().Register(t.Context(), res))
		err = c.TM().WithGlobalTx(t.Context(), tm.TxOptions{}, func(ctx context.Context) error {
			branch(t, c, ctx, res)
			return nil
		})
		require.NoError(t, err)
		res.next(t)
		require.NoError(t, c.Close())
	}
	// No goroutine outlives a client (getty starts its process-wide timer
	// wheel at init): after each of two clients, the count comes back to
	// where it was before the first.
	before := runtime.NumGoroutine()
	for i := range 2 {
		use()
		// Polled here rather than with require.Eventually, which runs its
		// condition on a goroutine of its own and so would count itself.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("client %d: goroutines: %d before, %d after\n%s", i+1, before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// atRecorder is a recorder registered as an AT resource: the coordinator
// commits its branches asynchronously, after GlobalCommit has answered.
type atRecorder struct{ *recorder }

func (atRecorder) BranchType() protocol.BranchType { return protocol.BranchAT }

// TestCloseWaitsForPhaseTwo is issue 13's short-lived process: it commits
// and closes at once. Close waits for the asynchronous phase two of its
// own branch, which would otherwise wait for another instance of the
// resource to connect.
func TestCloseWaitsForPhaseTwo(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{RetryPeriod: 300 * time.Millisecond})
	c, err := atcc.New(atcc.Config{ApplicationID: "short-lived", Coordinators: []string{srv.Addr().String()}})
	require.NoError(t, err)
	ctx := t.Context()
	res := atRecorder{newRecorder("jdbc:mysql://db/orders")}
	require.NoError(t, c.RM().Register(ctx, res))
	var id int64
	err = c.TM().WithGlobalTx(ctx, tm.TxOptions{}, func(ctx context.Context) error {
		xid, _ := tm.XID(ctx)
		id, err = c.RM().BranchRegister(ctx, rm.Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: res.id, LockKeys: "t:1"})
		return err
	})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	select {
	case got := <-res.got:
		require.Equal(t, id, got.branchID)
		require.True(t, got.commit)
	default:
		t.Fatal("Close returned before the branch's phase two reached this process")
	}

	// CloseTimeout bounds the wait when phase two never comes.
	c2, err := atcc.New(atcc.Config{ApplicationID: "short-lived", Coordinators: []string{srv.Addr().String()},
		CloseTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	res2 := atRecorder{newRecorder("jdbc:mysql://db/other")}
	require.NoError(t, c2.RM().Register(ctx, res2))
	txCtx, tx, err := c2.TM().Begin(ctx, tm.TxOptions{Timeout: time.Minute})
	require.NoError(t, err)
	xid, _ := tm.XID(txCtx)
	_, err = c2.RM().BranchRegister(txCtx, rm.Branch{XID: xid, BranchType: protocol.BranchAT, ResourceID: res2.id, LockKeys: "t:2"})
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, c2.Close()) // the transaction is still active: no phase two yet
	require.Less(t, time.Since(start), 5*time.Second)
	_ = tx
}

// A client with BatchRequests sends its calls in MergedWarpMessages; many
// transactions at once still each begin, register and commit.
func TestBatchRequests(t *testing.T) {
	srv := startTC(t, "127.0.0.1:0", tc.Config{})
	c, err := atcc.New(atcc.Config{ApplicationID: "batching", Coordinators: []string{srv.Addr().String()},
		BatchRequests: true, IdleTimeout: time.Minute, RequestTimeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	res := newRecorder("batched")
	ctx := t.Context()
	require.NoError(t, c.RM().Register(ctx, res))
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "batched"}, func(ctx context.Context) error {
				xid, _ := tm.XID(ctx)
				_, err := c.RM().BranchRegister(ctx, rm.Branch{XID: xid, BranchType: protocol.BranchTCC, ResourceID: res.id})
				return err
			})
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	for range n {
		require.True(t, res.next(t).commit)
	}
}

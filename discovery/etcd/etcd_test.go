package etcd

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/discovery"
	"github.com/atcc-go/atcc/internal/etcdtest"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
)

func startEtcd(t *testing.T) *clientv3.Client {
	cli, _ := etcdtest.Start(t)
	return cli
}

func startTC(t *testing.T) *tc.Server {
	t.Helper()
	srv, err := tc.New(tc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Seata's key layout: a key written the way a Java Seata server writes it
// is found, keys of another cluster sharing the prefix are not.
func TestResolveSeataKeys(t *testing.T) {
	cli := startEtcd(t)
	ctx := t.Context()
	for k, v := range map[string]string{
		"registry-seata-default-10.0.0.1:8091":  "10.0.0.1:8091",
		"registry-seata-default-10.0.0.2:8091":  "10.0.0.2:8091",
		"registry-seata-default2-10.0.0.3:8091": "10.0.0.3:8091", // cluster "default2"
	} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	r := &Resolver{Client: cli, VGroupMapping: discovery.VGroupMapping{"default_tx_group": "default"}}
	got, err := r.Resolve(ctx, "default_tx_group")
	if err != nil || !slices.Equal(got, []string{"10.0.0.1:8091", "10.0.0.2:8091"}) {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if _, err := r.Resolve(ctx, "unmapped"); err == nil {
		t.Fatal("unmapped group resolved")
	}
}

// Coordinators registered in etcd appear, disappear and move while
// transactions run; the client finds them through the vgroup mapping and
// no transaction fails. A registration's key goes with its lease.
func TestCoordinatorsMoveUnderLoad(t *testing.T) {
	cli := startEtcd(t)
	ctx := t.Context()
	tcA, tcB := startTC(t), startTC(t)
	a, b := tcA.Addr().String(), tcB.Addr().String()
	regA, err := Register(ctx, cli, "shanghai", a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if regA.Key() != "registry-seata-shanghai-"+a {
		t.Fatalf("key %q", regA.Key())
	}
	c, err := atcc.New(atcc.Config{
		ApplicationID:  "etcd-test",
		TxServiceGroup: "order_tx_group",
		Resolver:       &Resolver{Client: cli, VGroupMapping: discovery.VGroupMapping{"order_tx_group": "shanghai"}},
		DialTimeout:    2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var mu sync.Mutex
	served := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "move"}, func(ctx context.Context) error {
					xid, _ := tm.XID(ctx)
					mu.Lock()
					for _, addr := range []string{a, b} {
						if strings.HasPrefix(xid, addr+":") {
							served[addr]++
						}
					}
					mu.Unlock()
					return nil
				})
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	count := func(addr string) int { mu.Lock(); defer mu.Unlock(); return served[addr] }
	eventually(t, "transactions on A", func() bool { return count(a) > 20 })

	// B appears, A disappears (its lease revoked, as atcc-tc does on exit).
	regB, err := Register(ctx, cli, "shanghai", b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := regA.Close(ctx); err != nil {
		t.Fatal(err)
	}
	baseB := count(b)
	eventually(t, "transactions on B", func() bool { return count(b) > baseB+20 })
	baseA := count(a)
	eventually(t, "B serving alone", func() bool { return count(b) > baseB+60 })
	if n := count(a); n != baseA {
		t.Errorf("A, unregistered, served %d more transactions", n-baseA)
	}

	// A comes back (moved: B goes).
	regA, err = Register(ctx, cli, "shanghai", a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := regB.Close(ctx); err != nil {
		t.Fatal(err)
	}
	baseA = count(a)
	eventually(t, "transactions on A again", func() bool { return count(a) > baseA+20 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d transactions failed; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	t.Logf("%d transactions, none failed; per coordinator %v", ok.Load(), served)
	_ = regA.Close(ctx)
}

// A registration's lease expires when its keepalive stops (the process
// died): the key goes after the TTL.
func TestLeaseExpires(t *testing.T) {
	cli := startEtcd(t)
	ctx := t.Context()
	reg, err := Register(ctx, cli, "default", "127.0.0.1:8091", 1)
	if err != nil {
		t.Fatal(err)
	}
	reg.cancel() // the keepalive stops as if the process had died; no revoke
	<-reg.done
	eventually(t, "key gone after the TTL", func() bool {
		resp, err := cli.Get(ctx, reg.Key())
		return err == nil && len(resp.Kvs) == 0
	})
}

// A coordinator dies without unregistering (its keepalive stops with it)
// and a replacement registers: once the dead one's lease expires the client
// runs its transactions on the replacement, with no change of its own.
func TestCoordinatorKilledAndReplaced(t *testing.T) {
	cli := startEtcd(t)
	ctx := t.Context()
	tcA := startTC(t)
	a := tcA.Addr().String()
	regA, err := Register(ctx, cli, "default", a, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := atcc.New(atcc.Config{
		ApplicationID: "etcd-test",
		Resolver:      &Resolver{Client: cli, VGroupMapping: discovery.VGroupMapping{"default_tx_group": "default"}},
		DialTimeout:   2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tx := func() (string, error) {
		var xid string
		err := c.TM().WithGlobalTx(ctx, tm.TxOptions{Name: "kill"}, func(ctx context.Context) error {
			xid, _ = tm.XID(ctx)
			return nil
		})
		return xid, err
	}
	if xid, err := tx(); err != nil || !strings.HasPrefix(xid, a+":") {
		t.Fatalf("transaction on A: %q, %v", xid, err)
	}

	// A dies: its process (keepalive included) stops, nothing is revoked.
	regA.cancel()
	<-regA.done
	tcA.Close()
	tcB := startTC(t)
	b := tcB.Addr().String()
	regB, err := Register(ctx, cli, "default", b, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { regB.Close(context.Background()) })
	eventually(t, "A's key expired", func() bool {
		resp, err := cli.Get(ctx, regA.Key())
		return err == nil && len(resp.Kvs) == 0
	})
	eventually(t, "transactions on B", func() bool {
		xid, err := tx()
		return err == nil && strings.HasPrefix(xid, b+":")
	})
}

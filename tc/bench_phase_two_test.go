//go:build unix

package tc

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkCoreATCommit measures the coordinator's whole cost of an AT
// transaction with two branches: begin, two registrations, the commit, and
// phase two (BranchCommit to a fake RM that answers at once, and the store
// writes) until every transaction has ended, with 1 and 8 callers, for each
// store. cpu-ns/op is the process's CPU time per transaction, which means
// more than the wall time on a loaded machine.
func BenchmarkCoreATCommit(b *testing.B) {
	for _, k := range storeKinds {
		for _, callers := range []int{1, 8} {
			b.Run(k.name+"/callers="+strconv.Itoa(callers), func(b *testing.B) {
				c := newTestCore(b, k.open(b), func(c *coreConfig) { c.retryPeriod = 10 * time.Millisecond; c.retention = 0 })
				ctx := context.Background()
				var seq atomic.Int64
				var mu sync.Mutex
				var xids []string
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				var wg sync.WaitGroup
				per := b.N / callers
				for i := range callers {
					n := per
					if i == 0 {
						n += b.N % callers
					}
					wg.Go(func() {
						for range n {
							xid, err := c.coordinator.begin(ctx, tmPeer, 60000, "bench")
							if err != nil {
								b.Error(err)
								return
							}
							for _, r := range []string{"db1", "db2"} {
								_, err := c.registerBranch(ctx, rmPeer, &protocol.BranchRegisterRequest{XID: xid, BranchType: protocol.BranchAT,
									ResourceID: r, LockKey: "t:" + strconv.FormatInt(seq.Add(1), 10)})
								if err != nil {
									b.Error(err)
									return
								}
							}
							if st, err := c.commit(ctx, xid); err != nil || st != protocol.GlobalCommitted {
								b.Error(st, err)
								return
							}
							mu.Lock()
							xids = append(xids, xid)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				for _, xid := range xids {
					for {
						st, err := c.status(ctx, xid)
						if err != nil {
							b.Fatal(err)
						}
						if st == protocol.GlobalFinished || st == protocol.GlobalCommitted {
							break
						}
						time.Sleep(time.Millisecond)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU returns the CPU time the process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package rm

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// BenchmarkPhaseTwo measures the whole phase-two path of a resource
// manager: a coordinator (rpc.Server) sends BranchCommit over loopback, the
// client's worker pool runs Manager.HandleRequest, the resource commits at
// once, and the answer goes back. Both sides' costs count. With 1 and 64
// requests in flight; merged=8 sends them 8 to a MergedWarpMessage
// (ServerSession.CallMerged, as the coordinator's async committer does for
// an atcc RM), one op being one branch commit.
func BenchmarkPhaseTwo(b *testing.B) {
	for _, bc := range []struct{ inFlight, merged int }{{1, 1}, {64, 1}, {64, 8}} {
		inFlight, merged := bc.inFlight, bc.merged
		name := "inflight=" + strconv.Itoa(inFlight)
		if merged > 1 {
			name += "/merged=" + strconv.Itoa(merged)
		}
		b.Run(name, func(b *testing.B) {
			srv := rpc.NewServer(rpc.ServerConfig{}, benchCoordinator{})
			if err := srv.Start("127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			m := NewManager(&fakeCaller{}, Config{})
			defer m.Close()
			c, err := rpc.NewClient(rpc.ClientConfig{
				Addresses:         []string{srv.Addr().String()},
				ApplicationID:     "bench",
				HeartbeatInterval: -1,
				Handler:           m,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if err := m.Register(ctx, answer(status(protocol.PhaseTwoCommitted, nil))); err != nil {
				b.Fatal(err)
			}
			if err := c.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			var ss *rpc.ServerSession
			for deadline := time.Now().Add(10 * time.Second); ss == nil; time.Sleep(time.Millisecond) {
				for _, s := range srv.Sessions() {
					if s.Roles()&rpc.RoleRM != 0 {
						ss = s
					}
				}
				if time.Now().After(deadline) {
					b.Fatal("no RM session at the coordinator")
				}
			}
			req := commitReq(protocol.BranchAT, "db1")
			reqs := make([]protocol.Message, merged)
			for i := range reqs {
				reqs[i] = req
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			calls := b.N / merged // b.N rounded down to whole merged requests
			per := calls / inFlight
			for i := range inFlight {
				n := per
				if i == 0 {
					n += calls % inFlight
				}
				wg.Go(func() {
					for range n {
						if merged > 1 {
							resps, err := ss.CallMerged(ctx, reqs)
							if err != nil {
								b.Error(err)
								return
							}
							for _, resp := range resps {
								if st := resp.(*protocol.BranchCommitResponse).BranchStatus; st != protocol.PhaseTwoCommitted {
									b.Errorf("status %v", st)
									return
								}
							}
							continue
						}
						resp, err := ss.Call(ctx, req)
						if err != nil {
							b.Error(err)
							return
						}
						if st := resp.(*protocol.BranchCommitResponse).BranchStatus; st != protocol.PhaseTwoCommitted {
							b.Errorf("status %v", st)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// benchCoordinator is a ServerHandler that only keeps sessions: the
// benchmark sends phase two from the coordinator's side.
type benchCoordinator struct{}

func (benchCoordinator) HandleRequest(context.Context, *rpc.ServerSession, protocol.Message) protocol.Message {
	return nil
}
func (benchCoordinator) SessionRegistered(*rpc.ServerSession) {}
func (benchCoordinator) SessionClosed(*rpc.ServerSession)     {}

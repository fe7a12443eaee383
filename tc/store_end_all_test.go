package tc

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// endAll ends exactly the transactions still in the given status and owner,
// with their branches and row locks, and reports them in the caller's order.
func TestStoreEndAll(t *testing.T) {
	for _, keep := range []bool{true, false} {
		name := "forget"
		if keep {
			name = "remember"
		}
		t.Run(name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T, s store) {
				ctx := context.Background()
				var xids []string
				for i, owner := range []string{"me", "other", "me", "", "me"} {
					g := newTx(t, s, 0)
					mustBranch(t, s, g, protocol.BranchAT, "t:"+string(rune('a'+i)))
					mustBranch(t, s, g, protocol.BranchAT, "u:"+string(rune('a'+i)))
					if owner != "" { // "": still in Begin
						// AsyncCommitting, its locks kept
						c := change{status: protocol.GlobalAsyncCommitting, owner: owner, dueAt: 1 << 50}
						if ok, err := s.transition(ctx, g.xid, protocol.GlobalBegin, "", c); !ok || err != nil {
							t.Fatal(ok, err)
						}
					}
					xids = append(xids, g.xid)
				}
				slices.Reverse(xids) // not the store's order
				ch := change{status: protocol.GlobalCommitted}
				if keep {
					ch.dueAt = 1 << 50
				}
				ended, err := s.endAll(ctx, append(xids, "x:1:1"), protocol.GlobalAsyncCommitting, "me", ch)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{xids[0], xids[2], xids[4]}; !slices.Equal(ended, want) {
					t.Fatalf("ended %v, want %v", ended, want)
				}
				for i, xid := range xids {
					g, err := s.global(ctx, xid)
					bs, _ := s.branches(ctx, xid)
					if i%2 == 0 {
						switch {
						case keep && (err != nil || g.status != protocol.GlobalCommitted || g.owner != ""):
							t.Errorf("%s: %+v, %v", xid, g, err)
						case !keep && !errors.Is(err, errNoGlobal):
							t.Errorf("%s not forgotten: %+v, %v", xid, g, err)
						}
						if len(bs) != 0 {
							t.Errorf("%s: branches left %v", xid, bs)
						}
						continue
					}
					if err != nil || len(bs) != 2 || g.status == protocol.GlobalCommitted {
						t.Errorf("%s changed: %+v, %d branches, %v", xid, g, len(bs), err)
					}
				}
				// The others' locks are kept (decided without releasing
				// them), the ended ones' deleted.
				mustLockable(t, s, "", "t:b", false)
				mustLockable(t, s, "", "u:d", false)
				mustLockable(t, s, "", "t:a;t:c;t:e;u:a;u:c;u:e", true)
				if ended, err := s.endAll(ctx, nil, protocol.GlobalAsyncCommitting, "me", ch); err != nil || len(ended) != 0 {
					t.Fatal(ended, err)
				}
			})
		})
	}
}

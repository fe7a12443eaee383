package discovery

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestFile(t *testing.T) {
	f := File{
		VGroupMapping: VGroupMapping{"order_tx_group": "shanghai"},
		GroupList:     map[string][]string{"shanghai": {"10.0.0.1:8091", "10.0.0.2:8091"}, "bad": {"nohost"}},
	}
	ctx := context.Background()
	got, err := f.Resolve(ctx, "order_tx_group")
	if err != nil || !slices.Equal(got, []string{"10.0.0.1:8091", "10.0.0.2:8091"}) {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	got[0] = "x" // a copy: the registry is unchanged
	if f.GroupList["shanghai"][0] != "10.0.0.1:8091" {
		t.Fatal("Resolve returned the registry's own slice")
	}
	if _, err := f.Resolve(ctx, "other_group"); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("unmapped group: %v, want ErrUnknownGroup", err)
	}
	f.VGroupMapping["g2"] = "beijing"
	if _, err := f.Resolve(ctx, "g2"); !errors.Is(err, ErrUnknownCluster) {
		t.Fatalf("cluster without grouplist: %v, want ErrUnknownCluster", err)
	}
	f.VGroupMapping["g3"] = "bad"
	if _, err := f.Resolve(ctx, "g3"); err == nil {
		t.Fatal("invalid address accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Watch(cctx, "order_tx_group", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch = %v, want context.Canceled", err)
	}
}

func TestSplitGroupList(t *testing.T) {
	for in, want := range map[string][]string{
		"10.0.0.1:8091;10.0.0.2:8091": {"10.0.0.1:8091", "10.0.0.2:8091"},
		" a:1 ; ;b:2,c:3 ":            {"a:1", "b:2", "c:3"},
		"":                            nil,
	} {
		if got := SplitGroupList(in); !slices.Equal(got, want) {
			t.Errorf("SplitGroupList(%q) = %q, want %q", in, got, want)
		}
	}
}

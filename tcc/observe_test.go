package tcc

import (
	"testing"
	"time"

	"github.com/atcc-go/atcc/observe"
)

// The action context of a branch registered with a trace context
// (observe.WithTraceParent) decodes as without it.
func TestDecodeContextWithTraceParent(t *testing.T) {
	data, _, err := newContextCodec("buy", "host").encode(Params{"sku": "a1"}, time.UnixMilli(1))
	if err != nil {
		t.Fatal(err)
	}
	withTP := observe.WithTraceParent(data, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if withTP == data {
		t.Fatal("no trace context added")
	}
	v, err := decodeContext(withTP)
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 1 || !v.Has("sku") {
		t.Errorf("params %v", v.m)
	}
}

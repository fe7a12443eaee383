package tm

import (
	"context"
	"strings"
	"testing"
)

func TestXIDContext(t *testing.T) {
	root := context.Background()
	if _, ok := XID(root); ok {
		t.Fatal("XID in an empty context")
	}
	outer := WithXID(root, "a:1:1")
	inner := WithXID(outer, "a:1:2")
	suspended := WithoutXID(inner)
	for _, c := range []struct {
		ctx  context.Context
		want string
	}{{root, ""}, {outer, "a:1:1"}, {inner, "a:1:2"}, {suspended, ""}, {WithXID(outer, ""), ""}} {
		got, ok := XID(c.ctx)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("XID = %q, %v; want %q", got, ok, c.want)
		}
	}
	if WithoutXID(root) != root {
		t.Error("WithoutXID of a context without XID must return it unchanged")
	}
}

func TestValidXID(t *testing.T) {
	for s, want := range map[string]bool{
		"10.0.0.1:8091:4567890123456789": true,
		"[::1]:8091:1":                   true,
		"x":                              true,
		strings.Repeat("9", MaxXIDLen):   true,
		"":                               false,
		strings.Repeat("9", MaxXIDLen+1): false,
		"a b":                            false,
		"a\tb":                           false,
		"a\nb":                           false,
		"a\x00b":                         false,
		"a\x7fb":                         false,
		"ü:1:2":                          false,
		"10.0.0.1:8091:1\r\nX-Evil: 1":   false,
	} {
		if ValidXID(s) != want {
			t.Errorf("ValidXID(%q) = %v", s, !want)
		}
	}
}

package observe

import (
	"encoding/json"
	"strings"
	"testing"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestWithTraceParent(t *testing.T) {
	long := `{"actionContext":{"k":"` + strings.Repeat("x", 1950) + `"}}`
	for _, c := range []struct{ in, want string }{
		{"", `{"traceparent":"` + tp + `"}`},
		{"{}", `{"traceparent":"` + tp + `"}`},
		{` { } `, `{"traceparent":"` + tp + `"}`},
		{`{"autoCommit":false}`, `{"autoCommit":false,"traceparent":"` + tp + `"}`},
		{`{"actionContext":{"a":1}}`, `{"actionContext":{"a":1},"traceparent":"` + tp + `"}`},
		{`not json`, `not json`},
		{`[1,2]`, `[1,2]`},
		{`{"traceparent":"00-old"}`, `{"traceparent":"00-old"}`}, // already carries one
		{long, long}, // would exceed Seata's 2,000-byte column
	} {
		if got := WithTraceParent(c.in, tp); got != c.want {
			t.Errorf("WithTraceParent(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := WithTraceParent(c.in, ""); got != c.in {
			t.Errorf("WithTraceParent(%q, \"\") = %q", c.in, got)
		}
	}
	// Something that needs JSON escaping is not a traceparent.
	if got := WithTraceParent("", `00-"x`); got != "" {
		t.Errorf("escaped traceparent accepted: %q", got)
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	for _, in := range []string{"", `{"autoCommit":false}`, `{"actionContext":{"traceparent":"nested"}}`} {
		data := WithTraceParent(in, tp)
		if !json.Valid([]byte(data)) {
			t.Fatalf("invalid JSON %q", data)
		}
		if got := TraceParentOf(data); got != tp {
			t.Errorf("TraceParentOf(%q) = %q", data, got)
		}
	}
	// Only the top-level member counts.
	if got := TraceParentOf(`{"actionContext":{"traceparent":"` + tp + `"}}`); got != "" {
		t.Errorf("nested member read: %q", got)
	}
	if got := TraceParentOf(`{"traceparent":"<script>"}`); got != "" {
		t.Errorf("invalid value read: %q", got)
	}
}

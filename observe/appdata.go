package observe

import (
	"encoding/json"
	"strings"
)

// The trace context of a branch travels to the resource manager that runs
// its phase two as a top-level "traceparent" member of the branch's
// application data, a JSON object: the coordinator stores the data and
// sends it back in BranchCommit and BranchRollback. Seata's coordinators
// read only their own members of it ("autoCommit", "skipCheckLock"), and
// Seata's resource managers only theirs (TCC: "actionContext"), so the
// extra member is harmless to them. It is not added to data that is not a
// JSON object, that already has one, or that would then exceed the 2,000
// bytes of Seata's branch_table.application_data column.
const (
	traceParentKey    = `"traceparent"`
	maxAppDataWithTP  = 2000
	traceParentMaxLen = 55 // version-traceid-spanid-flags
)

// WithTraceParent returns a branch's application data appData with the
// W3C traceparent tp added (see above); appData unchanged when tp is "" or
// is not a traceparent, or appData cannot take it.
func WithTraceParent(appData, tp string) string {
	if tp == "" || len(tp) > traceParentMaxLen || !isTraceParent(tp) || hasTraceParent(appData) {
		return appData
	}
	member := traceParentKey + `:"` + tp + `"`
	s := strings.TrimSpace(appData)
	switch {
	case s == "":
		return "{" + member + "}"
	case len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || len(s)+len(member)+1 > maxAppDataWithTP:
		return appData
	case strings.TrimSpace(s[1:len(s)-1]) == "":
		return "{" + member + "}"
	}
	return s[:len(s)-1] + "," + member + "}"
}

// isTraceParent reports whether tp holds only what a W3C traceparent may
// (lower-case hex and dashes), so that it needs no JSON escaping.
func isTraceParent(tp string) bool {
	for i := 0; i < len(tp); i++ {
		c := tp[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

// TraceParentOf returns the traceparent member of a branch's application
// data (see WithTraceParent), or "".
func TraceParentOf(appData string) string {
	if !strings.Contains(appData, traceParentKey) {
		return ""
	}
	var v struct {
		TraceParent string `json:"traceparent"`
	}
	if json.Unmarshal([]byte(appData), &v) != nil || !isTraceParent(v.TraceParent) {
		return ""
	}
	return v.TraceParent
}

// hasTraceParent reports whether appData has a top-level traceparent
// member (or is not JSON and mentions one).
func hasTraceParent(appData string) bool {
	if !strings.Contains(appData, traceParentKey) {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(appData), &top) != nil {
		return true
	}
	_, ok := top["traceparent"]
	return ok
}

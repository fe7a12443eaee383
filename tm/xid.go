package tm

import "context"

// XIDKey is the name under which the XID travels between services: the
// HTTP header and gRPC metadata key Apache Seata uses. HTTP header names
// and gRPC metadata keys are case-insensitive; Go writes this one as
// "Tx_xid" (net/http canonical form) or "tx_xid" (gRPC lowercases keys).
// Readers in this module match it case-insensitively.
const XIDKey = "TX_XID"

// MaxXIDLen is the longest XID ValidXID accepts: the width of the xid
// column in Seata's global_table, branch_table and undo_log.
const MaxXIDLen = 128

// xidKey is the context key of the XID. The value is a string, or a
// *string pointing at a begun GlobalTx's xid, which boxes without an
// allocation (begin: 1 per transaction fewer, atcc-bench); "" means "no
// global transaction" (see WithoutXID).
type xidKey struct{}

// WithXID returns a copy of ctx that carries xid, the id of the global
// transaction the work done with the returned context belongs to. An empty
// xid yields a context without an XID, like WithoutXID.
//
// WithXID does not check xid; use ValidXID on input from outside the
// process (the grpcxid and httpxid packages do).
func WithXID(ctx context.Context, xid string) context.Context {
	return context.WithValue(ctx, xidKey{}, xid)
}

// WithoutXID returns a copy of ctx without an XID, even when ctx has one.
// Work done with the returned context runs outside any global transaction;
// ctx itself is unchanged and still carries its XID.
func WithoutXID(ctx context.Context) context.Context {
	if _, ok := XID(ctx); !ok {
		return ctx
	}
	return context.WithValue(ctx, xidKey{}, "")
}

// XID returns the XID ctx carries, and false when it carries none.
func XID(ctx context.Context) (string, bool) {
	var xid string
	switch v := ctx.Value(xidKey{}).(type) {
	case string:
		xid = v
	case *string:
		xid = *v
	}
	return xid, xid != ""
}

// ValidXID reports whether s can be an XID: 1 to MaxXIDLen bytes of
// printable ASCII without spaces (0x21 to 0x7e). XIDs the coordinator
// issues look like "10.0.0.1:8091:4567890123456789". Integrations must
// ignore, not trust, an incoming value that fails this check.
func ValidXID(s string) bool {
	if len(s) == 0 || len(s) > MaxXIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

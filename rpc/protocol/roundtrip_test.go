package protocol

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	xid     = "10.0.0.1:8091:4567890123456789"
	unicode = "下单-purchase-é-𝄞"
)

// maxStr is the longest str16 a Java peer can read.
var maxStr = strings.Repeat("x", maxStr16)

// sampleMessages holds every message type with edge values: empty, maximal
// and non-ASCII strings, extreme integers, every enum's extremes.
func sampleMessages() []Message {
	failed := Result{Code: ResultFailed, Msg: unicode, ExceptionCode: CodeBroken}
	failedNoMsg := Result{Code: ResultFailed, ExceptionCode: CodeLockKeyConflictFailFast}
	ok := Result{Code: ResultSuccess}
	return []Message{
		&RegisterTMRequest{Version: "2.2.0", ApplicationID: "app", TxServiceGroup: "g", ExtraData: "ak=null\n"},
		&RegisterTMRequest{},
		&RegisterTMResponse{Identified: true, Version: maxStr},
		&RegisterTMResponse{},
		&RegisterRMRequest{Version: "1.5.2", ApplicationID: unicode, TxServiceGroup: maxStr, ResourceIDs: strings.Repeat("jdbc:mysql://h:3306/db,", 5000)},
		&RegisterRMRequest{}, // empty version: a Java TC would lose the rest (J2); we decode it all
		&RegisterRMResponse{Identified: true, Version: "2.2.0"},
		&RegisterRMResponse{Identified: false},
		&GlobalBeginRequest{TimeoutMillis: math.MaxInt32, TransactionName: unicode},
		&GlobalBeginRequest{TimeoutMillis: math.MinInt32},
		&GlobalBeginResponse{Result: ok, XID: xid},
		&GlobalBeginResponse{Result: failed, ExtraData: maxStr},
		&GlobalCommitRequest{XID: xid, ExtraData: "{}"},
		&GlobalCommitResponse{Result: ok, GlobalStatus: GlobalRollbackRetryTimeout},
		&GlobalCommitResponse{Result: failed, GlobalStatus: GlobalFinished},
		&GlobalRollbackRequest{XID: maxStr},
		&GlobalRollbackResponse{Result: failedNoMsg, GlobalStatus: GlobalUnknown},
		&GlobalStatusRequest{},
		&GlobalStatusResponse{Result: ok, GlobalStatus: GlobalBegin},
		&GlobalReportRequest{XID: xid, GlobalStatus: GlobalStatusUnset},
		&GlobalReportRequest{XID: xid, GlobalStatus: GlobalCommitted},
		&GlobalReportResponse{Result: failed, GlobalStatus: GlobalCommitFailed},
		&BranchRegisterRequest{XID: xid, BranchType: BranchXA, ResourceID: maxStr, LockKey: lockKey(5000), ApplicationData: unicode},
		&BranchRegisterRequest{},
		&BranchRegisterResponse{Result: ok, BranchID: math.MaxInt64},
		&BranchRegisterResponse{Result: failedNoMsg, BranchID: math.MinInt64},
		&BranchReportRequest{XID: xid, BranchID: math.MaxInt64, Status: PhaseOneRDOnly, ResourceID: "r", ApplicationData: "{}", BranchType: BranchSAGA},
		&BranchReportRequest{},
		&BranchReportResponse{Result: ok},
		&BranchReportResponse{Result: failed},
		&GlobalLockQueryRequest{XID: xid, BranchType: BranchAT, ResourceID: "r", LockKey: "t:1"},
		&GlobalLockQueryResponse{Result: ok, Lockable: true},
		&GlobalLockQueryResponse{Result: failed},
		&BranchCommitRequest{XID: xid, BranchID: 1, BranchType: BranchTCC, ResourceID: "a", ApplicationData: unicode},
		&BranchCommitResponse{Result: ok, XID: xid, BranchID: -1, BranchStatus: PhaseTwoCommitted},
		&BranchCommitResponse{Result: failed, BranchStatus: BranchUnknown},
		&BranchRollbackRequest{XID: xid, BranchID: math.MaxInt64},
		&BranchRollbackResponse{Result: failed, XID: xid, BranchID: 7, BranchStatus: PhaseTwoRollbackFailedXAERNotaRetryable},
		&UndoLogDeleteRequest{BranchType: BranchAT, ResourceID: "jdbc:mysql://h/db", SaveDays: math.MaxInt16},
		&UndoLogDeleteRequest{SaveDays: -1},
		&MergedWarpMessage{
			Messages: []Message{
				&GlobalBeginRequest{TimeoutMillis: 1, TransactionName: "t"},
				&GlobalCommitRequest{XID: xid},
				&GlobalRollbackRequest{XID: xid},
				&BranchRegisterRequest{XID: xid, LockKey: "t:1"},
				&BranchReportRequest{XID: xid, Status: PhaseOneDone},
				&GlobalStatusRequest{XID: xid},
				&GlobalReportRequest{XID: xid, GlobalStatus: GlobalStatusUnset},
				&GlobalLockQueryRequest{XID: xid},
			},
			MsgIDs: []int32{1, -1, math.MaxInt32, math.MinInt32, 0, 5, 6, 7},
		},
		&MergedWarpMessage{Messages: []Message{&GlobalStatusRequest{}}}, // pre-1.5: no msgIds
		&MergedWarpMessage{},
		// An atcc coordinator's merged phase two for an atcc RM.
		&MergedWarpMessage{Messages: []Message{
			&BranchCommitRequest{XID: xid, BranchID: 1, BranchType: BranchAT, ResourceID: "db1"},
			&BranchCommitRequest{XID: xid, BranchID: 2, BranchType: BranchAT, ResourceID: "db2", ApplicationData: unicode},
		}},
		&MergeResultMessage{Results: []Message{
			&BranchCommitResponse{Result: ok, XID: xid, BranchID: 1, BranchStatus: PhaseTwoCommitted},
			&BranchCommitResponse{Result: failed, XID: xid, BranchID: 2, BranchStatus: PhaseTwoCommitFailedRetryable},
		}},
		&MergeResultMessage{Results: []Message{
			&GlobalBeginResponse{Result: ok, XID: xid},
			&GlobalCommitResponse{Result: failed, GlobalStatus: GlobalFinished},
			&GlobalRollbackResponse{Result: ok, GlobalStatus: GlobalRollbacked},
			&BranchRegisterResponse{Result: failedNoMsg},
			&BranchReportResponse{Result: ok},
			&GlobalStatusResponse{Result: ok},
			&GlobalReportResponse{Result: ok, GlobalStatus: GlobalCommitted},
			&GlobalLockQueryResponse{Result: ok, Lockable: true},
		}},
		&MergeResultMessage{},
		&BatchResultMessage{
			Results: []Message{&BranchRegisterResponse{Result: ok, BranchID: 9}, &BranchReportResponse{Result: failed}},
			MsgIDs:  []int32{19, 20},
		},
		&BatchResultMessage{},
	}
}

// lockKey returns an AT lock key over n primary keys: "tbl:1,2,...,n".
func lockKey(n int) string {
	var b strings.Builder
	b.WriteString("tbl:")
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(i))
	}
	return b.String()
}

// TestRoundTrip encodes every sample message in frames with various headers
// and compressors, and checks that decoding gives the same value back.
func TestRoundTrip(t *testing.T) {
	heads := []map[string]string{
		nil,
		{"sw8": "1-abc", "sw8-correlation": "", "": "empty key", "k": maxStr[:1000], unicode: unicode},
	}
	ids := []int32{0, 1, -1, math.MaxInt32, math.MinInt32}
	covered := map[TypeCode]bool{}
	for i, m := range sampleMessages() {
		covered[m.TypeCode()] = true
		for _, comp := range []Compressor{CompressNone, CompressGzip} {
			f := &Frame{
				Type:       MessageType(i % 3), // RequestSync, Response, RequestOneway
				Codec:      CodecSeata,
				Compressor: comp,
				RequestID:  ids[i%len(ids)],
				HeadMap:    heads[i%len(heads)],
				Body:       m,
			}
			b := mustAppendFrame(t, f)
			if n, err := FrameLength(b); err != nil || n != len(b) {
				t.Fatalf("%v: FrameLength = %d, %v; want %d", describe(f), n, err, len(b))
			}
			got, err := DecodeFrame(b)
			if err != nil {
				t.Fatalf("%v: DecodeFrame: %v", describe(f), err)
			}
			if !equalFrames(got, f) {
				t.Fatalf("%v: round trip:\n got %+v\nwant %+v", describe(f), got.Body, f.Body)
			}
		}
		body, err := AppendBody(nil, m)
		if err != nil {
			t.Fatalf("AppendBody(%v): %v", m.TypeCode(), err)
		}
		got, err := DecodeBody(body)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("body round trip %v: %v, %+v", m.TypeCode(), err, got)
		}
	}
	if len(covered) != 28 {
		t.Errorf("samples cover %d body types, want all 28", len(covered))
	}
}

func TestHeartbeatRoundTrip(t *testing.T) {
	for _, f := range []*Frame{
		{Type: HeartbeatRequest, Codec: CodecSeata, RequestID: 4},
		{Type: HeartbeatResponse, Codec: CodecSeata, RequestID: math.MinInt32},
		// A PONG echoes the PING's codec and compressor, whatever they are.
		{Type: HeartbeatResponse, Codec: CodecProtobuf, Compressor: CompressZstd, RequestID: 1},
		{Type: HeartbeatRequest, Codec: CodecSeata, HeadMap: map[string]string{"sw8": "x"}},
	} {
		b := mustAppendFrame(t, f)
		if f.HeadMap == nil && len(b) != HeaderLength {
			t.Errorf("heartbeat frame is %d bytes, want 16", len(b))
		}
		got, err := DecodeFrame(b)
		if err != nil || !equalFrames(got, f) {
			t.Errorf("heartbeat round trip: %+v, %v; want %+v", got, err, f)
		}
	}
}

// TestFailureMsgTruncated: the msg of a failed result is cut at 32767 bytes
// on a UTF-8 boundary instead of failing the whole response (§11 J4).
func TestFailureMsgTruncated(t *testing.T) {
	for _, msg := range []string{
		strings.Repeat("a", 40000),
		strings.Repeat("a", maxStr16-1) + "é" + "tail", // 2-byte rune straddles the limit
		strings.Repeat("a", maxStr16-2) + "𝄞" + "tail", // 4-byte rune straddles it
		strings.Repeat("a", maxStr16-2) + "é",          // exactly 32767 bytes: kept whole
		strings.Repeat("\x80", 40000),                  // not UTF-8: cut at 32767
		strings.Repeat("下", 20000),                     // 60000 bytes of 3-byte runes
	} {
		m := &BranchRegisterResponse{Result: Result{Code: ResultFailed, Msg: msg, ExceptionCode: CodeLockKeyConflict}}
		b := mustAppendFrame(t, &Frame{Type: Response, Codec: CodecSeata, Body: m})
		f, err := DecodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Body.(*BranchRegisterResponse).Msg
		if len(got) > maxStr16 || !strings.HasPrefix(msg, got) || len(got) < maxStr16-3 && len(msg) >= maxStr16 {
			t.Errorf("msg of %d bytes decoded as %d bytes", len(msg), len(got))
		}
		if utf8.ValidString(msg) && !utf8.ValidString(got) {
			t.Errorf("truncation of a %d-byte msg split a rune", len(msg))
		}
		if len(msg) <= maxStr16 && got != msg {
			t.Errorf("a %d-byte msg was changed", len(msg))
		}
	}
}

// TestSuccessResultHasNoMsg: msg is on the wire only when the result failed.
func TestSuccessResultHasNoMsg(t *testing.T) {
	m := &BranchReportResponse{Result: Result{Code: ResultSuccess, Msg: "ignored", ExceptionCode: CodeUnknown}}
	body, err := AppendBody(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 14, 1, 0}; !bytes.Equal(body, want) {
		t.Fatalf("body = %x, want %x", body, want)
	}
	got, _ := DecodeBody(body)
	if got.(*BranchReportResponse).Msg != "" {
		t.Fatal("msg decoded from a successful result")
	}
}

// TestDecodedStringsDoNotAlias: the caller may reuse its buffer right after
// DecodeFrame returns.
func TestDecodedStringsDoNotAlias(t *testing.T) {
	for name, b := range allVectorFrames(t) {
		f, err := DecodeFrame(b)
		if err != nil {
			t.Fatal(name, err)
		}
		want := mustAppendFrame(t, f)
		for i := range b {
			b[i] = 0xff
		}
		if got := mustAppendFrame(t, f); !bytes.Equal(got, want) {
			t.Errorf("%s: decoded frame changed when its input was overwritten", name)
		}
	}
}

// TestMergedWarpWithoutMsgIDs: Java clients before 1.5.0 send no msgIds.
func TestMergedWarpWithoutMsgIDs(t *testing.T) {
	b := readHex(t, "testdata/vectors/merged_warp_message.hex")
	// Drop the 8 bytes of msgIds and fix fullLength and contentLength.
	b = b[:len(b)-8]
	putU32(b[3:], uint32(len(b)))
	putU32(b[18:], uint32(len(b)-22))
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	m := f.Body.(*MergedWarpMessage)
	if len(m.Messages) != 2 || m.MsgIDs != nil {
		t.Fatalf("got %d messages, ids %v; want 2, nil", len(m.Messages), m.MsgIDs)
	}
	if out := mustAppendFrame(t, f); !bytes.Equal(out, b) {
		t.Fatalf("re-encoded: %x, want %x", out, b)
	}
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
func putU16(b []byte, v uint16) { b[0], b[1] = byte(v>>8), byte(v) }

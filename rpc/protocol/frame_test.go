package protocol

import (
	"bytes"
	"compress/gzip"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

func header(full int32, head int16, typ MessageType, codec Codec, comp Compressor) []byte {
	b := []byte{0xda, 0xda, 1, 0, 0, 0, 0, 0, 0, byte(typ), byte(codec), byte(comp), 0, 0, 0, 9}
	putU32(b[3:], uint32(full))
	putU16(b[7:], uint16(head))
	return b
}

func TestFrameLength(t *testing.T) {
	ping := readHex(t, "testdata/vectors/heartbeat_ping.hex")
	big := header(MaxFrameLength, 16, RequestSync, CodecSeata, CompressNone)
	cases := []struct {
		name string
		b    []byte
		n    int
		err  error
	}{
		{"empty", nil, 0, nil},
		{"magic only", []byte{0xda, 0xda}, 0, nil},
		{"six bytes", ping[:6], 0, nil},
		{"seven bytes", ping[:7], 16, nil},
		{"eight bytes", ping[:8], 16, nil},
		{"whole ping", ping, 16, nil},
		{"ping and more", append(append([]byte{}, ping...), ping...), 16, nil},
		{"largest frame", big[:9], MaxFrameLength, nil},
		{"version 2 is accepted", []byte{0xda, 0xda, 2, 0, 0, 0, 16, 0, 16}, 16, nil},
		{"version 255 is accepted", []byte{0xda, 0xda, 255, 0, 0, 0, 16, 0, 16}, 16, nil},
		{"bad first magic byte", []byte{0xdb}, 0, ErrBadMagic},
		{"bad second magic byte", []byte{0xda, 0x00}, 0, ErrBadMagic},
		{"HTTP/2 preface", []byte("PRI * HTTP/2.0"), 0, ErrBadMagic},
		{"v0 frame", []byte{0xda, 0xda, 0x00, 0x90}, 0, ErrUnsupportedVersion},
		{"fullLength 15", header(15, 15, 0, 1, 0)[:7], 0, ErrCorruptFrame},
		{"fullLength 0 (Java J11 debris)", []byte{0xda, 0xda, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 7}, 0, ErrCorruptFrame},
		{"fullLength negative", header(-1, 16, 0, 1, 0), 0, ErrCorruptFrame},
		{"fullLength MinInt32", header(math.MinInt32, 16, 0, 1, 0), 0, ErrCorruptFrame},
		{"fullLength too large", header(MaxFrameLength+1, 16, 0, 1, 0)[:7], 0, ErrFrameTooLarge},
		{"fullLength MaxInt32", header(math.MaxInt32, 16, 0, 1, 0)[:7], 0, ErrFrameTooLarge},
		{"headLength 15", header(20, 15, 0, 1, 0)[:9], 0, ErrCorruptFrame},
		{"headLength 0", header(20, 0, 0, 1, 0)[:9], 0, ErrCorruptFrame},
		{"headLength negative", header(20, -16, 0, 1, 0)[:9], 0, ErrCorruptFrame},
		{"headLength > fullLength", header(20, 21, 0, 1, 0)[:9], 0, ErrCorruptFrame},
		{"headLength = fullLength", header(20, 20, 0, 1, 0)[:9], 20, nil},
		{"headLength unchecked below 9 bytes", header(20, 21, 0, 1, 0)[:8], 20, nil},
	}
	for _, c := range cases {
		n, err := FrameLength(c.b)
		if n != c.n || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: FrameLength = %d, %v; want %d, %v", c.name, n, err, c.n, c.err)
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Errorf("%s: %T is not a *DecodeError", c.name, err)
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	begin := readHex(t, "testdata/vectors/global_begin_request.hex")
	withHead := func(head []byte) []byte {
		b := header(int32(16+len(head)+len(begin)-16), int16(16+len(head)), RequestSync, CodecSeata, CompressNone)
		return append(append(b, head...), begin[16:]...)
	}
	mutate := func(b []byte, f func([]byte)) []byte {
		b = bytes.Clone(b)
		f(b)
		return b
	}
	cases := []struct {
		name  string
		b     []byte
		err   error
		field string
	}{
		{"short", begin[:10], ErrTruncated, "fullLength"},
		{"too short to measure", begin[:5], ErrTruncated, "fullLength"},
		{"longer than fullLength", append(bytes.Clone(begin), 0), ErrCorruptFrame, "fullLength"},
		{"message type 5", mutate(begin, func(b []byte) { b[9] = 5 }), ErrCorruptFrame, "messageType"},
		{"codec protobuf", mutate(begin, func(b []byte) { b[10] = byte(CodecProtobuf) }), ErrUnsupportedCodec, "codec"},
		{"compressor zip", mutate(begin, func(b []byte) { b[11] = byte(CompressZip) }), ErrUnsupportedCompressor, "compressor"},
		{"compressor 200", mutate(begin, func(b []byte) { b[11] = 200 }), ErrUnsupportedCompressor, "compressor"},
		{"gzip flag on a plain body", mutate(begin, func(b []byte) { b[11] = byte(CompressGzip) }), ErrCorruptFrame, "body"},
		{"request without body", header(16, 16, RequestSync, CodecSeata, CompressNone), ErrEmptyBody, "body"},
		{"ping with body", mutate(begin, func(b []byte) { b[9] = byte(HeartbeatRequest) }), ErrCorruptFrame, "body"},
		{"unknown type code", mutate(begin, func(b []byte) { b[17] = 19 }), ErrUnknownType, "typeCode"},
		{"heartbeat type code in a body", mutate(begin, func(b []byte) { b[17] = 120 }), ErrUnknownType, "typeCode"},
		{"negative type code", mutate(begin, func(b []byte) { b[16] = 0xff }), ErrUnknownType, "typeCode"},
		{"negative str16", mutate(begin, func(b []byte) { b[22] = 0x80 }), ErrCorruptFrame, "transactionName"},
		{"str16 past the end", mutate(begin, func(b []byte) { b[23]++ }), ErrTruncated, "transactionName"},
		{"trailing byte", mutate(begin, func(b []byte) { b[23]-- }), ErrCorruptFrame, ""},
		{"head map: truncated value", withHead([]byte{0, 1, 'k', 0, 5, 'v'}), ErrTruncated, "headMap"},
		{"head map: key only", withHead([]byte{0, 1, 'k'}), ErrTruncated, "headMap"},
		{"head map: one byte", withHead([]byte{0}), ErrTruncated, "headMap"},
		{"head map: length -2", withHead([]byte{0, 1, 'k', 0xff, 0xfe}), ErrCorruptFrame, "headMap"},
	}
	for _, c := range cases {
		f, err := DecodeFrame(c.b)
		var de *DecodeError
		if f != nil || !errors.Is(err, c.err) || !errors.As(err, &de) || de.Field != c.field {
			t.Errorf("%s: DecodeFrame = %v, %v; want %v in field %q", c.name, f, err, c.err, c.field)
		}
	}
}

func TestHeadMapDecoding(t *testing.T) {
	begin := readHex(t, "testdata/vectors/global_begin_request.hex")
	head := []byte{
		0, 1, 'a', 0xff, 0xff, // a = null -> ""
		0xff, 0xff, 0, 1, 'x', // null key -> ""
		0, 1, 'b', 0, 0, // b = ""
		0, 1, 'a', 0, 1, '2', // duplicate: the last one wins, as in Java's HashMap
	}
	b := header(int32(16+len(head)+len(begin)-16), int16(16+len(head)), RequestSync, CodecSeata, CompressNone)
	b = append(append(b, head...), begin[16:]...)
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "2", "": "x", "b": ""}
	if len(f.HeadMap) != len(want) {
		t.Fatalf("head map = %q, want %q", f.HeadMap, want)
	}
	for k, v := range want {
		if got, ok := f.HeadMap[k]; !ok || got != v {
			t.Fatalf("head map = %q, want %q", f.HeadMap, want)
		}
	}
}

func TestAppendFrameErrors(t *testing.T) {
	long := strings.Repeat("x", maxStr16+1)
	req := func(m Message) *Frame { return &Frame{Type: RequestSync, Codec: CodecSeata, Body: m} }
	ok := Result{Code: ResultSuccess}
	cases := []struct {
		name string
		f    *Frame
		err  error
	}{
		{"nil frame", nil, ErrInvalidMessage},
		{"no body", &Frame{Type: RequestSync, Codec: CodecSeata}, ErrEmptyBody},
		{"typed nil body", req((*GlobalBeginRequest)(nil)), ErrInvalidMessage},
		{"heartbeat with body", &Frame{Type: HeartbeatRequest, Codec: CodecSeata, Body: &GlobalStatusRequest{}}, ErrInvalidMessage},
		{"message type 5", &Frame{Type: 5, Codec: CodecSeata, Body: &GlobalStatusRequest{}}, ErrInvalidEnum},
		{"codec zero", &Frame{Type: RequestSync, Body: &GlobalStatusRequest{}}, ErrUnsupportedCodec},
		{"codec kryo", &Frame{Type: RequestSync, Codec: CodecKryo, Body: &GlobalStatusRequest{}}, ErrUnsupportedCodec},
		{"compressor zstd", &Frame{Type: RequestSync, Codec: CodecSeata, Compressor: CompressZstd, Body: &GlobalStatusRequest{}}, ErrUnsupportedCompressor},
		{"str16 of 32768 bytes", req(&GlobalStatusRequest{XID: long}), ErrStringTooLong},
		{"str16 in a batch", req(&MergedWarpMessage{Messages: []Message{&GlobalStatusRequest{XID: long}}}), ErrStringTooLong},
		{"head map key", &Frame{Type: RequestSync, Codec: CodecSeata, HeadMap: map[string]string{long: ""}, Body: &GlobalStatusRequest{}}, ErrStringTooLong},
		{"head map too large", &Frame{Type: RequestSync, Codec: CodecSeata, HeadMap: map[string]string{"a": maxStr}, Body: &GlobalStatusRequest{}}, ErrFrameTooLarge},
		{"frame one byte too large", req(&BranchRegisterRequest{LockKey: strings.Repeat("k", MaxFrameLength-16-15+1)}), ErrFrameTooLarge},
		{"str32 larger than a frame", req(&BranchRegisterRequest{LockKey: strings.Repeat("k", MaxFrameLength+1)}), ErrFrameTooLarge},
		{"branch type 4", req(&BranchRegisterRequest{BranchType: 4}), ErrInvalidEnum},
		{"branch type 0xff (seata-go Unknown)", req(&BranchCommitRequest{BranchType: 0xff}), ErrInvalidEnum},
		{"branch status 14", req(&BranchReportRequest{Status: 14}), ErrInvalidEnum},
		{"global status 18", req(&GlobalCommitResponse{Result: ok, GlobalStatus: 18}), ErrInvalidEnum},
		{"global status unset in a response", req(&GlobalReportResponse{Result: ok, GlobalStatus: GlobalStatusUnset}), ErrInvalidEnum},
		{"result code 2", req(&BranchReportResponse{Result: Result{Code: 2}}), ErrInvalidEnum},
		{"exception code 24", req(&BranchReportResponse{Result: Result{Code: ResultFailed, ExceptionCode: 24}}), ErrInvalidEnum},
		{"batch in a batch", req(&MergedWarpMessage{Messages: []Message{&MergedWarpMessage{}}}), ErrInvalidMessage},
		{"response in a request batch", req(&MergedWarpMessage{Messages: []Message{&BranchReportResponse{}}}), ErrInvalidMessage},
		{"TC rollback request in a request batch", req(&MergedWarpMessage{Messages: []Message{&BranchRollbackRequest{}}}), ErrInvalidMessage},
		{"nil in a batch", req(&MergedWarpMessage{Messages: []Message{nil}}), ErrInvalidMessage},
		{"request in a result batch", req(&MergeResultMessage{Results: []Message{&GlobalBeginRequest{}}}), ErrInvalidMessage},
		{"branch rollback result in a result batch", req(&BatchResultMessage{Results: []Message{&BranchRollbackResponse{}}, MsgIDs: []int32{1}}), ErrInvalidMessage},
		{"msgIds short", req(&MergedWarpMessage{Messages: []Message{&GlobalStatusRequest{}}, MsgIDs: []int32{}}), ErrInvalidMessage},
		{"batch result without ids", req(&BatchResultMessage{Results: []Message{&BranchReportResponse{}}}), ErrInvalidMessage},
		{"batch of 32768", req(&MergeResultMessage{Results: make([]Message, math.MaxInt16+1)}), ErrFrameTooLarge},
	}
	for _, c := range cases {
		dst := []byte("prefix")
		out, err := AppendFrame(dst, c.f)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.err)
		}
		if string(out) != "prefix" {
			t.Errorf("%s: dst changed to %d bytes on error", c.name, len(out))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "atcc/protocol: ") {
			t.Errorf("%s: error text %q lacks the package prefix", c.name, err)
		}
	}
}

func TestLargestFrame(t *testing.T) {
	// 16 header + 2 type code + 2+1+2+4+4 of BranchRegisterRequest fields.
	m := &BranchRegisterRequest{LockKey: strings.Repeat("k", MaxFrameLength-16-15)}
	b, err := AppendFrame(nil, &Frame{Type: RequestSync, Codec: CodecSeata, Body: m})
	if err != nil || len(b) != MaxFrameLength {
		t.Fatalf("AppendFrame = %d bytes, %v; want %d", len(b), err, MaxFrameLength)
	}
	f, err := DecodeFrame(b)
	if err != nil || f.Body.(*BranchRegisterRequest).LockKey != m.LockKey {
		t.Fatalf("DecodeFrame: %v", err)
	}
}

func gzipFrame(t *testing.T, body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	b := header(int32(16+buf.Len()), 16, RequestSync, CodecSeata, CompressGzip)
	return append(b, buf.Bytes()...)
}

func TestGzip(t *testing.T) {
	body := readHex(t, "testdata/vectors/global_begin_request.hex")[16:]

	// A bomb: 13 KB of gzip inflating to more than 8 MiB.
	bomb := append(bytes.Clone(body), make([]byte, MaxFrameLength)...)
	b := gzipFrame(t, bomb)
	if len(b) > 64<<10 {
		t.Fatalf("bomb frame is %d bytes", len(b))
	}
	if _, err := DecodeFrame(b); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("gzip bomb: %v, want ErrDecompressedTooLarge", err)
	}
	// Exactly at the cap inflates, then fails as trailing bytes.
	atCap := append(bytes.Clone(body), make([]byte, MaxFrameLength-len(body))...)
	if _, err := DecodeFrame(gzipFrame(t, atCap)); !errors.Is(err, ErrCorruptFrame) || errors.Is(err, ErrDecompressedTooLarge) {
		t.Errorf("gzip at the cap: %v, want ErrCorruptFrame (trailing bytes)", err)
	}
	if _, err := DecodeFrame(gzipFrame(t, nil)); !errors.Is(err, ErrEmptyBody) {
		t.Errorf("empty gzip body: %v, want ErrEmptyBody", err)
	}
	good := gzipFrame(t, body)
	bad := bytes.Clone(good)
	bad[len(bad)-5] ^= 1 // break the CRC32
	if _, err := DecodeFrame(bad); !errors.Is(err, ErrCorruptFrame) {
		t.Errorf("bad gzip checksum: %v, want ErrCorruptFrame", err)
	}
	trailing := append(bytes.Clone(good), "junk"...)
	putU32(trailing[3:], uint32(len(trailing)))
	if _, err := DecodeFrame(trailing); !errors.Is(err, ErrCorruptFrame) {
		t.Errorf("junk after the gzip stream: %v, want ErrCorruptFrame", err)
	}
	if f, err := DecodeFrame(good); err != nil || f.Body.(*GlobalBeginRequest).TimeoutMillis != 60000 {
		t.Errorf("gzip frame: %v", err)
	}
}

func TestDecodeBodyErrors(t *testing.T) {
	merged := readHex(t, "testdata/vectors/merged_warp_message.hex")[16:]
	batch := readHex(t, "testdata/vectors/batch_result_message.hex")[16:]
	mergeResult := readHex(t, "testdata/vectors/merge_result_message.hex")[16:]
	mutate := func(b []byte, f func([]byte)) []byte {
		b = bytes.Clone(b)
		f(b)
		return b
	}
	cases := []struct {
		name  string
		b     []byte
		err   error
		typ   TypeCode
		field string
	}{
		{"empty", nil, ErrEmptyBody, 0, "body"},
		{"one byte", []byte{0}, ErrTruncated, 0, "typeCode"},
		{"bad identified still decodes strictly elsewhere", []byte{0, 102, 1, 0xff, 0xff}, ErrCorruptFrame, TypeRegisterTMResult, "version"},
		{"global report status 18", []byte{0, 17, 0, 0, 0, 0, 18}, ErrInvalidEnum, TypeGlobalReport, "globalStatus"},
		{"global status 0xff in a response", []byte{0, 8, 1, 0, 0xff}, ErrInvalidEnum, TypeGlobalCommitResult, "globalStatus"},
		{"result code 2", []byte{0, 14, 2, 0}, ErrInvalidEnum, TypeBranchReportResult, "resultCode"},
		{"exception code 24", []byte{0, 14, 1, 24}, ErrInvalidEnum, TypeBranchReportResult, "transactionExceptionCode"},
		{"branch type 4", []byte{0, 111, 4, 0, 0, 0, 7}, ErrInvalidEnum, TypeUndoLogDelete, "branchType"},
		{"branch status 14", mutate(readHex(t, "testdata/vectors/branch_commit_response.hex")[16:], func(b []byte) { b[len(b)-1] = 14 }), ErrInvalidEnum, TypeBranchCommitResult, "branchStatus"},
		{"negative str32", []byte{0, 103, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0}, ErrCorruptFrame, TypeRegisterRM, "resourceIds"},
		{"huge str32", []byte{0, 103, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}, ErrTruncated, TypeRegisterRM, "resourceIds"},
		{"contentLength too large", mutate(merged, func(b []byte) { b[5]++ }), ErrTruncated, TypeMergedWarp, "contentLength"},
		{"contentLength too small", mutate(merged, func(b []byte) { b[5]-- }), ErrCorruptFrame, TypeMergedWarp, "contentLength"},
		{"contentLength negative", mutate(merged, func(b []byte) { b[2] = 0xff }), ErrCorruptFrame, TypeMergedWarp, "contentLength"},
		{"count negative", mutate(merged, func(b []byte) { b[6] = 0xff }), ErrCorruptFrame, TypeMergedWarp, "count"},
		{"count 32767 in 186 bytes", mutate(merged, func(b []byte) { b[6], b[7] = 0x7f, 0xff }), ErrTruncated, TypeMergedWarp, "count"},
		{"count 3 of 2 (ids read as a message)", mutate(merged, func(b []byte) { b[7] = 3 }), ErrUnknownType, TypeMergedWarp, "messages[2]"},
		{"count 1 of 2 (a message read as ids)", mutate(merged, func(b []byte) { b[7] = 1 }), ErrCorruptFrame, TypeMergedWarp, "msgIds"},
		{"response inside MergedWarp", mutate(merged, func(b []byte) { b[9] = 12 }), ErrUnknownType, TypeMergedWarp, "messages[0]"},
		{"MergedWarp inside MergedWarp", mutate(merged, func(b []byte) { b[9] = 59 }), ErrUnknownType, TypeMergedWarp, "messages[0]"},
		{"broken inner message", mutate(merged, func(b []byte) { b[42] = 9 }), ErrInvalidEnum, TypeMergedWarp, "messages[0]"},
		{"partial msgIds", mutate(merged[:len(merged)-2], func(b []byte) { b[5] -= 2 }), ErrTruncated, TypeMergedWarp, "msgIds"},
		{"batch result without ids", mutate(batch[:len(batch)-8], func(b []byte) { b[5] -= 8 }), ErrTruncated, TypeBatchResult, "msgIds"},
		{"request inside BatchResult", mutate(batch, func(b []byte) { b[9] = 11 }), ErrUnknownType, TypeBatchResult, "messages[0]"},
		{"BatchResult inside MergeResult", mutate(mergeResult, func(b []byte) { b[9] = 121 }), ErrUnknownType, TypeMergeResult, "messages[0]"},
		{"ids after MergeResult", append(mutate(mergeResult, func(b []byte) { b[5] += 8 }), 0, 0, 0, 1, 0, 0, 0, 2), ErrCorruptFrame, TypeMergeResult, ""},
	}
	for _, c := range cases {
		m, err := DecodeBody(c.b)
		var de *DecodeError
		if m != nil || !errors.Is(err, c.err) || !errors.As(err, &de) || de.Type != c.typ || de.Field != c.field {
			t.Errorf("%s: DecodeBody = %v, %v; want %v at %v.%s", c.name, m, err, c.err, c.typ, c.field)
		}
	}
}

// TestDecodeBatchCountDoesNotPreallocate: a count field cannot make the
// decoder allocate more than the bytes present justify.
func TestDecodeBatchCountDoesNotPreallocate(t *testing.T) {
	// contentLength 2, count 32767, nothing else.
	b := []byte{0, 59, 0, 0, 0, 2, 0x7f, 0xff}
	if _, err := DecodeBody(b); !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v, want ErrTruncated", err)
	}
	if n := bytesAllocated(100, func() { DecodeBody(b) }); n > 512 { // the error values only
		t.Errorf("%d bytes allocated per decode of a lying count", n)
	}
}

// bytesAllocated returns the bytes f allocates per call, averaged over runs.
func bytesAllocated(runs int, f func()) uint64 {
	var before, after runtime.MemStats
	f()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func TestDecodeErrorText(t *testing.T) {
	b := readHex(t, "testdata/vectors/seata-go-v1.2.0-divergent/branch_report_response_failed.hex")
	_, err := DecodeFrame(b)
	want := "atcc/protocol: decode BranchReportResponse.msg: truncated: length 30036, 117 bytes left"
	if err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	merged := bytes.Clone(readHex(t, "testdata/vectors/merged_warp_message.hex")[16:])
	merged[42] = 9
	_, err = DecodeBody(merged)
	want = "atcc/protocol: decode MergedWarpMessage.messages[0]: decode BranchRegisterRequest.branchType: invalid enum value: BranchType 9"
	if err == nil || err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	var inner *DecodeError
	if !errors.As(errors.Unwrap(err), &inner) || inner.Type != TypeBranchRegister || inner.Field != "branchType" {
		t.Errorf("inner error %v: want BranchRegisterRequest.branchType", inner)
	}
}

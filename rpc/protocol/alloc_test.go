package protocol

import (
	"sync"
	"testing"
)

// benchFrames are the frames of the benchmarks: (a) GlobalBeginRequest, (b)
// BranchRegisterRequest with a 200-row lock key, (c) a MergedWarpMessage of
// 8 mixed BranchRegister/BranchReport requests.
func benchFrames() map[string]*Frame {
	reg := func(i int) *BranchRegisterRequest {
		return &BranchRegisterRequest{
			XID: xid, BranchType: BranchAT, ResourceID: "jdbc:mysql://10.0.0.5:3306/order_db",
			LockKey: "order_tbl:" + itoa(1000+i), ApplicationData: `{"autoCommit":false}`,
		}
	}
	rep := func(i int) *BranchReportRequest {
		return &BranchReportRequest{
			XID: xid, BranchID: 4567890123456790 + int64(i), Status: PhaseOneDone,
			ResourceID: "jdbc:mysql://10.0.0.5:3306/order_db", BranchType: BranchAT,
		}
	}
	merged := &MergedWarpMessage{}
	for i := range 8 {
		if i%2 == 0 {
			merged.Messages = append(merged.Messages, reg(i))
		} else {
			merged.Messages = append(merged.Messages, rep(i))
		}
		merged.MsgIDs = append(merged.MsgIDs, int32(100+i))
	}
	big := reg(0)
	big.LockKey = lockKey(200)
	return map[string]*Frame{
		"GlobalBegin": {Type: RequestSync, Codec: CodecSeata, RequestID: 5,
			Body: &GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "purchase(java.lang.String, int)"}},
		"BranchRegister200": {Type: RequestSync, Codec: CodecSeata, RequestID: 12, Body: big},
		"MergedWarp8":       {Type: RequestOneway, Codec: CodecSeata, RequestID: 21, Body: merged},
	}
}

func TestAppendFrameDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	frames := benchFrames()
	frames["Ping"] = &Frame{Type: HeartbeatRequest, Codec: CodecSeata, RequestID: 1}
	frames["WithHeadMap"] = &Frame{Type: RequestSync, Codec: CodecSeata, HeadMap: map[string]string{"sw8": "x", "a": "b"},
		Body: &GlobalCommitResponse{Result: Result{Code: ResultFailed, Msg: "failed", ExceptionCode: CodeIO}}}
	for name, f := range frames {
		buf := make([]byte, 0, 64<<10)
		if n := testing.AllocsPerRun(100, func() { buf, _ = AppendFrame(buf[:0], f) }); n != 0 {
			t.Errorf("%s: AppendFrame: %v allocs/op, want 0", name, n)
		}
		body := make([]byte, 0, 64<<10)
		if f.Body != nil {
			if n := testing.AllocsPerRun(100, func() { body, _ = AppendBody(body[:0], f.Body) }); n != 0 {
				t.Errorf("%s: AppendBody: %v allocs/op, want 0", name, n)
			}
		}
	}
}

// TestDecodeFrameAllocations pins the decode allocation budget: the Frame
// and its message share one allocation, and all strings of a body share
// another; batches add the item slice, the id slice and one per item.
func TestDecodeFrameAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	want := map[string]float64{"GlobalBegin": 2, "BranchRegister200": 2, "MergedWarp8": 12}
	for name, f := range benchFrames() {
		b := mustAppendFrame(t, f)
		if n := testing.AllocsPerRun(100, func() { DecodeFrame(b) }); n != want[name] {
			t.Errorf("%s: DecodeFrame: %v allocs/op, want %v", name, n, want[name])
		}
	}
	ping := mustAppendFrame(t, &Frame{Type: HeartbeatRequest, Codec: CodecSeata})
	if n := testing.AllocsPerRun(100, func() { DecodeFrame(ping) }); n != 1 {
		t.Errorf("ping: DecodeFrame: %v allocs/op, want 1", n)
	}
	noStrings := mustAppendFrame(t, &Frame{Type: Response, Codec: CodecSeata, Body: &BranchRegisterResponse{Result: Result{Code: ResultSuccess}, BranchID: 7}})
	if n := testing.AllocsPerRun(100, func() { DecodeFrame(noStrings) }); n != 1 {
		t.Errorf("response without strings: DecodeFrame: %v allocs/op, want 1", n)
	}
}

// TestConcurrentUse runs encoders and decoders (plain and gzip, which share
// pooled compressors) in parallel; run it with -race.
func TestConcurrentUse(t *testing.T) {
	msgs := sampleMessages()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			var buf []byte
			for i, m := range msgs {
				f := &Frame{Type: RequestSync, Codec: CodecSeata, Compressor: Compressor((g + i) % 2), RequestID: int32(g), Body: m}
				var err error
				buf, err = AppendFrame(buf[:0], f)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := DecodeFrame(buf)
				if err != nil || !equalFrames(got, f) {
					t.Errorf("goroutine %d, %v: %v", g, m.TypeCode(), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestAppendFrameAppends: AppendFrame appends after existing bytes and
// frames can be cut back out with FrameLength.
func TestAppendFrameAppends(t *testing.T) {
	var stream []byte
	var want []*Frame
	for i, m := range sampleMessages() {
		f := &Frame{Type: Response, Codec: CodecSeata, Compressor: Compressor(i % 2), RequestID: int32(i), Body: m}
		var err error
		if stream, err = AppendFrame(stream, f); err != nil {
			t.Fatal(err)
		}
		want = append(want, f)
	}
	for i := 0; len(stream) > 0; i++ {
		n, err := FrameLength(stream)
		if err != nil || n == 0 || n > len(stream) {
			t.Fatalf("frame %d: FrameLength = %d, %v", i, n, err)
		}
		f, err := DecodeFrame(stream[:n])
		if err != nil || !equalFrames(f, want[i]) {
			t.Fatalf("frame %d: %v", i, err)
		}
		stream = stream[n:]
	}
}

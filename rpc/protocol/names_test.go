package protocol

import (
	"strings"
	"testing"
)

// TestNamesDecodeFrame: decoding through a Names gives what DecodeFrame
// gives, the first time and when the names are interned, and no string
// aliases the input.
func TestNamesDecodeFrame(t *testing.T) {
	var n Names
	for round := range 2 {
		for i, m := range sampleMessages() {
			f := &Frame{Type: RequestSync, Codec: CodecSeata, Compressor: Compressor(i % 2), RequestID: int32(i), Body: m}
			b := mustAppendFrame(t, f)
			got, err := n.DecodeFrame(b)
			if err != nil || !equalFrames(got, f) {
				t.Fatalf("round %d, %v: %v", round, m.TypeCode(), err)
			}
			clear(b)
			if !equalFrames(got, f) {
				t.Fatalf("round %d, %v: the decoded frame aliases its input", round, m.TypeCode())
			}
		}
	}
	// Malformed frames fail as they do without a Names.
	for i, m := range sampleMessages() {
		b := mustAppendFrame(t, &Frame{Type: RequestSync, Codec: CodecSeata, RequestID: int32(i), Body: m})
		for cut := HeaderLength; cut < min(len(b), HeaderLength+160); cut++ {
			bad := append([]byte(nil), b[:cut]...)
			bad[offFullLength+3] = byte(cut) // a whole frame of cut bytes, truncated body
			bad[offFullLength+2] = byte(cut >> 8)
			_, want := DecodeFrame(bad)
			_, got := n.DecodeFrame(bad)
			if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
				t.Fatalf("%v cut at %d: %v, want %v", m.TypeCode(), cut, got, want)
			}
		}
	}
}

// TestNamesBounded: a Names keeps at most maxNames strings, none longer
// than maxNameLen, and still decodes every frame right.
func TestNamesBounded(t *testing.T) {
	var n Names
	for i := range 3 * maxNames {
		name := "tx-" + itoa(i)
		if i%5 == 0 {
			name = strings.Repeat("n", maxNameLen+1+i)
		}
		f := &Frame{Type: RequestSync, Codec: CodecSeata, RequestID: int32(i),
			Body: &GlobalBeginRequest{TimeoutMillis: 1000, TransactionName: name}}
		got, err := n.DecodeFrame(mustAppendFrame(t, f))
		if err != nil || !equalFrames(got, f) {
			t.Fatalf("%d: %v", i, err)
		}
		if len(n.m) > maxNames {
			t.Fatalf("%d: %d names kept", i, len(n.m))
		}
		for k := range n.m {
			if len(k) > maxNameLen {
				t.Fatalf("a name of %d bytes kept", len(k))
			}
		}
	}
}

// TestNamesDecodeAllocations pins what a Names saves once its names are
// interned: a GlobalBegin request decodes with 1 allocation (2 without),
// a BranchRegister keeps 2 (its XID and lock key need the copy).
func TestNamesDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	want := map[string]float64{"GlobalBegin": 1, "BranchRegister200": 2, "MergedWarp8": 12}
	for name, f := range benchFrames() {
		b := mustAppendFrame(t, f)
		var n Names
		if _, err := n.DecodeFrame(b); err != nil {
			t.Fatal(err)
		}
		if got := testing.AllocsPerRun(100, func() { n.DecodeFrame(b) }); got != want[name] {
			t.Errorf("%s: Names.DecodeFrame: %v allocs/op, want %v", name, got, want[name])
		}
	}
}

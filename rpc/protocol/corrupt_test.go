package protocol

import (
	"bytes"
	"errors"
	"testing"
)

// TestTruncations cuts every vector at every length, three ways: as a
// buffer that is simply too short, as a self-consistent frame whose
// fullLength was fixed up to match, and as a bare body for DecodeBody.
// Every field is mandatory and trailing bytes are refused, so each must be
// an error, and none may panic.
func TestTruncations(t *testing.T) {
	for name, b := range allVectorFrames(t) {
		for i := range len(b) {
			if f, err := DecodeFrame(b[:i]); err == nil {
				t.Errorf("%s[:%d]: decoded %+v", name, i, f)
			}
			if n, err := FrameLength(b[:i]); err != nil || n != 0 && n != len(b) {
				t.Errorf("%s[:%d]: FrameLength = %d, %v", name, i, n, err)
			}
		}
		head := headLen(b)
		if head == len(b) {
			continue // heartbeat
		}
		compressed := b[11] != 0
		for i := head; i < len(b); i++ {
			cut := bytes.Clone(b[:i])
			putU32(cut[3:], uint32(i))
			if f, err := DecodeFrame(cut); err == nil {
				t.Errorf("%s with body cut to %d bytes: decoded %+v", name, i-head, f)
			}
			if compressed {
				continue
			}
			if m, err := DecodeBody(b[head:i]); err == nil {
				t.Errorf("%s body[:%d]: decoded %+v", name, i-head, m)
			}
		}
	}
}

// TestMutations flips every byte of every vector to several values. Decoding
// must not panic; when it succeeds, encoding the result and decoding that
// must give the same value (the fuzz property, run deterministically).
func TestMutations(t *testing.T) {
	for name, b := range allVectorFrames(t) {
		for i := range b {
			for _, v := range []byte{0x00, 0x01, 0x7f, 0x80, 0xff, b[i] ^ 0x01, b[i] + 1} {
				m := bytes.Clone(b)
				m[i] = v
				checkFrameRoundTrip(t, name, m)
			}
		}
	}
}

// checkFrameRoundTrip decodes b; on success it re-encodes and re-decodes and
// fails t if the value changed.
func checkFrameRoundTrip(t testing.TB, name string, b []byte) {
	f, err := DecodeFrame(b)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("%s: %x: error %v is not a *DecodeError", name, b, err)
		}
		if f != nil {
			t.Fatalf("%s: %x: both a frame and an error", name, b)
		}
		return
	}
	if n, err := FrameLength(b); err != nil || n != len(b) {
		t.Fatalf("%s: %x: decoded, but FrameLength = %d, %v", name, b, n, err)
	}
	out, err := AppendFrame(nil, f)
	if err != nil {
		t.Fatalf("%s: %x: decoded, but AppendFrame: %v", name, b, err)
	}
	f2, err := DecodeFrame(out)
	if err != nil {
		t.Fatalf("%s: %x: re-encoded as %x, which does not decode: %v", name, b, out, err)
	}
	if !equalFrames(f, f2) {
		t.Fatalf("%s: %x: round trip changed the value:\n %+v\n %+v", name, b, f, f2)
	}
}

package protocol

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Fuzz targets. Their seed corpora live in testdata/fuzz/<FuzzName>/ and run
// with every `go test`; TestWriteFuzzCorpus (-update-corpus) regenerates
// them from the vectors. To fuzz:
//
//	go test -run '^$' -fuzz '^FuzzDecodeFrame$' -fuzztime 60s ./rpc/protocol/
//
// and the same for FuzzDecodeBody, FuzzFrameLength and FuzzExceptionCode.

// FuzzDecodeFrame: DecodeFrame never panics; what it accepts re-encodes to a
// frame that decodes to the same value.
func FuzzDecodeFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFrameRoundTrip(t, "fuzz", b)
	})
}

// FuzzDecodeBody: DecodeBody never panics; what it accepts re-encodes to a
// body that decodes to the same value and encodes to the same bytes again.
func FuzzDecodeBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeBody(b)
		if err != nil {
			var de *DecodeError
			if m != nil || !errors.As(err, &de) {
				t.Fatalf("%x: %v, %v", b, m, err)
			}
			return
		}
		out, err := AppendBody(nil, m)
		if err != nil {
			t.Fatalf("%x: decoded, but AppendBody: %v", b, err)
		}
		m2, err := DecodeBody(out)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("%x: round trip: %+v, %v; want %+v", b, m2, err, m)
		}
		out2, err := AppendBody(nil, m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("%x: encoding is not stable: %x, %x", b, out, out2)
		}
	})
}

// FuzzFrameLength: FrameLength never panics, agrees with DecodeFrame, and
// never changes its mind as more bytes arrive.
func FuzzFrameLength(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := FrameLength(b)
		switch {
		case err != nil:
			if n != 0 {
				t.Fatalf("%x: %d with error %v", b, n, err)
			}
			if _, derr := DecodeFrame(b); derr == nil {
				t.Fatalf("%x: FrameLength fails (%v) but DecodeFrame succeeds", b, err)
			}
		case n == 0:
			if len(b) >= 7 {
				t.Fatalf("%x: need more with %d bytes", b, len(b))
			}
		case n < HeaderLength || n > MaxFrameLength:
			t.Fatalf("%x: length %d out of range", b, n)
		}
		// A prefix fails only if the whole does (errors are final), and
		// when the whole is fine a prefix gives "need more" or the same
		// length. (A prefix may give a length that more bytes then show to
		// be corrupt: headLength is checked from 9 bytes on.)
		for i := range min(len(b), HeaderLength) {
			pn, perr := FrameLength(b[:i])
			if perr != nil && err == nil || err == nil && pn != 0 && pn != n {
				t.Fatalf("%x: prefix of %d bytes gives %d, %v; whole gives %d, %v", b, i, pn, perr, n, err)
			}
		}
		if f, derr := DecodeFrame(b); derr == nil && n != len(b) {
			t.Fatalf("%x: decoded %v but FrameLength = %d", b, f, n)
		}
	})
}

// FuzzExceptionCode: the version mapping never panics, never sends a code
// past the peer's table, and reads back what it sent.
func FuzzExceptionCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw uint8, version string) {
		got := ExceptionCodeFromPeer(raw, version)
		major, minor, ok := parseVersion(version)
		if ok && major < 2 && got > maxExceptionCode {
			t.Fatalf("FromPeer(%d, %q) = %d", raw, version, got)
		}
		c := ExceptionCode(raw % (uint8(maxExceptionCode) + 1))
		sent := ExceptionCodeForPeer(c, version)
		size := 19
		if ok {
			size = tableSize(major, minor)
		}
		if int(sent) >= size {
			t.Fatalf("ForPeer(%v, %q) = %d, past the peer's %d codes", c, version, sent, size)
		}
		if back := ExceptionCodeFromPeer(sent, version); sent != 0 && c != CodeLockKeyConflictFailFast && back != c {
			t.Fatalf("%q: %v -> %d -> %v", version, c, sent, back)
		}
	})
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed corpora from the vectors")

// TestWriteFuzzCorpus regenerates the seed corpora. It only runs with
// -update-corpus; regression inputs the fuzzer found (named by hash) are
// kept.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	write := func(target, name string, values ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&buf, "[]byte(%q)\n", v)
			case string:
				fmt.Fprintf(&buf, "string(%q)\n", v)
			case uint8:
				fmt.Fprintf(&buf, "byte(%q)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	frames := allVectorFrames(t)
	divergent, _ := filepath.Glob("testdata/vectors/seata-go-v1.2.0-divergent/*.hex")
	for _, p := range divergent {
		frames["seatago-"+filepath.Base(p[:len(p)-4])] = readHex(t, p)
	}
	extra := map[string]*Frame{
		"merged-no-ids":     {Type: RequestOneway, Codec: CodecSeata, Body: &MergedWarpMessage{Messages: []Message{&GlobalCommitRequest{XID: "x"}, &GlobalReportRequest{GlobalStatus: GlobalStatusUnset}}}},
		"merged-all-gzip":   {Type: RequestOneway, Codec: CodecSeata, Compressor: CompressGzip, Body: firstOf(TypeMergedWarp)},
		"merge-result-all":  {Type: Response, Codec: CodecSeata, Body: firstOf(TypeMergeResult)},
		"headmap-several":   {Type: RequestSync, Codec: CodecSeata, HeadMap: map[string]string{"sw8": "1", "": "", "k": "v"}, Body: &GlobalStatusRequest{XID: "x"}},
		"register-rm-empty": {Type: RequestSync, Codec: CodecSeata, Body: &RegisterRMRequest{}},
	}
	for name, f := range extra {
		frames[name] = mustAppendFrame(t, f)
	}
	frames["headmap-null"] = append(header(16+10+4, 16+10, RequestSync, CodecSeata, CompressNone),
		0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0, 1, 'b', 0, 15, 0, 0)
	for name, b := range frames {
		write("FuzzDecodeFrame", name, b)
		write("FuzzFrameLength", name, b[:min(len(b), 24)])
		f, err := DecodeFrame(b)
		if err != nil || f.Body == nil {
			continue
		}
		body, err := AppendBody(nil, f.Body)
		if err != nil {
			t.Fatal(err)
		}
		write("FuzzDecodeBody", name, body)
	}
	write("FuzzFrameLength", "j11-debris", []byte{0xda, 0xda, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 7})
	write("FuzzFrameLength", "v0", []byte{0xda, 0xda, 0, 0x90, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5})
	write("FuzzFrameLength", "too-large", header(MaxFrameLength+1, 16, 0, 1, 0))
	for _, v := range []string{"", "2.2.0", "1.5.2", "1.1.0", "1.7.0", "1.8.0-SNAPSHOT", "v2.0.0", "0.9", "x"} {
		for _, raw := range []uint8{0, 19, 20, 23, 255} {
			write("FuzzExceptionCode", fmt.Sprintf("%d-%s", raw, v), raw, v)
		}
	}
}

// firstOf returns the first sample message of type tc.
func firstOf(tc TypeCode) Message {
	for _, m := range sampleMessages() {
		if m.TypeCode() == tc {
			return m
		}
	}
	panic("no sample of " + tc.String())
}

package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// TestVectors decodes every frame the Java reference encoder produced,
// compares every header and body field with vectors.json, and re-encodes it
// byte for byte (the gzip frame: decode only, since another gzip encoder
// produces other bytes; its round trip is checked instead).
func TestVectors(t *testing.T) {
	frames := allVectorFrames(t)
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			b, ok := frames[v.Name]
			if !ok {
				t.Fatalf("no %s.hex", v.Name)
			}
			if hex.EncodeToString(b) != v.Hex {
				t.Fatalf("%s.hex and vectors.json disagree", v.Name)
			}
			if n, err := FrameLength(b); err != nil || n != len(b) {
				t.Fatalf("FrameLength = %d, %v; want %d", n, err, len(b))
			}
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if got := json.Number(jsonInt(int64(b[2]))); got != v.Version {
				t.Errorf("version = %s, want %s", got, v.Version)
			}
			if f.Type.String() != v.MessageType {
				t.Errorf("messageType = %v, want %s", f.Type, v.MessageType)
			}
			if num(uint8(f.Codec)) != v.Codec || num(uint8(f.Compressor)) != v.Compressor {
				t.Errorf("codec/compressor = %d/%d, want %s/%s", f.Codec, f.Compressor, v.Codec, v.Compressor)
			}
			if num(f.RequestID) != v.RequestID {
				t.Errorf("requestId = %d, want %s", f.RequestID, v.RequestID)
			}
			if len(f.HeadMap) != 0 || len(v.HeadMap) != 0 {
				if !reflect.DeepEqual(f.HeadMap, v.HeadMap) {
					t.Errorf("headMap = %v, want %v", f.HeadMap, v.HeadMap)
				}
			}
			if v.Body == nil {
				if f.Body != nil {
					t.Fatalf("body = %T, want none", f.Body)
				}
			} else {
				if f.Body == nil {
					t.Fatal("no body")
				}
				got := normalizeJSON(t, javaFields(f.Body))
				if !reflect.DeepEqual(got, v.Body) {
					t.Errorf("body fields:\n got %v\nwant %v", got, v.Body)
				}
			}

			if f.Compressor == CompressGzip {
				out := mustAppendFrame(t, f)
				f2, err := DecodeFrame(out)
				if err != nil {
					t.Fatalf("decode own gzip frame: %v", err)
				}
				if !equalFrames(f, f2) {
					t.Errorf("gzip round trip: %+v != %+v", f2, f)
				}
				return
			}
			if out := mustAppendFrame(t, f); !bytes.Equal(out, b) {
				t.Errorf("re-encoded frame differs:\n got %x\nwant %x", out, b)
			}
			if f.Body != nil {
				body, err := AppendBody(nil, f.Body)
				if err != nil || !bytes.Equal(body, b[headLen(b):]) {
					t.Errorf("AppendBody = %x, %v; want %x", body, err, b[headLen(b):])
				}
			}
		})
	}
}

func headLen(b []byte) int { return int(b[7])<<8 | int(b[8]) }

// normalizeJSON round-trips v through encoding/json, so that it compares
// equal to what vectors.json decodes to (with UseNumber).
func normalizeJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSeataGoDivergentFrames documents how the frames seata-go v1.2.0 sends
// instead of the Java ones (§10 D1, D2; testdata/vectors/seata-go-v1.2.0-
// divergent) are handled. They are not valid Seata frames: Java throws on
// every one of them, and so do we. None of them may decode to a value.
func TestSeataGoDivergentFrames(t *testing.T) {
	dir := "testdata/vectors/seata-go-v1.2.0-divergent"
	cases := []struct {
		file  string
		want  error
		typ   TypeCode
		field string
	}{
		// D1: a failed result's msg written with a 1-byte length. Read as the
		// i16 it is, the length covers far more than the frame holds, as
		// Java's BufferUnderflowException says.
		{"branch_report_response_failed", ErrTruncated, TypeBranchReportResult, "msg"},
		{"branch_rollback_response_failed", ErrTruncated, TypeBranchRollbackResult, "msg"},
		{"global_lock_query_response_failed", ErrTruncated, TypeGlobalLockQueryResult, "msg"},
		// D2: GlobalReportRequest sent as a bare 16-byte header (no codec for
		// type 17 in seata-go). Java decodes a null body and never answers.
		{"global_report_request", ErrEmptyBody, 0, "body"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b := readHex(t, filepath.Join(dir, c.file+".hex"))
			if n, err := FrameLength(b); err != nil || n != len(b) {
				t.Fatalf("FrameLength = %d, %v: the framing itself is fine", n, err)
			}
			f, err := DecodeFrame(b)
			if f != nil || !errors.Is(err, c.want) {
				t.Fatalf("DecodeFrame = %v, %v; want error %v", f, err, c.want)
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.Type != c.typ || de.Field != c.field {
				t.Fatalf("error %v: want a *DecodeError for %v.%s", err, c.typ, c.field)
			}
			// The Java frame of the same name decodes.
			if _, err := DecodeFrame(readHex(t, "testdata/vectors/"+c.file+".hex")); err != nil {
				t.Fatalf("Java frame: %v", err)
			}
		})
	}
}

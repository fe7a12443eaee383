package protocol

import (
	"encoding/binary"
	"math"
)

// Frame constants (§2).
const (
	// Magic starts every frame.
	Magic = 0xdada
	// ProtocolVersion is the version byte AppendFrame writes. Decoding
	// accepts any version >= 1, as Java does.
	ProtocolVersion = 1
	// HeaderLength is the size of the fixed header; it is also the size of a
	// heartbeat frame.
	HeaderLength = 16
	// MaxFrameLength is the largest frame (fullLength) Java accepts, and so
	// the largest this package reads or writes: 8 MiB.
	MaxFrameLength = 8 << 20
)

// Header field offsets.
const (
	offVersion     = 2
	offFullLength  = 3
	offHeadLength  = 7
	offMessageType = 9
	offCodec       = 10
	offCompressor  = 11
	offRequestID   = 12
)

// AppendFrame appends the encoding of f to dst and returns the extended
// buffer. It computes fullLength and headLength, writes the head map (in
// no particular order, as Java does) and the body, compressed as
// f.Compressor says.
//
// Heartbeat frames (HeartbeatRequest, HeartbeatResponse) must have a nil
// Body; their Codec and Compressor bytes are written as given and not
// checked, so a PONG can echo the PING's. Other frames need a Body, Codec
// CodecSeata (else ErrUnsupportedCodec) and Compressor CompressNone or
// CompressGzip (else ErrUnsupportedCompressor).
//
// AppendFrame refuses frames larger than MaxFrameLength (ErrFrameTooLarge),
// str16 and head-map strings of 32768 bytes or more (ErrStringTooLong),
// enum values a Java peer would reject (ErrInvalidEnum) and malformed
// batches (ErrInvalidMessage). The one exception is Result.Msg of a failed
// result, which is cut to at most 32767 bytes at a UTF-8 boundary (§11 J4).
// On error it returns dst unchanged (bytes beyond len(dst) in its capacity
// may have been overwritten).
//
// With CompressNone and enough capacity in dst, AppendFrame does not
// allocate. With CompressGzip it allocates a scratch copy of the body and
// borrows a compressor from a pool.
//
// AppendFrame is safe for concurrent use; f is only read.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	if f == nil {
		return dst, &encodeError{field: "frame", err: errorf(ErrInvalidMessage, "nil frame")}
	}
	if err := checkHeader(f); err != nil {
		return dst, err
	}
	start := len(dst)
	e := encoder{b: dst}
	e.b = append(e.b, Magic>>8, Magic&0xff, ProtocolVersion,
		0, 0, 0, 0, // fullLength, set below
		0, 0, // headLength, set below
		uint8(f.Type), uint8(f.Codec), uint8(f.Compressor))
	e.i32(f.RequestID)
	for k, v := range f.HeadMap {
		e.str16("headMap", k)
		e.str16("headMap", v)
	}
	headLen := len(e.b) - start
	if headLen > math.MaxInt16 {
		e.fail("headMap", errorf(ErrFrameTooLarge, "head map of %d bytes, max %d", headLen-HeaderLength, math.MaxInt16-HeaderLength))
	}
	if !f.Type.isHeartbeat() {
		if f.Compressor == CompressGzip {
			e.gzipMessage(f.Body)
		} else {
			e.message(f.Body)
		}
	}
	if e.err != nil {
		return dst, e.err
	}
	full := len(e.b) - start
	if full > MaxFrameLength {
		return dst, &encodeError{field: "fullLength", err: errorf(ErrFrameTooLarge, "%d bytes, max %d", full, MaxFrameLength)}
	}
	binary.BigEndian.PutUint32(e.b[start+offFullLength:], uint32(full))
	binary.BigEndian.PutUint16(e.b[start+offHeadLength:], uint16(headLen))
	return e.b, nil
}

// checkHeader validates the header fields of f before anything is written.
func checkHeader(f *Frame) error {
	switch {
	case f.Type > maxMessageType:
		return &encodeError{field: "messageType", err: errorf(ErrInvalidEnum, "MessageType %d", f.Type)}
	case f.Type.isHeartbeat():
		if f.Body != nil {
			return &encodeError{field: "body", err: errorf(ErrInvalidMessage, "%v frame with a body", f.Type)}
		}
		return nil
	case f.Body == nil:
		return &encodeError{field: "body", err: ErrEmptyBody}
	case f.Codec != CodecSeata:
		return &encodeError{field: "codec", err: errorf(ErrUnsupportedCodec, "%v", f.Codec)}
	case f.Compressor != CompressNone && f.Compressor != CompressGzip:
		return &encodeError{field: "compressor", err: errorf(ErrUnsupportedCompressor, "%v", f.Compressor)}
	}
	return nil
}

// FrameLength returns the total length of the frame at the start of b, so a
// reader knows how many bytes to wait for. It returns (0, nil) when fewer
// than 7 bytes are present and nothing wrong is visible yet.
//
// It checks, as soon as the bytes are present: the magic (ErrBadMagic), the
// version byte (0 is the unsupported v0 protocol: ErrUnsupportedVersion),
// fullLength (below 16: ErrCorruptFrame; above MaxFrameLength:
// ErrFrameTooLarge), and, from 9 bytes on, headLength (below 16 or above
// fullLength: ErrCorruptFrame). Any error means the stream has lost sync and
// the connection must be closed. Errors are *DecodeError values.
//
// FrameLength does not allocate unless it fails. It is safe for concurrent
// use.
func FrameLength(b []byte) (int, error) {
	if len(b) > 0 && b[0] != Magic>>8 || len(b) > 1 && b[1] != Magic&0xff {
		return 0, &DecodeError{Field: "magic", Err: ErrBadMagic}
	}
	if len(b) > offVersion && b[offVersion] == 0 {
		return 0, &DecodeError{Field: "version", Err: errorf(ErrUnsupportedVersion, "version 0 (pre-0.7 protocol)")}
	}
	if len(b) < offHeadLength {
		return 0, nil
	}
	full := int(int32(binary.BigEndian.Uint32(b[offFullLength:])))
	if full < HeaderLength {
		return 0, &DecodeError{Field: "fullLength", Err: errorf(ErrCorruptFrame, "fullLength %d, min %d", full, HeaderLength)}
	}
	if full > MaxFrameLength {
		return 0, &DecodeError{Field: "fullLength", Err: errorf(ErrFrameTooLarge, "fullLength %d, max %d", full, MaxFrameLength)}
	}
	if len(b) >= offMessageType {
		head := int(int16(binary.BigEndian.Uint16(b[offHeadLength:])))
		if head < HeaderLength || head > full {
			return 0, &DecodeError{Field: "headLength", Err: errorf(ErrCorruptFrame, "headLength %d, fullLength %d", head, full)}
		}
	}
	return full, nil
}

// DecodeFrame decodes one frame; b must be exactly that frame, as
// FrameLength measured it (a shorter b is ErrTruncated, a longer one
// ErrCorruptFrame). It decodes the header and the head map (a null value
// becomes ""), inflates a gzip body (capped at MaxFrameLength:
// ErrDecompressedTooLarge) and decodes the body. Heartbeat frames must have
// no body and yield a nil Body; other frames need one (ErrEmptyBody) with
// codec CodecSeata (ErrUnsupportedCodec) and compressor NONE or GZIP
// (ErrUnsupportedCompressor). The message type byte must be 0-4.
//
// DecodeFrame is stricter than Java only where Java peers never send such
// frames: trailing bytes after a message, a batch contentLength that does
// not match the bytes, message type bytes above 4 (Java would dispatch on
// the body) and heartbeats with a body (Java would ignore it) are errors.
//
// Errors are *DecodeError values wrapping one of the package's sentinels
// (see the Err variables for what to do with them).
//
// The result does not alias b, so the caller may reuse b at once. The
// strings of the body share one copy of the (inflated) body, made with a
// single allocation: keeping any of them keeps that copy alive. Use
// strings.Clone on a small field of a large message that you keep for long.
// The Frame and its Body are allocated together.
//
// DecodeFrame never panics and is safe for concurrent use.
func DecodeFrame(b []byte) (*Frame, error) { return decodeFrame(b, nil) }

// decodeFrame is DecodeFrame, interning names in names if not nil.
func decodeFrame(b []byte, names *Names) (*Frame, error) {
	full, err := FrameLength(b)
	switch {
	case err != nil:
		return nil, err
	case full == 0:
		return nil, &DecodeError{Field: "fullLength", Err: errorf(ErrTruncated, "have %d bytes, need at least %d", len(b), HeaderLength)}
	case len(b) < full:
		return nil, &DecodeError{Field: "fullLength", Err: errorf(ErrTruncated, "frame of %d bytes, have %d", full, len(b))}
	case len(b) > full:
		return nil, &DecodeError{Field: "fullLength", Err: errorf(ErrCorruptFrame, "fullLength %d, have %d bytes", full, len(b))}
	}
	if len(b) < HeaderLength { // cannot happen after FrameLength; keeps the reads below obviously safe
		return nil, &DecodeError{Field: "fullLength", Err: ErrTruncated}
	}
	headLen := int(binary.BigEndian.Uint16(b[offHeadLength:]))
	typ := MessageType(b[offMessageType])
	codec := Codec(b[offCodec])
	comp := Compressor(b[offCompressor])
	id := int32(binary.BigEndian.Uint32(b[offRequestID:]))
	if typ > maxMessageType {
		return nil, &DecodeError{Field: "messageType", Err: errorf(ErrCorruptFrame, "messageType %d", typ)}
	}
	head, err := decodeHeadMap(b[HeaderLength:headLen])
	if err != nil {
		return nil, err
	}
	body := b[headLen:]
	if typ.isHeartbeat() {
		if len(body) != 0 {
			return nil, &DecodeError{Field: "body", Err: errorf(ErrCorruptFrame, "%v frame with a %d-byte body", typ, len(body))}
		}
		return &Frame{Type: typ, Codec: codec, Compressor: comp, RequestID: id, HeadMap: head}, nil
	}
	if codec != CodecSeata {
		return nil, &DecodeError{Field: "codec", Err: errorf(ErrUnsupportedCodec, "%v", codec)}
	}
	if len(body) == 0 {
		return nil, &DecodeError{Field: "body", Err: ErrEmptyBody}
	}
	switch comp {
	case CompressNone:
	case CompressGzip:
		if body, err = gunzip(body); err != nil {
			return nil, &DecodeError{Field: "body", Err: err}
		}
	default:
		return nil, &DecodeError{Field: "compressor", Err: errorf(ErrUnsupportedCompressor, "%v", comp)}
	}
	d := decoder{buf: body, names: names}
	f, m := d.body(true)
	if d.err != nil {
		return nil, d.err
	}
	f.Type, f.Codec, f.Compressor, f.RequestID, f.HeadMap, f.Body = typ, codec, comp, id, head, m
	return f, nil
}

// decodeHeadMap decodes the head map: hstr key, hstr value, until b is used
// up. Length -1 (null) decodes as "". The last duplicate key wins, as in
// Java. Its strings share one copy of b. An empty b gives a nil map.
func decodeHeadMap(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	m := make(map[string]string)
	d := decoder{buf: b}
	for d.err == nil && d.left() > 0 {
		k := d.hstr("headMap")
		v := d.hstr("headMap")
		if d.err == nil {
			m[k] = v
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

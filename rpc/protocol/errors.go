package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by this package. They arrive wrapped (in a *DecodeError or
// with detail text); test for them with errors.Is.
//
// An error from FrameLength means the stream has lost sync: close the
// connection (§2, J11). A DecodeFrame error on a frame whose length was
// fine leaves the framing intact; Java closes the channel on such decode
// errors, and the caller may do the same or drop the frame, in which case
// the sender times out.
var (
	// ErrBadMagic: the frame does not start with 0xdada.
	ErrBadMagic = errors.New("atcc/protocol: bad magic")
	// ErrUnsupportedVersion: the protocol version byte is 0, the pre-0.7
	// protocol (v0), which this package does not implement. Any version byte
	// >= 1 is accepted, as Java does.
	ErrUnsupportedVersion = errors.New("atcc/protocol: unsupported protocol version")
	// ErrCorruptFrame: lengths or values contradict each other (fullLength or
	// headLength below 16, headLength > fullLength, a negative length, a batch
	// contentLength that does not match the bytes, trailing bytes, ...).
	ErrCorruptFrame = errors.New("atcc/protocol: corrupt frame")
	// ErrFrameTooLarge: a frame larger than MaxFrameLength, or a field that
	// cannot fit into one (a str32 larger than a frame, a head map larger
	// than the i16 headLength allows, a batch of more than 32767 messages).
	ErrFrameTooLarge = errors.New("atcc/protocol: frame too large")
	// ErrTruncated: a length or a fixed-size field points past the bytes
	// present.
	ErrTruncated = errors.New("atcc/protocol: truncated")
	// ErrUnknownType: a body type code that is not defined, or that is not
	// allowed where it appears (a batch inside a batch, a response inside a
	// MergedWarpMessage, the heartbeat code 120 inside a body).
	ErrUnknownType = errors.New("atcc/protocol: unknown message type")
	// ErrUnsupportedCodec: a non-heartbeat frame whose codec is not
	// CodecSeata.
	ErrUnsupportedCodec = errors.New("atcc/protocol: unsupported codec")
	// ErrUnsupportedCompressor: a non-heartbeat frame whose compressor is
	// neither CompressNone nor CompressGzip.
	ErrUnsupportedCompressor = errors.New("atcc/protocol: unsupported compressor")
	// ErrStringTooLong: a str16 or head-map string of 32768 bytes or more
	// (Java reads the length as signed, §11 J4).
	ErrStringTooLong = errors.New("atcc/protocol: string too long")
	// ErrDecompressedTooLarge: a compressed body inflates past
	// MaxFrameLength.
	ErrDecompressedTooLarge = errors.New("atcc/protocol: decompressed body too large")
	// ErrInvalidEnum: an enum byte outside the range the 2.x Java tables
	// define. Java decodes enums strictly, so such a value breaks the frame
	// on the Java side too (§11 J5).
	ErrInvalidEnum = errors.New("atcc/protocol: invalid enum value")
	// ErrEmptyBody: a non-heartbeat frame without a body (seata-go v1.2.0
	// sends GlobalReportRequest that way, §10 D2), or an attempt to encode
	// one.
	ErrEmptyBody = errors.New("atcc/protocol: empty body")
	// ErrInvalidMessage: a message that cannot be encoded as given: a nil
	// message, a heartbeat frame with a body, a message type not allowed in
	// a batch, or batch MsgIDs that do not match the messages.
	ErrInvalidMessage = errors.New("atcc/protocol: invalid message")
)

const errPrefix = "atcc/protocol: "

// detailError is a sentinel with detail text (lengths, values). It is built
// only on error paths.
type detailError struct {
	err    error
	detail string
}

func (e *detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.err }

// errorf wraps a sentinel with formatted detail text.
func errorf(sentinel error, format string, args ...any) error {
	return &detailError{sentinel, fmt.Sprintf(format, args...)}
}

// DecodeError reports where decoding failed. Err is, or wraps, one of the
// package's sentinel errors, so errors.Is(err, ErrTruncated) and the like
// work through it.
type DecodeError struct {
	// Type is the body type code of the message being decoded, or 0 for the
	// frame header, the head map and the body envelope.
	Type TypeCode
	// Field is the Java name of the field (e.g. "lockKey"), a header field
	// (e.g. "fullLength"), or "messages[i]" for a message inside a batch, in
	// which case Err is the inner message's *DecodeError.
	Field string
	// Err is the cause.
	Err error
}

// Error reads like "atcc/protocol: decode BranchRegisterRequest.lockKey:
// truncated: length 90, 12 bytes left".
func (e *DecodeError) Error() string {
	where := "frame"
	if e.Type != 0 {
		where = e.Type.String()
	}
	return errPrefix + "decode " + where + "." + e.Field + ": " + strings.TrimPrefix(e.Err.Error(), errPrefix)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// encodeError reports which field could not be encoded. It is unexported:
// callers match the cause with errors.Is; the text names the field.
type encodeError struct {
	typ   TypeCode
	field string
	err   error
}

func (e *encodeError) Error() string {
	where := "frame"
	if e.typ != 0 {
		where = e.typ.String()
	}
	return errPrefix + "encode " + where + "." + e.field + ": " + strings.TrimPrefix(e.err.Error(), errPrefix)
}

func (e *encodeError) Unwrap() error { return e.err }

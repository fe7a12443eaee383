package protocol

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// maxStr16 is the longest str16 (and head-map string) Java can read back: it
// reads the i16 length as signed (§11 J4).
const maxStr16 = math.MaxInt16

// encoder appends big-endian fields to b. The first error sticks in err;
// later writes still append, and the caller discards b when err is set.
// It lives on the caller's stack: the encode paths call the messages'
// encode methods statically (see encodeMessage), so it does not escape.
type encoder struct {
	b   []byte
	tc  TypeCode // message being encoded, for error context
	err error
}

func (e *encoder) fail(field string, err error) {
	if e.err == nil {
		e.err = &encodeError{typ: e.tc, field: field, err: err}
	}
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) i16(v int16)  { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) i32(v int32)  { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) i64(v int64)  { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) bool8(v bool) { e.u8(b2u(v)) }

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// str16 writes an i16 byte count and the bytes. An empty string is written
// as length 0, like Java's null.
func (e *encoder) str16(field, s string) {
	if len(s) > maxStr16 {
		e.fail(field, errorf(ErrStringTooLong, "%d bytes, max %d", len(s), maxStr16))
		return
	}
	e.i16(int16(len(s)))
	e.b = append(e.b, s...)
}

// str32 writes an i32 byte count and the bytes.
func (e *encoder) str32(field, s string) {
	if len(s) > MaxFrameLength {
		e.fail(field, errorf(ErrFrameTooLarge, "%d bytes, max %d", len(s), MaxFrameLength))
		return
	}
	e.i32(int32(len(s)))
	e.b = append(e.b, s...)
}

// failureMsg writes the msg of a failed result. Unlike other str16 fields
// it is truncated rather than refused: failure texts come from error
// messages of any length, and losing the tail of one must not turn a
// failure response into no response. The cut is at or below 32767 bytes, on
// a UTF-8 boundary (§11 J4).
func (e *encoder) failureMsg(s string) {
	e.str16("msg", truncateUTF8(s, maxStr16))
}

// truncateUTF8 returns s cut to at most n bytes without splitting a UTF-8
// sequence. Invalid UTF-8 is cut at n bytes.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for cut := n; cut > n-utf8.UTFMax && cut > 0; cut-- {
		if utf8.RuneStart(s[cut]) {
			return s[:cut]
		}
	}
	return s[:n]
}

func (e *encoder) branchType(field string, v BranchType) {
	if v > maxBranchType {
		e.fail(field, errorf(ErrInvalidEnum, "BranchType %d", v))
	}
	e.u8(uint8(v))
}

func (e *encoder) branchStatus(field string, v BranchStatus) {
	if v > maxBranchStatus {
		e.fail(field, errorf(ErrInvalidEnum, "BranchStatus %d", v))
	}
	e.u8(uint8(v))
}

// globalStatus writes a GlobalStatus; unset (0xFF) is only allowed where the
// layout gives it a meaning (GlobalReportRequest).
func (e *encoder) globalStatus(field string, v GlobalStatus, unsetOK bool) {
	if v > maxGlobalStatus && !(unsetOK && v == GlobalStatusUnset) {
		e.fail(field, errorf(ErrInvalidEnum, "GlobalStatus %d", v))
	}
	e.u8(uint8(v))
}

// result writes the TxResultPrefix (§5): msg only when the result failed.
func (e *encoder) result(r *Result) {
	if r.Code > maxResultCode {
		e.fail("resultCode", errorf(ErrInvalidEnum, "ResultCode %d", r.Code))
	}
	e.u8(uint8(r.Code))
	if r.Code == ResultFailed {
		e.failureMsg(r.Msg)
	}
	if r.ExceptionCode > maxExceptionCode {
		e.fail("transactionExceptionCode", errorf(ErrInvalidEnum, "ExceptionCode %d", r.ExceptionCode))
	}
	e.u8(uint8(r.ExceptionCode))
}

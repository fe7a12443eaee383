package protocol

import (
	"encoding/binary"
)

// decoder reads big-endian fields from buf. Every read checks the bytes
// left first; the first error sticks in err and later reads return zero
// values, so message decoders read their fields straight through and the
// caller checks err once.
//
// Strings never alias buf: the first non-empty string copies buf into
// backing (one allocation), and every string is a substring of it. So the
// strings of one decoded body share one allocation, which stays alive as
// long as any of them does.
type decoder struct {
	buf     []byte
	off     int
	backing string   // copy of buf, made on the first non-empty string
	tc      TypeCode // message being decoded, for error context
	err     error
	names   *Names // interns the name fields (name16, name32); nil: none
}

func (d *decoder) fail(field string, err error) {
	if d.err == nil {
		d.err = &DecodeError{Type: d.tc, Field: field, Err: err}
	}
}

func (d *decoder) left() int { return len(d.buf) - d.off }

// short records that field needs n bytes that are not there.
func (d *decoder) short(field string, n int) {
	d.fail(field, errorf(ErrTruncated, "need %d bytes, %d left", n, d.left()))
}

func (d *decoder) u8(field string) uint8 {
	if d.err != nil || d.left() < 1 {
		d.short(field, 1)
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

func (d *decoder) i16(field string) int16 {
	if d.err != nil || d.left() < 2 {
		d.short(field, 2)
		return 0
	}
	v := binary.BigEndian.Uint16(d.buf[d.off:])
	d.off += 2
	return int16(v)
}

func (d *decoder) i32(field string) int32 {
	if d.err != nil || d.left() < 4 {
		d.short(field, 4)
		return 0
	}
	v := binary.BigEndian.Uint32(d.buf[d.off:])
	d.off += 4
	return int32(v)
}

func (d *decoder) i64(field string) int64 {
	if d.err != nil || d.left() < 8 {
		d.short(field, 8)
		return 0
	}
	v := binary.BigEndian.Uint64(d.buf[d.off:])
	d.off += 8
	return int64(v)
}

// bool8 reads a one-byte flag the way Java does: true only for 1.
func (d *decoder) bool8(field string) bool { return d.u8(field) == 1 }

func (d *decoder) str16(field string) string { return d.str(field, int(d.i16(field))) }
func (d *decoder) str32(field string) string { return d.str(field, int(d.i32(field))) }

// hstr reads a head-map string: length -1 is null, decoded as "".
func (d *decoder) hstr(field string) string {
	n := int(d.i16(field))
	if n == -1 {
		return ""
	}
	return d.str(field, n)
}

// name16 and name32 read a string that repeats from frame to frame (see
// Names): from d.names when there is one and the string is short, else as
// str16 and str32 do.
func (d *decoder) name16(field string) string { return d.name(field, int(d.i16(field))) }
func (d *decoder) name32(field string) string { return d.name(field, int(d.i32(field))) }

func (d *decoder) name(field string, n int) string {
	if d.names == nil || d.err != nil || n <= 0 || n > maxNameLen || n > d.left() {
		return d.str(field, n)
	}
	s := d.names.intern(d.buf[d.off : d.off+n])
	d.off += n
	return s
}

// str reads n bytes as a string that does not alias buf.
func (d *decoder) str(field string, n int) string {
	switch {
	case d.err != nil:
		return ""
	case n < 0:
		d.fail(field, errorf(ErrCorruptFrame, "negative length %d", n))
		return ""
	case n == 0:
		return ""
	case n > d.left():
		d.fail(field, errorf(ErrTruncated, "length %d, %d bytes left", n, d.left()))
		return ""
	}
	if d.backing == "" {
		d.backing = string(d.buf)
	}
	s := d.backing[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) branchType(field string) BranchType {
	v := d.u8(field)
	if v > uint8(maxBranchType) {
		d.fail(field, errorf(ErrInvalidEnum, "BranchType %d", v))
	}
	return BranchType(v)
}

func (d *decoder) branchStatus(field string) BranchStatus {
	v := d.u8(field)
	if v > uint8(maxBranchStatus) {
		d.fail(field, errorf(ErrInvalidEnum, "BranchStatus %d", v))
	}
	return BranchStatus(v)
}

func (d *decoder) globalStatus(field string, unsetOK bool) GlobalStatus {
	v := GlobalStatus(d.u8(field))
	if v > maxGlobalStatus && !(unsetOK && v == GlobalStatusUnset) {
		d.fail(field, errorf(ErrInvalidEnum, "GlobalStatus %d", v))
	}
	return v
}

// result reads the TxResultPrefix (§5).
func (d *decoder) result(r *Result) {
	code := d.u8("resultCode")
	if code > uint8(maxResultCode) {
		d.fail("resultCode", errorf(ErrInvalidEnum, "ResultCode %d", code))
	}
	r.Code = ResultCode(code)
	if r.Code == ResultFailed {
		r.Msg = d.str16("msg")
	}
	ec := d.u8("transactionExceptionCode")
	if ec > uint8(maxExceptionCode) {
		d.fail("transactionExceptionCode", errorf(ErrInvalidEnum, "ExceptionCode %d", ec))
	}
	r.ExceptionCode = ExceptionCode(ec)
}

package undo

import (
	"encoding/binary"
	"fmt"
)

// The binary undo log format, version 1. All integers are varints
// (encoding/binary: unsigned LEB128; signed ones zig-zag), strings are a
// uvarint length and the bytes.
//
//	log    = "ATU" version:byte(1) xid:str branch:uvarint count:uvarint record*
//	record = op:byte schema:str table:str before:image after:image
//	image  = ncols:uvarint column:str* nrows:uvarint value*(nrows*ncols)
//	value  = kind:byte payload
//	         NULL: nothing; Int: varint; Uint: uvarint;
//	         Float32: 4 bytes, Float64: 8 bytes (IEEE bits, little endian);
//	         Decimal, String, Bytes, Time: str
//
// The decoder trusts nothing: every count and length is checked against the
// bytes that remain before anything is allocated, and trailing bytes are an
// error.
const (
	formatMagic   = "ATU"
	formatVersion = 1
)

// encodeLog appends l's encoding to dst.
func encodeLog(dst []byte, l *BranchLog) ([]byte, error) {
	size, err := encodedSize(l)
	if err != nil {
		return nil, err
	}
	if cap(dst)-len(dst) < size {
		dst = append(make([]byte, 0, len(dst)+size), dst...)
	}
	dst = append(dst, formatMagic...)
	dst = append(dst, formatVersion)
	dst = appendString(dst, l.XID)
	dst = binary.AppendUvarint(dst, uint64(l.BranchID))
	dst = binary.AppendUvarint(dst, uint64(len(l.Records)))
	for i := range l.Records {
		r := &l.Records[i]
		dst = append(dst, byte(r.Op))
		dst = appendString(dst, r.Schema)
		dst = appendString(dst, r.Table)
		dst = appendImage(dst, &r.Before)
		dst = appendImage(dst, &r.After)
	}
	return dst, nil
}

// encodedSize validates l and returns the length of its encoding.
func encodedSize(l *BranchLog) (int, error) {
	n := len(formatMagic) + 1 + strSize(l.XID) + uvarintSize(uint64(l.BranchID)) + uvarintSize(uint64(len(l.Records)))
	for i := range l.Records {
		r := &l.Records[i]
		if r.Op < OpInsert || r.Op > OpDelete {
			return 0, fmt.Errorf("%w: record %d: op %d", ErrInvalid, i, r.Op)
		}
		n += 1 + strSize(r.Schema) + strSize(r.Table)
		for _, img := range [2]*Image{&r.Before, &r.After} {
			m, err := imageSize(img)
			if err != nil {
				return 0, fmt.Errorf("record %d (%s %s): %w", i, r.Op, r.Table, err)
			}
			n += m
		}
	}
	return n, nil
}

func imageSize(img *Image) (int, error) {
	n := uvarintSize(uint64(len(img.Columns))) + uvarintSize(uint64(len(img.Rows)))
	for _, c := range img.Columns {
		n += strSize(c)
	}
	if len(img.Columns) == 0 && len(img.Rows) > 0 {
		return 0, fmt.Errorf("%w: image has rows but no columns", ErrInvalid)
	}
	for j, row := range img.Rows {
		if len(row) != len(img.Columns) {
			return 0, fmt.Errorf("%w: row %d has %d values for %d columns", ErrInvalid, j, len(row), len(img.Columns))
		}
		for _, v := range row {
			n += valueSize(v)
		}
	}
	return n, nil
}

func appendImage(dst []byte, img *Image) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(img.Columns)))
	for _, c := range img.Columns {
		dst = appendString(dst, c)
	}
	dst = binary.AppendUvarint(dst, uint64(len(img.Rows)))
	for _, row := range img.Rows {
		for _, v := range row {
			dst = appendValue(dst, v)
		}
	}
	return dst
}

func appendValue(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.kind))
	switch v.kind {
	case KindInt:
		dst = binary.AppendVarint(dst, int64(v.num))
	case KindUint:
		dst = binary.AppendUvarint(dst, v.num)
	case KindFloat32:
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v.num))
	case KindFloat64:
		dst = binary.LittleEndian.AppendUint64(dst, v.num)
	case KindDecimal, KindString, KindBytes, KindTime:
		dst = appendString(dst, v.str)
	}
	return dst
}

func valueSize(v Value) int {
	switch v.kind {
	case KindInt:
		return 1 + uvarintSize(uint64(v.num<<1)^uint64(int64(v.num)>>63))
	case KindUint:
		return 1 + uvarintSize(v.num)
	case KindFloat32:
		return 5
	case KindFloat64:
		return 9
	case KindDecimal, KindString, KindBytes, KindTime:
		return 1 + strSize(v.str)
	}
	return 1
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func strSize(s string) int { return uvarintSize(uint64(len(s))) + len(s) }

func uvarintSize(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// decodeLog decodes an encoded BranchLog. The strings of the result share
// one copy of data; data itself is not retained.
func decodeLog(data []byte) (*BranchLog, error) {
	if len(data) < len(formatMagic)+1 || string(data[:len(formatMagic)]) != formatMagic {
		return nil, fmt.Errorf("%w: no atcc undo log header", ErrCorrupt)
	}
	if v := data[len(formatMagic)]; v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d", ErrUnsupportedFormat, v)
	}
	d := decoder{buf: data, s: string(data), off: len(formatMagic) + 1}
	l := &BranchLog{XID: d.str()}
	l.BranchID = int64(d.uvarint())
	// A record takes at least 7 bytes: op, two empty strings, two empty images.
	if n := d.count(7); n > 0 {
		l.Records = make([]Record, n)
		for i := range l.Records {
			r := &l.Records[i]
			r.Op = Op(d.byte())
			if d.err == nil && (r.Op < OpInsert || r.Op > OpDelete) {
				d.fail("op %d", r.Op)
			}
			r.Schema = d.str()
			r.Table = d.str()
			r.Before = d.image()
			r.After = d.image()
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && d.off != len(data) {
		d.fail("%d trailing bytes", len(data)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return l, nil
}

type decoder struct {
	buf []byte
	s   string // the same bytes as buf: strings are cut from it without copies
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, fmt.Sprintf(format, args...), d.off)
	}
}

func (d *decoder) remaining() int { return len(d.buf) - d.off }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.buf) {
		d.fail("truncated")
		return 0
	}
	b := d.buf[d.off]
	d.off++
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return x
}

// count reads a count of items that take at least min bytes each and checks
// that they can fit in what remains.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(d.remaining()/min) {
		d.fail("count %d exceeds the remaining %d bytes", n, d.remaining())
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(d.remaining()) {
		d.fail("string of %d bytes, %d remain", n, d.remaining())
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if d.remaining() < n {
		d.fail("truncated")
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) image() Image {
	var img Image
	ncols := d.count(1)
	if d.err != nil {
		return img
	}
	if ncols > 0 {
		img.Columns = make([]string, ncols)
		for i := range img.Columns {
			img.Columns[i] = d.str()
		}
	}
	nrows := d.uvarint()
	if d.err != nil {
		return img
	}
	if nrows == 0 {
		return img
	}
	// Every value takes at least one byte.
	if ncols == 0 || nrows > uint64(d.remaining()/ncols) {
		d.fail("%d rows of %d columns in %d bytes", nrows, ncols, d.remaining())
		return img
	}
	rows := MakeRows(int(nrows), ncols)
	for _, row := range rows {
		for i := range row {
			row[i] = d.value()
			if d.err != nil {
				return img
			}
		}
	}
	img.Rows = rows
	return img
}

func (d *decoder) value() Value {
	k := Kind(d.byte())
	switch k {
	case KindNull:
		return Value{}
	case KindInt:
		return Value{kind: k, num: uint64(d.varint())}
	case KindUint:
		return Value{kind: k, num: d.uvarint()}
	case KindFloat32:
		if b := d.fixed(4); b != nil {
			return Value{kind: k, num: uint64(binary.LittleEndian.Uint32(b))}
		}
	case KindFloat64:
		if b := d.fixed(8); b != nil {
			return Value{kind: k, num: binary.LittleEndian.Uint64(b)}
		}
	case KindDecimal, KindString, KindBytes, KindTime:
		return Value{kind: k, str: d.str()}
	default:
		d.fail("value kind %d", k)
	}
	return Value{}
}

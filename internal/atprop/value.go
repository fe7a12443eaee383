package atprop

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Value is one generated column value in canonical form: the text of a
// number, date or string, the bytes of a binary string, the decimal value
// of a BIT. The literal and the bound argument are rendered from it, in
// many forms for the same value.
type Value struct {
	Null bool
	S    string
}

// binCollate ends a string literal compared under utf8mb4_bin (see cmpVal).
const binCollate = " COLLATE utf8mb4_bin"

var (
	utf8Alphabet   = []string{"a", "A", "b", "B", "z", " ", "é", "É", "ß", "€", "😀", "'", "\\", "\n", "\x00", "%", "_", "\"", "\x1a", "\t"}
	latin1Alphabet = []string{"a", "A", "b", "B", "z", " ", "é", "É", "'", "\\", "\n", "%", "_", "\""}
	asciiAlphabet  = []string{"a", "A", "b", "B", "z", " ", "'", "\\", "\n", "%", "_", "\""}
	keyAlphabet    = []string{"a", "A", "b", "é", "E", " "}
)

// genValue returns a random value of type t; key values come from a small
// domain so that statements collide with existing rows.
func genValue(rng *rand.Rand, t colType, key bool) Value {
	switch t.kind {
	case kInt:
		return Value{S: genInt(rng, t, key)}
	case kDecimal:
		return Value{S: genDecimal(rng, t, key)}
	case kFloat:
		fs := []float32{0, 1.5, -2.25, 0.1, 3.4028235e38, 1e-7, 100, 7}
		return Value{S: strconv.FormatFloat(float64(fs[rng.IntN(len(fs))]), 'g', -1, 64)}
	case kDouble:
		ds := []float64{0, 1.5, -2.25, 0.1, 1.0000000000000002, 1e308, 5e-324, 100, 7, math.Pi}
		return Value{S: strconv.FormatFloat(ds[rng.IntN(len(ds))], 'g', -1, 64)}
	case kBit:
		if t.bits == 64 && rng.IntN(3) == 0 {
			return Value{S: strconv.FormatUint(math.MaxUint64-uint64(rng.IntN(3)), 10)}
		}
		return Value{S: strconv.FormatUint(rng.Uint64N(uint64(1)<<min(t.bits, 16)), 10)}
	case kString:
		alpha := utf8Alphabet
		switch {
		case key && t.charset == "ascii":
			alpha = keyAlphabet[:3]
		case key:
			alpha = keyAlphabet
		case t.charset == "latin1":
			alpha = latin1Alphabet
		case t.charset == "ascii":
			alpha = asciiAlphabet
		}
		n := rng.IntN(min(t.length, 6) + 1)
		if key {
			n = rng.IntN(min(t.length, 3) + 1)
		}
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(alpha[rng.IntN(len(alpha))])
		}
		return Value{S: b.String()}
	case kBinary:
		n := rng.IntN(min(t.length, 5) + 1)
		if key {
			n = rng.IntN(min(t.length, 3)) + 1
		}
		bs := make([]byte, n)
		for i := range bs {
			bs[i] = []byte{0, 0x41, 0x27, 0x5c, 0xff, 0x61, 0x20}[rng.IntN(7)]
		}
		return Value{S: string(bs)}
	case kEnum:
		return Value{S: t.members[rng.IntN(len(t.members))]}
	case kSet:
		var parts []string
		for _, m := range t.members {
			if rng.IntN(2) == 0 {
				parts = append(parts, m)
			}
		}
		return Value{S: strings.Join(parts, ",")}
	case kDate:
		d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(40)-20)
		if !key && rng.IntN(8) == 0 {
			return Value{S: []string{"1000-01-01", "9999-12-31", "0000-00-00"}[rng.IntN(3)]}
		}
		return Value{S: d.Format("2006-01-02")}
	case kTime:
		if rng.IntN(6) == 0 {
			return Value{S: []string{"-838:59:59", "838:59:59", "-00:00:01"}[rng.IntN(3)]}
		}
		return Value{S: fmt.Sprintf("%02d:%02d:%02d%s", rng.IntN(24), rng.IntN(60), rng.IntN(60), frac(rng, t.fsp))}
	case kDatetime, kTimestamp:
		base := time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
		d := base.Add(time.Duration(rng.IntN(72*3600)) * time.Second)
		s := d.Format("2006-01-02 15:04:05") + frac(rng, t.fsp)
		if t.kind == kDatetime && rng.IntN(8) == 0 {
			s = []string{"1000-01-01 00:00:00", "9999-12-31 23:59:59"}[rng.IntN(2)]
		}
		return Value{S: s}
	case kYear:
		return Value{S: strconv.Itoa([]int{1901, 2155, 2024, 1999, 2000}[rng.IntN(5)])}
	case kJSON:
		js := []string{`{}`, `[]`, `{"a": 1}`, `{"a":1, "b":[1,2,"x"]}`, `"s\"q"`, `null`, `1.50`, `{"k":"é😀"}`, `[1, {"z": null}]`}
		return Value{S: js[rng.IntN(len(js))]}
	case kUUID:
		us := []string{"00000000-0000-0000-0000-000000000000", "123e4567-e89b-12d3-a456-426614174000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "01234567-89ab-cdef-0123-456789abcdef"}
		return Value{S: us[rng.IntN(len(us))]}
	case kInet6:
		is := []string{"::", "::1", "127.0.0.1", "2001:db8::1", "::ffff:10.0.0.1", "fe80::abcd"}
		return Value{S: is[rng.IntN(len(is))]}
	}
	panic("atprop: unknown kind")
}

func frac(rng *rand.Rand, fsp int) string {
	if fsp == 0 || rng.IntN(3) == 0 {
		return ""
	}
	d := rng.IntN(int(math.Pow10(fsp)))
	return fmt.Sprintf(".%0*d", fsp, d)
}

func intRange(t colType) (lo, hi *big.Int) {
	if t.unsigned {
		return big.NewInt(0), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(t.bits)), big.NewInt(1))
	}
	hi = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(t.bits-1)), big.NewInt(1))
	lo = new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), uint(t.bits-1)))
	return lo, hi
}

func genInt(rng *rand.Rand, t colType, key bool) string {
	lo, hi := intRange(t)
	if !key && rng.IntN(6) == 0 {
		if rng.IntN(2) == 0 {
			return lo.String()
		}
		return hi.String()
	}
	n := int64(rng.IntN(40))
	if !key && !t.unsigned && rng.IntN(4) == 0 {
		n = -n
	}
	if t.bits == 64 && key && rng.IntN(6) == 0 {
		// beyond float64's exact integers
		return new(big.Int).Sub(hi, big.NewInt(int64(rng.IntN(3)))).String()
	}
	return strconv.FormatInt(n, 10)
}

func genDecimal(rng *rand.Rand, t colType, key bool) string {
	intDigits := t.prec - t.scale
	maxInt := min(intDigits, 4)
	if !key && rng.IntN(6) == 0 {
		maxInt = intDigits
	}
	var b strings.Builder
	if !t.unsigned && rng.IntN(4) == 0 {
		b.WriteByte('-')
	}
	n := rng.IntN(maxInt + 1)
	if n == 0 {
		b.WriteByte('0')
	}
	for i := 0; i < n; i++ {
		d := rng.IntN(10)
		if i == 0 && d == 0 {
			d = 1
		}
		b.WriteByte(byte('0' + d))
	}
	if t.scale > 0 {
		b.WriteByte('.')
		fd := t.scale
		if key {
			fd = min(fd, 1)
		}
		for i := 0; i < t.scale; i++ {
			if i < fd {
				b.WriteByte(byte('0' + rng.IntN(10)))
			} else {
				b.WriteByte('0')
			}
		}
	}
	s := b.String()
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
		s = s[1:]
	}
	return s
}

// quote renders s as a string literal, escaping in one of several ways.
func quote(rng *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			if rng.IntN(2) == 0 {
				b.WriteString("''")
			} else {
				b.WriteString(`\'`)
			}
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			if rng.IntN(2) == 0 {
				b.WriteString(`\t`)
			} else {
				b.WriteByte(c)
			}
		case 0:
			b.WriteString(`\0`)
		case 0x1a:
			b.WriteString(`\Z`)
		case '"':
			if rng.IntN(2) == 0 {
				b.WriteString(`\"`)
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// plainQuote renders s as a literal with the fixed escaping used in
// printed reproductions.
func plainQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\x1a", `\Z`)
	return "'" + r.Replace(s) + "'"
}

func hexLit(s string) string { return "X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "'" }

func bitLit(bs []byte, pad int) string {
	var b strings.Builder
	b.WriteString("b'")
	b.WriteString(strings.Repeat("0", pad))
	for _, c := range bs {
		fmt.Fprintf(&b, "%08b", c)
	}
	b.WriteByte('\'')
	return b.String()
}

func has4Byte(s string) bool {
	for _, r := range s {
		if r > 0xFFFF {
			return true
		}
	}
	return false
}

// literal renders v as an SQL literal of column type t, in a randomly
// chosen form with the same value.
func literal(rng *rand.Rand, t colType, v Value) string {
	if v.Null {
		return "NULL"
	}
	s := v.S
	switch t.kind {
	case kInt:
		n, _ := new(big.Int).SetString(s, 10)
		switch rng.IntN(8) {
		case 0:
			return "'" + s + "'"
		case 1:
			if n.Sign() >= 0 {
				return "0x" + strings.ToUpper(n.Text(16))
			}
		case 2:
			if n.Sign() >= 0 {
				return "+" + s
			}
			return "-0" + s[1:]
		case 3:
			return s + ".0"
		case 4:
			if n.Sign() >= 0 {
				return "00000000000000000000" + s
			}
		}
		return s
	case kDecimal:
		switch rng.IntN(6) {
		case 0:
			return "'" + s + "'"
		case 1:
			if strings.Contains(s, ".") {
				return s + "000000000000000000000"
			}
			return s + ".000000000000000000000000000000000000000000"
		case 2:
			if !strings.HasPrefix(s, "-") {
				return "+" + s
			}
		}
		return s
	case kFloat, kDouble:
		switch rng.IntN(4) {
		case 0:
			return "'" + s + "'"
		case 1:
			if !strings.ContainsAny(s, "e") {
				f, _ := strconv.ParseFloat(s, 64)
				return strconv.FormatFloat(f, 'e', -1, 64)
			}
		}
		return s
	case kBit:
		u, _ := strconv.ParseUint(s, 10, 64)
		bs := bitBytes(u, t.bits)
		switch rng.IntN(5) {
		case 0:
			return bitLit(bs, rng.IntN(3))
		case 1:
			return hexLit(string(bs))
		case 2:
			return "0x" + strings.ToUpper(strconv.FormatUint(u, 16))
		case 3:
			return "b'" + strconv.FormatUint(u, 2) + "'"
		}
		return s
	case kString:
		switch rng.IntN(9) {
		case 0:
			if t.charset == "utf8mb4" {
				return "_utf8mb4" + quote(rng, s)
			}
		case 1:
			if !has4Byte(s) && t.charset != "ascii" {
				return "N" + quote(rng, s)
			}
		case 2:
			if s != "" {
				return hexLit(s)
			}
		case 3:
			if t.charset == "utf8mb4" {
				return quote(rng, s) + binCollate
			}
		case 4:
			if t.charset == "latin1" {
				return "_latin1 " + hexLit(latin1Bytes(s))
			}
		}
		return quote(rng, s)
	case kBinary:
		switch rng.IntN(6) {
		case 0:
			if s != "" {
				return "0x" + strings.ToUpper(hex.EncodeToString([]byte(s)))
			}
		case 1:
			if s != "" {
				return bitLit([]byte(s), 8*rng.IntN(2))
			}
		case 2:
			return "_binary" + quote(rng, s)
		case 3:
			return quote(rng, s)
		}
		return hexLit(s)
	case kEnum:
		if rng.IntN(4) == 0 {
			for i, m := range t.members {
				if m == s {
					return strconv.Itoa(i + 1)
				}
			}
		}
		return quote(rng, s)
	case kSet:
		if rng.IntN(4) == 0 {
			mask := 0
			for _, p := range strings.Split(s, ",") {
				for i, m := range t.members {
					if m == p {
						mask |= 1 << i
					}
				}
			}
			return strconv.Itoa(mask)
		}
		return quote(rng, s)
	case kDate:
		switch rng.IntN(4) {
		case 0:
			if s != "0000-00-00" {
				return "DATE'" + s + "'"
			}
		case 1:
			return strings.ReplaceAll(s, "-", "")
		case 2:
			return "'" + strings.ReplaceAll(s, "-", "/") + "'"
		}
		return "'" + s + "'"
	case kTime:
		if rng.IntN(3) == 0 && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "8") {
			return "TIME'" + s + "'"
		}
		return "'" + s + "'"
	case kDatetime, kTimestamp:
		switch rng.IntN(4) {
		case 0:
			return "TIMESTAMP'" + s + "'"
		case 1:
			return strings.NewReplacer("-", "", " ", "", ":", "").Replace(s)
		}
		return "'" + s + "'"
	case kYear:
		if rng.IntN(3) == 0 {
			return "'" + s + "'"
		}
		return s
	}
	return quote(rng, s)
}

func latin1Bytes(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

func bitBytes(u uint64, bits int) []byte {
	n := (bits + 7) / 8
	bs := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		bs[i] = byte(u)
		u >>= 8
	}
	return bs
}

// arg renders v as a bound parameter of column type t.
func arg(rng *rand.Rand, t colType, v Value) any {
	if v.Null {
		return nil
	}
	s := v.S
	switch t.kind {
	case kInt:
		if t.unsigned {
			u, _ := strconv.ParseUint(s, 10, 64)
			return u
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		if rng.IntN(5) == 0 {
			return s
		}
		return n
	case kFloat, kDouble:
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case kBit:
		u, _ := strconv.ParseUint(s, 10, 64)
		if rng.IntN(2) == 0 {
			return bitBytes(u, t.bits)
		}
		return u
	case kBinary:
		return []byte(s)
	case kDatetime, kTimestamp:
		if t.kind == kDatetime && rng.IntN(3) == 0 && !strings.HasPrefix(s, "0000") {
			if tm, err := time.Parse("2006-01-02 15:04:05.999999", s); err == nil {
				return tm
			}
		}
	}
	return s
}

// formatArg renders a bound argument for a printed reproduction.
func formatArg(a any) string {
	switch v := a.(type) {
	case nil:
		return "NULL"
	case []byte:
		return hexLit(string(v))
	case string:
		return plainQuote(v)
	case time.Time:
		return "'" + v.Format("2006-01-02 15:04:05.999999") + "'"
	}
	return fmt.Sprint(a)
}

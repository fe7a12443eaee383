package sqlparse

import (
	"math"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/charset"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// value classifies one value expression of a bound statement.
func (b *builder) value(e ast.ExprNode) (Value, error) {
	switch x := e.(type) {
	case *argMarker:
		return Value{Kind: ValueArg, Arg: x.index}, nil
	case *ast.DefaultExpr:
		if x.Name == nil {
			return Value{Kind: ValueDefault}, nil
		}
	}
	if lit, ok := b.literal(e); ok {
		return Value{Kind: ValueLiteral, Literal: lit}, nil
	}
	f, err := b.node(e)
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: ValueExpr, Expr: f}, nil
}

// literal decodes a constant, folding parentheses and unary signs.
func (b *builder) literal(e ast.ExprNode) (any, bool) {
	switch x := e.(type) {
	case *test_driver.ValueExpr:
		return b.datum(x)
	case *ast.ParenthesesExpr:
		return b.literal(x.Expr)
	case *ast.UnaryOperationExpr:
		v, ok := b.literal(x.V)
		if !ok {
			return nil, false
		}
		switch x.Op {
		case opcode.Plus:
			if isNumber(v) {
				return v, true
			}
		case opcode.Minus:
			return negate(v)
		}
	}
	return nil, false
}

func (b *builder) datum(x *test_driver.ValueExpr) (any, bool) {
	switch x.Kind() {
	case test_driver.KindNull:
		return nil, true
	case test_driver.KindInt64:
		return x.GetInt64(), true
	case test_driver.KindUint64:
		return x.GetUint64(), true
	case test_driver.KindFloat32:
		return float64(x.GetFloat32()), true
	case test_driver.KindFloat64:
		return x.GetFloat64(), true
	case test_driver.KindMysqlDecimal:
		return Decimal(x.GetMysqlDecimal().String()), true
	case test_driver.KindString:
		cs := x.Type.GetCharset()
		if cs == charset.CharsetBin {
			return []byte(x.GetString()), true
		}
		if x.Type.GetFlag()&mysql.UnderScoreCharsetFlag != 0 {
			// An explicit introducer (_latin1'..', N'..'): the bytes mean
			// something else than in the connection's character set.
			return nil, false
		}
		s := x.GetString()
		if s == "" && b.mode.emptyStringIsNull {
			return nil, true
		}
		return s, true
	case test_driver.KindBytes:
		return []byte(x.GetString()), true
	case test_driver.KindBinaryLiteral:
		if cs := x.Type.GetCharset(); cs != "" && cs != charset.CharsetBin {
			return nil, false
		}
		// MariaDB reads X'..' as a string, 0x.., b'..' and 0b.. as
		// numbers where a number is wanted: tell them apart by the text.
		at := x.OriginTextPosition()
		if at < 0 || at+1 >= len(b.parsed) {
			return nil, false
		}
		switch c, next := b.parsed[at]|0x20, b.parsed[at+1]; {
		case c == 'x' && next == '\'':
			return []byte(x.GetBinaryLiteral()), true
		case c == '0' || (c == 'b' && next == '\''):
			return BitLiteral(x.GetBinaryLiteral()), true
		}
		return nil, false
	}
	return nil, false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, uint64, float64, Decimal:
		return true
	}
	return false
}

// negate applies a unary minus to a decoded number, with MySQL's result
// types: -9223372036854775808 is a BIGINT, a larger magnitude a DECIMAL.
func negate(v any) (any, bool) {
	switch n := v.(type) {
	case int64:
		if n == math.MinInt64 {
			return nil, false // -(-2^63) overflows BIGINT
		}
		return -n, true
	case uint64:
		if n == 1<<63 {
			return int64(math.MinInt64), true
		}
		return Decimal("-" + strconv.FormatUint(n, 10)), true
	case float64:
		return -n, true
	case Decimal:
		if s, ok := strings.CutPrefix(string(n), "-"); ok {
			return Decimal(s), true
		}
		return Decimal("-" + string(n)), true
	}
	return nil, false
}

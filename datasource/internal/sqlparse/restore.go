package sqlparse

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// unsupported is a reason a statement cannot be handled; it becomes
// Other.Reason.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// argMarker replaces a parser placeholder in a bound AST. It restores as
// "?" like the original and records its arg index in the fragment being
// written, so a Fragment's Args follow the restored text whatever order the
// parser's Restore methods visit their children in.
type argMarker struct {
	*test_driver.ParamMarkerExpr
	index int
}

// Restore writes "?" and records the arg index.
func (m *argMarker) Restore(ctx *format.RestoreCtx) error {
	w, ok := ctx.In.(*fragmentWriter)
	if !ok {
		return errors.New("placeholder restored outside a fragment")
	}
	w.buf = append(w.buf, '?')
	w.args = append(w.args, m.index)
	return nil
}

// GetValue returns a non-nil value: a placeholder is not a NULL literal.
// (The parser's TRIM restore leaves out a remove-string whose value is nil,
// which dropped "?" from "TRIM(LEADING ? FROM x)".)
func (m *argMarker) GetValue() any { return m }

// Accept visits the marker itself (it has no children).
func (m *argMarker) Accept(v ast.Visitor) (ast.Node, bool) {
	n, _ := v.Enter(m)
	return v.Leave(n)
}

// fragmentWriter collects a restored fragment and its arg indexes. One is
// reused for every fragment of a query.
type fragmentWriter struct {
	buf  []byte
	args []int
}

func (w *fragmentWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

func (w *fragmentWriter) WriteString(s string) (int, error) {
	w.buf = append(w.buf, s...)
	return len(s), nil
}

// binder prepares the AST of one statement for restoring: it replaces the
// placeholders by argMarkers, checking they are exactly the ones the
// lexical scan found in the statement's span, and drops the connection
// character set the parser gives plain string literals, so that only an
// introducer written in the query (_binary'..', _latin1'..') is restored.
// seen counts, per arg of the statement, the placeholders bound to it.
type binder struct {
	marks   *lexMarks
	lo, hi  int
	seen    []int8
	markers []argMarker // one per arg, allocated together
	bad     bool
}

func (v *binder) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *test_driver.ParamMarkerExpr:
		i := v.marks.index(x.Offset)
		if i < v.lo || i >= v.hi || v.seen[i-v.lo] != 0 {
			v.bad = true
			return n, true
		}
		v.seen[i-v.lo] = 1
		m := &v.markers[i-v.lo]
		*m = argMarker{ParamMarkerExpr: x, index: i}
		return m, true
	case *test_driver.ValueExpr:
		if x.Kind() == test_driver.KindString && x.Type.GetFlag()&mysql.UnderScoreCharsetFlag == 0 {
			x.Type.SetCharset("")
		}
		return n, true
	}
	return n, false
}

func (v *binder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// bind prepares n, a statement spanning query[start:end] whose args are
// [lo, hi), and fails unless its placeholders match the scan exactly:
// otherwise a later arg index could point at the wrong value.
func (b *builder) bind(n ast.Node, start, end, lo, hi int) error {
	if b.marks.hasForeign(start, end) {
		return unsupported("a /*M! or /*T! executable comment (its content is seen differently by the server and the parser)")
	}
	b.lo = lo
	b.tally = slices.Grow(b.tally[:0], hi-lo)[:hi-lo]
	clear(b.tally)
	b.binder = binder{marks: &b.marks, lo: lo, hi: hi, seen: b.tally}
	if hi > lo {
		b.binder.markers = make([]argMarker, hi-lo)
	}
	n.Accept(&b.binder)
	if b.binder.bad || slices.Contains(b.tally, 0) {
		return unsupported("placeholders could not be matched to args")
	}
	return nil
}

// markerCount walks nodes counting, in tally, each bound placeholder, and
// notes an unbound one.
type markerCount struct {
	lo      int
	tally   []int8
	unbound bool
}

func (v *markerCount) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *argMarker:
		v.tally[x.index-v.lo]++
		return n, true
	case *test_driver.ParamMarkerExpr:
		v.unbound = true
		return n, true
	}
	return n, false
}

func (v *markerCount) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// fragment restores what write writes, which must be the nodes, as a
// Fragment, and checks that each placeholder of the nodes was written
// exactly once and that the text has one "?" per recorded arg.
func (b *builder) fragment(write func(ctx *format.RestoreCtx) error, nodes ...ast.Node) (Fragment, error) {
	w := &b.writer
	w.buf, w.args = w.buf[:0], w.args[:0]
	if b.ctx == nil {
		b.ctx = format.NewRestoreCtx(b.mode.restoreFlags, w)
	}
	b.ctx.CTENames = b.ctx.CTENames[:0]
	if err := write(b.ctx); err != nil {
		return Fragment{}, unsupported("cannot restore the statement: " + err.Error())
	}
	clear(b.tally)
	b.count = markerCount{lo: b.lo, tally: b.tally}
	for _, n := range nodes {
		n.Accept(&b.count)
	}
	for _, i := range w.args {
		b.tally[i-b.lo]--
	}
	if b.count.unbound || slices.ContainsFunc(b.tally, func(c int8) bool { return c != 0 }) {
		return Fragment{}, unsupported("restored text does not keep every placeholder exactly once")
	}
	f := Fragment{SQL: string(w.buf)}
	b.scratch.at, b.scratch.nul = b.scratch.at[:0], -1
	b.scratch.scan(f.SQL, b.mode.ansiQuotes, b.mode.noBackslash)
	if len(b.scratch.at) != len(w.args) {
		return Fragment{}, unsupported(fmt.Sprintf("restored text has %d placeholders for %d args", len(b.scratch.at), len(w.args)))
	}
	if len(w.args) > 0 {
		f.Args = slices.Clone(w.args)
	}
	return f, nil
}

// node restores one node; a nil node gives the zero Fragment.
func (b *builder) node(n ast.Node) (Fragment, error) {
	if n == nil {
		return Fragment{}, nil
	}
	return b.fragment(n.Restore, n)
}

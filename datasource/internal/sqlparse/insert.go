package sqlparse

import (
	"github.com/pingcap/tidb/pkg/parser/ast"
)

func (b *builder) insert(n *ast.InsertStmt, start, end, lo, hi int) (Statement, error) {
	if n.Select != nil {
		if s, ok := n.Select.(*ast.SelectStmt); ok {
			switch s.Kind {
			case ast.SelectStmtKindTable:
				return nil, unsupported(verb(n) + " ... TABLE")
			case ast.SelectStmtKindValues:
				return nil, unsupported(verb(n) + " ... VALUES ROW()")
			}
		}
		return nil, unsupported(verb(n) + " ... SELECT")
	}
	table, ok := insertTable(n)
	if !ok {
		return nil, unsupported(verb(n) + " into something other than a table")
	}
	if err := b.bind(n, start, end, lo, hi); err != nil {
		return nil, err
	}
	ins := &Insert{
		Table:   table,
		Replace: n.IsReplace,
		Ignore:  n.IgnoreErr,
	}
	if len(n.Columns) > 0 {
		ins.Columns = make([]string, len(n.Columns))
		for i, c := range n.Columns {
			ins.Columns[i] = c.Name.O
		}
	}
	ins.Rows = make([][]Value, len(n.Lists))
	for i, list := range n.Lists {
		if len(ins.Columns) > 0 && len(list) != len(ins.Columns) {
			return nil, unsupported("row has a different number of values than columns")
		}
		row := make([]Value, len(list))
		for j, e := range list {
			var err error
			if row[j], err = b.value(e); err != nil {
				return nil, err
			}
		}
		ins.Rows[i] = row
	}
	if len(n.OnDuplicate) > 0 {
		tables := []TableName{table}
		ins.OnDuplicate = make([]Assignment, len(n.OnDuplicate))
		for i, a := range n.OnDuplicate {
			out, err := b.assignment(a, tables)
			if err != nil {
				return nil, err
			}
			out.Table = 0
			out.InsertValues = usesInsertValues(a.Expr)
			ins.OnDuplicate[i] = out
		}
	}
	return ins, nil
}

func verb(n *ast.InsertStmt) string {
	if n.IsReplace {
		return "REPLACE"
	}
	return "INSERT"
}

// insertTable returns the INSERT's target table.
func insertTable(n *ast.InsertStmt) (TableName, bool) {
	if n.Table == nil || n.Table.TableRefs == nil || n.Table.TableRefs.Right != nil {
		return TableName{}, false
	}
	ts, ok := n.Table.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return TableName{}, false
	}
	t, ok := ts.Source.(*ast.TableName)
	if !ok {
		return TableName{}, false
	}
	return TableName{Schema: t.Schema.O, Name: t.Name.O, Alias: ts.AsName.O}, true
}

// valuesFinder looks for VALUES(col).
type valuesFinder struct{ found bool }

func (v *valuesFinder) Enter(n ast.Node) (ast.Node, bool) {
	if _, ok := n.(*ast.ValuesExpr); ok {
		v.found = true
	}
	return n, v.found
}

func (v *valuesFinder) Leave(n ast.Node) (ast.Node, bool) { return n, !v.found }

func usesInsertValues(e ast.ExprNode) bool {
	v := &valuesFinder{}
	e.Accept(v)
	return v.found
}

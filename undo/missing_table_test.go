package undo

import (
	"database/sql/driver"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/internal/testdb"
)

// Issue 13: a missing undo_log says how to create it.
func TestInsertWithoutUndoTableSaysHowToCreateIt(t *testing.T) {
	d := testdb.Create(t)
	m, err := NewManager(d.DB, Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	conn, err := d.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		return m.Insert(ctx, dc.(driver.ExecerContext), &BranchLog{XID: "10.0.0.1:8091:1", BranchID: 1})
	})
	if err == nil || !strings.Contains(err.Error(), "undo.CreateTable(") || !strings.Contains(err.Error(), "undo.DDL") {
		t.Fatalf("err = %v, want how to create the table", err)
	}
}

// Issue 13: `go doc undo.DDL` shows the SQL: the declaration itself holds
// the statement, not an expression of other constants.
func TestDDLDeclarationShowsTheSQL(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "table.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "DDL" {
			return true
		}
		found = true
		var sql strings.Builder
		ast.Inspect(vs.Values[0], func(n ast.Node) bool {
			if l, ok := n.(*ast.BasicLit); ok {
				sql.WriteString(l.Value)
			}
			if id, ok := n.(*ast.Ident); ok {
				t.Errorf("DDL's declaration refers to %s: go doc would not show the SQL", id.Name)
			}
			return true
		})
		for _, want := range []string{"CREATE TABLE IF NOT EXISTS `undo_log`", "rollback_info", "ux_undo_log"} {
			if !strings.Contains(sql.String(), want) {
				t.Errorf("DDL's declaration lacks %q", want)
			}
		}
		return false
	})
	if !found {
		t.Fatal("no DDL const in table.go")
	}
}

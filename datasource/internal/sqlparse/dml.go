package sqlparse

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

func (b *builder) update(n *ast.UpdateStmt, start, end, lo, hi int) (Statement, error) {
	if n.With != nil {
		return nil, unsupported("UPDATE with a WITH clause")
	}
	if n.TableRefs == nil || n.TableRefs.TableRefs == nil {
		return nil, unsupported("UPDATE without a table")
	}
	if err := b.bind(n, start, end, lo, hi); err != nil {
		return nil, err
	}
	u := &Update{
		Scope:  Scope{Tables: collectTables(n.TableRefs.TableRefs, nil)},
		Multi:  n.MultipleTable || isJoin(n.TableRefs.TableRefs),
		Ignore: n.IgnoreErr,
	}
	if len(u.Tables) == 0 {
		return nil, unsupported("UPDATE of a derived table")
	}
	var err error
	u.Set = make([]Assignment, len(n.List))
	for i, a := range n.List {
		if u.Set[i], err = b.assignment(a, u.Tables); err != nil {
			return nil, err
		}
	}
	// UPDATE [LOW_PRIORITY] [IGNORE] refs SET list [WHERE] [ORDER BY] [LIMIT]
	c, err := b.cutter(start, end)
	if err != nil {
		return nil, err
	}
	bad := unsupported("UPDATE clauses cannot be cut from the text")
	if !c.at(0, "UPDATE") {
		return nil, bad
	}
	i := c.skipWords(1, "LOW_PRIORITY", "IGNORE")
	set := c.find(i, "SET")
	var ok bool
	if u.TableRefs, ok = c.span(i, set); !ok || u.TableRefs.SQL == "" || set == len(c.toks) {
		return nil, bad
	}
	w := c.find(set+1, "WHERE", "ORDER", "LIMIT")
	if u.Head, ok = c.span(0, w); !ok {
		return nil, bad
	}
	if last, err := c.filterCut(w, n.Where != nil, n.Order != nil, n.Limit != nil, &u.Scope); err != nil {
		return nil, err
	} else if last != len(c.toks) {
		return nil, bad
	}
	if err := b.checkScope(&u.Scope, n.TableRefs.TableRefs, n.Where, n.Order, n.Limit); err != nil {
		return nil, err
	}
	for _, a := range n.List {
		if err := b.within(u.Head, a); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// checkScope checks the cut clauses of sc against the parser's.
func (b *builder) checkScope(sc *Scope, refs, where ast.Node, order *ast.OrderByClause, limit *ast.Limit) error {
	if err := b.within(sc.TableRefs, refs); err != nil {
		return err
	}
	if err := b.within(sc.Where, where); err != nil {
		return err
	}
	if order != nil {
		if err := b.within(sc.OrderBy, order); err != nil {
			return err
		}
	}
	if limit != nil {
		return b.within(sc.Limit, limit)
	}
	return nil
}

func (b *builder) delete(n *ast.DeleteStmt, start, end, lo, hi int) (Statement, error) {
	if n.With != nil {
		return nil, unsupported("DELETE with a WITH clause")
	}
	if n.TableRefs == nil || n.TableRefs.TableRefs == nil {
		return nil, unsupported("DELETE without a table")
	}
	if err := b.bind(n, start, end, lo, hi); err != nil {
		return nil, err
	}
	d := &Delete{
		Scope:  Scope{Tables: collectTables(n.TableRefs.TableRefs, nil)},
		Multi:  n.IsMultiTable,
		Ignore: n.IgnoreErr,
	}
	if len(d.Tables) == 0 {
		return nil, unsupported("DELETE from a derived table")
	}
	if !n.IsMultiTable {
		d.Targets = []int{0}
	} else {
		if n.Tables == nil || len(n.Tables.Tables) == 0 {
			return nil, unsupported("multi-table DELETE without targets")
		}
		d.Targets = make([]int, len(n.Tables.Tables))
		for i, t := range n.Tables.Tables {
			d.Targets[i] = resolveTable(d.Tables, t.Schema.O, t.Name.O)
			if d.Targets[i] < 0 {
				return nil, unsupported("DELETE target " + quoteName(t.Schema.O, t.Name.O) + " names no single table of the statement")
			}
		}
	}
	// DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM tbl [WHERE] [ORDER BY] [LIMIT]
	// DELETE [...] t1[.*], ... FROM refs [WHERE]
	// DELETE [...] FROM t1[.*], ... USING refs [WHERE]
	c, err := b.cutter(start, end)
	if err != nil {
		return nil, err
	}
	bad := unsupported("DELETE clauses cannot be cut from the text")
	if !c.at(0, "DELETE") {
		return nil, bad
	}
	i := c.skipWords(1, "LOW_PRIORITY", "QUICK", "IGNORE")
	switch {
	case !n.IsMultiTable:
		if !c.at(i, "FROM") {
			return nil, bad
		}
		i++
	case c.at(i, "FROM"):
		i = c.find(i, "USING") + 1
	default:
		i = c.find(i, "FROM") + 1
	}
	if i > len(c.toks) {
		return nil, bad
	}
	w := c.find(i, "WHERE", "ORDER", "LIMIT")
	var ok bool
	if d.TableRefs, ok = c.span(i, w); !ok || d.TableRefs.SQL == "" {
		return nil, bad
	}
	if d.Head, ok = c.span(0, w); !ok {
		return nil, bad
	}
	if last, err := c.filterCut(w, n.Where != nil, n.Order != nil, n.Limit != nil, &d.Scope); err != nil {
		return nil, err
	} else if last != len(c.toks) {
		return nil, bad
	}
	if err := b.checkScope(&d.Scope, n.TableRefs.TableRefs, n.Where, n.Order, n.Limit); err != nil {
		return nil, err
	}
	return d, nil
}

func (b *builder) selectStmt(n *ast.SelectStmt, start, end, lo, hi int) (Statement, error) {
	if reason := readOnlyProblem(n); reason != "" {
		return nil, unsupported(reason)
	}
	if n.LockInfo == nil || n.LockInfo.LockType == ast.SelectLockNone {
		return &Other{Class: ClassRead}, nil
	}
	if n.Kind != ast.SelectStmtKindSelect || n.From == nil || n.From.TableRefs == nil {
		return &Other{Class: ClassRead}, nil // locks no row
	}
	if n.With != nil {
		return nil, unsupported("locking SELECT with a WITH clause")
	}
	if len(n.LockInfo.Tables) > 0 {
		return nil, unsupported("FOR UPDATE OF a table list")
	}
	if err := b.bind(n, start, end, lo, hi); err != nil {
		return nil, err
	}
	s := &SelectForUpdate{Scope: Scope{Tables: collectTables(n.From.TableRefs, nil)}}
	if len(s.Tables) == 0 {
		return &Other{Class: ClassRead}, nil // derived tables only
	}
	switch n.LockInfo.LockType {
	case ast.SelectLockForUpdate:
	case ast.SelectLockForShare:
		s.Shared = true
	case ast.SelectLockForUpdateNoWait:
		s.NoWait = true
	case ast.SelectLockForShareNoWait:
		s.Shared, s.NoWait = true, true
	case ast.SelectLockForUpdateWaitN:
		s.WaitSeconds = n.LockInfo.WaitSec
		if s.WaitSeconds == 0 {
			s.NoWait = true // WAIT 0 fails at once, like NOWAIT
		}
	case ast.SelectLockForUpdateSkipLocked:
		s.SkipLocked = true
	case ast.SelectLockForShareSkipLocked:
		s.Shared, s.SkipLocked = true, true
	default:
		return nil, unsupported("lock clause " + n.LockInfo.LockType.String())
	}
	// SELECT fields FROM refs [WHERE] [GROUP BY] [HAVING] [WINDOW] [ORDER BY]
	// [LIMIT] FOR UPDATE ...
	c, err := b.cutter(start, end)
	if err != nil {
		return nil, err
	}
	bad := unsupported("locking SELECT clauses cannot be cut from the text")
	stop := []string{"GROUP", "HAVING", "WINDOW", "FOR", "LOCK", "INTO"}
	if !c.at(0, "SELECT") {
		return nil, bad
	}
	i := c.find(1, "FROM") + 1
	if i > len(c.toks) {
		return nil, bad
	}
	w := c.find(i, append([]string{"WHERE", "ORDER", "LIMIT"}, stop...)...)
	var ok bool
	if s.TableRefs, ok = c.span(i, w); !ok || s.TableRefs.SQL == "" {
		return nil, bad
	}
	if _, err := c.filterCut(w, n.Where != nil, n.OrderBy != nil, n.Limit != nil, &s.Scope, stop...); err != nil {
		return nil, err
	}
	if err := b.checkScope(&s.Scope, n.From.TableRefs, n.Where, n.OrderBy, n.Limit); err != nil {
		return nil, err
	}
	return s, nil
}

// assignment builds one SET assignment against the statement's tables.
func (b *builder) assignment(a *ast.Assignment, tables []TableName) (Assignment, error) {
	col := a.Column
	out := Assignment{
		Column: ColumnRef{Schema: col.Schema.O, Table: col.Table.O, Name: col.Name.O},
		Table:  resolveTable(tables, col.Schema.O, col.Table.O),
	}
	var err error
	out.Value, err = b.value(a.Expr)
	return out, err
}

// isJoin reports whether a table reference tree has more than one table
// reference.
func isJoin(j *ast.Join) bool {
	if j.Right != nil {
		return true
	}
	switch l := j.Left.(type) {
	case *ast.Join:
		return isJoin(l)
	case *ast.TableSource:
		if inner, ok := l.Source.(*ast.Join); ok {
			return isJoin(inner)
		}
	}
	return false
}

// collectTables appends the base tables of a table reference tree in
// join-tree order. Derived tables are skipped.
func collectTables(rs ast.ResultSetNode, out []TableName) []TableName {
	switch x := rs.(type) {
	case *ast.Join:
		if x.Left != nil {
			out = collectTables(x.Left, out)
		}
		if x.Right != nil {
			out = collectTables(x.Right, out)
		}
	case *ast.TableSource:
		switch s := x.Source.(type) {
		case *ast.TableName:
			out = append(out, TableName{Schema: s.Schema.O, Name: s.Name.O, Alias: x.AsName.O})
		case *ast.Join:
			out = collectTables(s, out)
		}
	case *ast.TableName:
		out = append(out, TableName{Schema: x.Schema.O, Name: x.Name.O})
	}
	return out
}

// resolveTable returns the index of the table that the qualifier
// [schema.]name refers to, or -1. An empty name resolves only when there
// is a single table. A table with an alias is referred to by its alias
// alone; one without by its name, optionally with its schema. An exact
// match wins; otherwise a unique case-insensitive one (servers with
// lower_case_table_names).
func resolveTable(tables []TableName, schema, name string) int {
	if name == "" {
		if len(tables) == 1 {
			return 0
		}
		return -1
	}
	for _, eq := range []func(a, b string) bool{
		func(a, b string) bool { return a == b },
		strings.EqualFold,
	} {
		found := -1
		for i, t := range tables {
			if !eq(t.Ref(), name) {
				continue
			}
			if schema != "" && (t.Alias != "" || (t.Schema != "" && !eq(t.Schema, schema))) {
				continue
			}
			if found >= 0 {
				return -1 // ambiguous
			}
			found = i
		}
		if found >= 0 {
			return found
		}
	}
	return -1
}

func quoteName(schema, name string) string {
	q := "`" + strings.ReplaceAll(name, "`", "``") + "`"
	if schema != "" {
		q = "`" + strings.ReplaceAll(schema, "`", "``") + "`." + q
	}
	return q
}

package atprop

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Via is how a statement is sent.
type Via int

const (
	ViaExec     Via = iota // ExecContext, text protocol without args, binary with
	ViaPrepared            // PrepareContext then ExecContext
	ViaMulti               // several statements in one ExecContext, no args
	ViaQuery               // QueryContext, for ... RETURNING; the rows returned are compared
)

func (v Via) String() string {
	return [...]string{"exec", "prepared", "multi-statement", "query"}[v]
}

// Frag is a piece of SQL with the args of its placeholders.
type Frag struct {
	SQL    string
	Args   []any
	Nondet bool // a predicate whose rows depend on the server's plan (see cmpVal)
}

// Stmt is one generated statement: Head, then Rows joined by ", ", then
// Tail. Rows are the VALUES tuples of an INSERT, which the shrinker drops
// one by one. Table references are written {db0}.t / {db1}.t where a
// database is named; the runner substitutes the real names.
type Stmt struct {
	Kind   string // insert, insert-ignore, replace, odku, update, delete, shift, ...
	Head   Frag
	Rows   []Frag
	Tail   Frag
	Via    Via
	Refuse bool // the README lists this statement as refused (ErrUnsupported)
	Nondet bool // plain MySQL may pick other rows than AT (ORDER BY ties, LIMIT)
}

// SQL returns the statement text and its args.
func (s *Stmt) SQL() (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString(s.Head.SQL)
	args = append(args, s.Head.Args...)
	for i, r := range s.Rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.SQL)
		args = append(args, r.Args...)
	}
	b.WriteString(s.Tail.SQL)
	args = append(args, s.Tail.Args...)
	return b.String(), args
}

// Branch is a local transaction (or, Auto, a run of autocommit statements)
// on database DB within a global transaction.
type Branch struct {
	DB            int
	Auto          bool // each statement outside a local transaction
	LocalRollback bool // the local transaction rolls back
	Stmts         []*Stmt
}

// GlobalTx is one generated global transaction.
type GlobalTx struct {
	Branches []*Branch
	Commit   bool
}

// nondet reports whether a statement may pick rows nondeterministically.
func (g *GlobalTx) nondet() bool {
	for _, b := range g.Branches {
		for _, s := range b.Stmts {
			if s.Nondet {
				return true
			}
		}
	}
	return false
}

// gen generates statements over a schema, remembering the values it used
// for each column so that later statements hit existing rows.
type gen struct {
	rng    *rand.Rand
	schema *Schema
	pools  map[*Table][][]Value
	inline bool // render values as literals only (multi-statement)
	nextUq map[*Table]int
}

func newGen(rng *rand.Rand, s *Schema) *gen {
	g := &gen{rng: rng, schema: s, pools: map[*Table][][]Value{}, nextUq: map[*Table]int{}}
	for _, t := range s.Tables {
		g.pools[t] = make([][]Value, len(t.Cols))
		g.nextUq[t] = 10
	}
	return g
}

func (g *gen) chance(n int) bool { return g.rng.IntN(n) == 0 }

// pick returns a value for column col, usually one used before.
func (g *gen) pick(t *Table, col int) Value {
	pool := g.pools[t][col]
	if len(pool) > 0 && g.rng.IntN(4) > 0 {
		return pool[g.rng.IntN(len(pool))]
	}
	return g.fresh(t, col)
}

func (g *gen) fresh(t *Table, col int) Value {
	c := t.Cols[col]
	if c.Nullable && g.chance(6) {
		return Value{Null: true}
	}
	if col == t.UqInt {
		v := Value{S: strconv.Itoa(g.nextUq[t])}
		g.nextUq[t]++
		return v
	}
	key := t.isPK(col) || c.AutoInc
	for _, u := range t.Uniques {
		for _, j := range u {
			key = key || j == col
		}
	}
	return genValue(g.rng, c.Type, key)
}

func (g *gen) remember(t *Table, col int, v Value) {
	if !v.Null && len(g.pools[t][col]) < 40 {
		g.pools[t][col] = append(g.pools[t][col], v)
	}
}

// val renders v for column col as a literal or a placeholder.
func (g *gen) val(t *Table, col int, v Value) Frag {
	if g.inline || g.rng.IntN(5) < 3 {
		return Frag{SQL: literal(g.rng, t.Cols[col].Type, v)}
	}
	return Frag{SQL: "?", Args: []any{arg(g.rng, t.Cols[col].Type, v)}}
}

// cmpVal renders v for a comparison with column col in a predicate. It is
// marked Nondet when MariaDB's answer depends on its plan (seed 5039): a NO
// PAD column compared with a COLLATE utf8mb4_bin literal compares under
// utf8mb4_bin, which is PAD SPACE (the empty string equals two spaces), but
// for = and IN MariaDB 10.11 looks the value up in the column's index, in
// the column's NO PAD collation, and misses the rows equal only with
// trailing spaces, which a scan finds. AT's image SELECT and the plain
// statement may take either plan (TestNoPadBinEqualityDependsOnPlan); the
// rollback is still compared.
func (g *gen) cmpVal(t *Table, col int, v Value) Frag {
	f := g.val(t, col, v)
	f.Nondet = t.Cols[col].Type.nopad && strings.HasSuffix(f.SQL, binCollate)
	return f
}

// betweenNondet reports whether "col BETWEEN lo AND hi" over a column of
// type ct may find rows by its plan (seed 8025): MariaDB 10.11 compares
// the two bounds in their own collation, the connection's
// utf8mb4_general_ci, and when they are equal there ('E' and 'é', 'a' and
// 'a ') looks the one value up in the column's index, in the column's
// collation, where they differ: k BETWEEN 'E' AND 'é' over a utf8mb4_bin
// key finds no row 'é' through the index and finds it by a scan. The
// bounds are compared by generalCIFold, which covers the generator's
// alphabets.
func betweenNondet(ct colType, lo, hi Value) bool {
	return ct.kind == kString && ct.charset == "utf8mb4" && !strings.Contains(ct.sql, "COLLATE utf8mb4_general_ci") &&
		!lo.Null && !hi.Null && lo.S != hi.S && generalCIFold(lo.S) == generalCIFold(hi.S)
}

// generalCIFold folds s as utf8mb4_general_ci compares it, for the
// generator's alphabets: trailing spaces dropped (PAD SPACE), letters in
// upper case without accent (é, É and e are E; ß is S).
func generalCIFold(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimRight(s, " ") {
		switch r = unicode.ToUpper(r); r {
		case 'É', 'È', 'Ê', 'Ë':
			r = 'E'
		case 'ß', 'ẞ':
			r = 'S'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rowInNondet reports whether v, a value for a column of type ct in a
// row IN of several tuples, ((1, 'é'), (2, 'a')), may make the SELECT and
// the UPDATE of one predicate disagree (seed 8770): MariaDB 10.11's SELECT
// compares a string of such a row with a latin1 or ascii column without
// converting it from the connection's utf8mb4, byte for byte, so 'é' finds
// the latin1 'Ã©' (the same two bytes), where the UPDATE converts it and
// finds nothing. AT images with the SELECT. ASCII is the same in both.
func rowInNondet(ct colType, v Value) bool {
	if ct.kind != kString || ct.charset == "utf8mb4" || v.Null {
		return false
	}
	for i := 0; i < len(v.S); i++ {
		if v.S[i] >= 0x80 {
			return true
		}
	}
	return false
}

// joinNondet reports whether a join of columns a and b compares under
// utf8mb4_bin a NO PAD column (the index lookup of cmpVal, by join order).
func joinNondet(a, b colType) bool {
	bin := func(c colType) bool { return c.kind == kString && c.charset == "utf8mb4" && !c.ci && !c.nopad }
	return a.nopad && bin(b) || b.nopad && bin(a)
}

func join(fs []Frag, sep string) Frag {
	var out Frag
	for i, f := range fs {
		if i > 0 {
			out.SQL += sep
		}
		out.SQL += f.SQL
		out.Args = append(out.Args, f.Args...)
		out.Nondet = out.Nondet || f.Nondet
	}
	return out
}

func q(name string) string { return "`" + name + "`" }

// ref names table t from a connection whose current database is cur.
func (g *gen) ref(cur int, t *Table) string {
	if t.DB != cur || g.chance(8) {
		return fmt.Sprintf("{db%d}.%s", t.DB, q(t.Name))
	}
	return q(t.Name)
}

// insertRow returns the values of one new row over cols.
func (g *gen) insertRow(t *Table, cols []int) Frag {
	parts := make([]Frag, len(cols))
	for i, c := range cols {
		var v Value
		if t.isPK(c) || t.Cols[c].AutoInc {
			v = g.pick(t, c)
			if g.chance(2) {
				v = g.fresh(t, c)
			}
		} else if c == t.UqInt && g.chance(3) {
			v = g.pick(t, c)
		} else {
			v = g.fresh(t, c)
		}
		if v.Null && !t.Cols[c].Nullable && !t.Cols[c].AutoInc {
			v = genValue(g.rng, t.Cols[c].Type, true)
		}
		g.remember(t, c, v)
		parts[i] = g.val(t, c, v)
		if g.chance(30) && !t.isPK(c) && c != t.UqInt {
			parts[i] = Frag{SQL: "DEFAULT"}
		}
	}
	f := join(parts, ", ")
	f.SQL = "(" + f.SQL + ")"
	return f
}

// insertCols chooses the columns an INSERT names.
func (g *gen) insertCols(t *Table) []int {
	var cols []int
	ai := t.autoInc()
	explicitAI := ai >= 0 && g.chance(5)
	for i, c := range t.Cols {
		switch {
		case c.Gen != "":
		case c.AutoInc:
			if explicitAI {
				cols = append(cols, i)
			}
		case t.isPK(i), !c.Nullable && c.Default == "":
			cols = append(cols, i)
		case g.rng.IntN(4) > 0:
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		cols = append(cols, len(t.Cols)-1)
	}
	return cols
}

func (g *gen) insert(cur int, t *Table, verb string) *Stmt {
	cols := g.insertCols(t)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = q(t.Cols[c].Name)
	}
	s := &Stmt{Kind: strings.ToLower(strings.ReplaceAll(verb, " ", "-")), Refuse: len(t.PK) == 0}
	s.Head = Frag{SQL: fmt.Sprintf("%s INTO %s (%s) VALUES ", verb, g.ref(cur, t), strings.Join(names, ", "))}
	n := 1 + g.rng.IntN(3)
	if g.chance(6) {
		n += 4
	}
	for i := 0; i < n; i++ {
		s.Rows = append(s.Rows, g.insertRow(t, cols))
	}
	switch {
	case verb == "INSERT" && g.chance(3):
		s.Kind = "odku"
		s.Tail = g.odku(t, cols)
	case !g.inline && g.chance(8):
		s.returning()
	}
	return s
}

// odku returns an ON DUPLICATE KEY UPDATE clause.
func (g *gen) odku(t *Table, cols []int) Frag {
	var parts []Frag
	for i, c := range t.Cols {
		if t.isPK(i) || c.AutoInc || c.Gen != "" || !g.chance(2) && len(parts) > 0 {
			continue
		}
		name := q(c.Name)
		switch {
		case g.chance(2) && contains(cols, i):
			parts = append(parts, Frag{SQL: name + " = VALUES(" + name + ")"})
		case i == t.UqInt:
			parts = append(parts, Frag{SQL: name + " = " + name + " + 100"})
		default:
			a := g.assign(t, i, "")
			parts = append(parts, a)
		}
	}
	if len(parts) == 0 {
		return Frag{}
	}
	f := join(parts, ", ")
	f.SQL = " ON DUPLICATE KEY UPDATE " + f.SQL
	return f
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// assign returns "col = expr" for a non-key column.
func (g *gen) assign(t *Table, col int, alias string) Frag {
	c := t.Cols[col]
	name := alias + q(c.Name)
	switch {
	case c.Type.numeric() && g.chance(3):
		if !g.inline && g.chance(2) {
			// gorm's UpdateColumn(col, gorm.Expr("col + ?", n))
			return Frag{SQL: fmt.Sprintf("%s = %s + ?", name, name), Args: []any{int64(1 + g.rng.IntN(2))}}
		}
		return Frag{SQL: fmt.Sprintf("%s = %s + %d", name, name, 1+g.rng.IntN(2))}
	case c.Type.kind == kString && g.chance(4):
		return Frag{SQL: fmt.Sprintf("%s = CONCAT(%s, %s)", name, name, quote(g.rng, "x"))}
	case c.Nullable && g.chance(6):
		return Frag{SQL: name + " = NULL"}
	case c.Default != "" && g.chance(8):
		return Frag{SQL: name + " = DEFAULT"}
	}
	v := g.fresh(t, col)
	if v.Null && !c.Nullable {
		v = genValue(g.rng, c.Type, false)
	}
	g.remember(t, col, v)
	f := g.val(t, col, v)
	f.SQL = name + " = " + f.SQL
	return f
}

// nonKeyCols returns the columns that are not primary key or auto-increment.
func nonKeyCols(t *Table) []int {
	var out []int
	for i, c := range t.Cols {
		if !t.isPK(i) && !c.AutoInc && c.Gen == "" {
			out = append(out, i)
		}
	}
	return out
}

// pkEq returns "pk1 = v AND pk2 = v" for an existing (or new) key.
func (g *gen) pkEq(t *Table, alias string) Frag {
	var parts []Frag
	for _, c := range t.PK {
		f := g.cmpVal(t, c, g.pick(t, c))
		f.SQL = alias + q(t.Cols[c].Name) + " = " + f.SQL
		parts = append(parts, f)
	}
	return join(parts, " AND ")
}

// pred returns a WHERE predicate over t.
func (g *gen) pred(t *Table, alias string) Frag {
	if len(t.PK) == 0 {
		c := g.rng.IntN(len(t.Cols))
		f := g.cmpVal(t, c, g.pick(t, c))
		f.SQL = alias + q(t.Cols[c].Name) + " = " + f.SQL
		return f
	}
	switch g.rng.IntN(9) {
	case 0, 1:
		return g.pkEq(t, alias)
	case 2: // IN over the key
		n := 1 + g.rng.IntN(4)
		var tuples []Frag
		rowNondet := false
		for i := 0; i < n; i++ {
			var vs []Frag
			for _, c := range t.PK {
				v := g.pick(t, c)
				vs = append(vs, g.cmpVal(t, c, v))
				rowNondet = rowNondet || rowInNondet(t.Cols[c].Type, v)
			}
			f := join(vs, ", ")
			if len(t.PK) > 1 {
				f.SQL = "(" + f.SQL + ")"
			}
			tuples = append(tuples, f)
		}
		f := join(tuples, ", ")
		key := alias + q(t.Cols[t.PK[0]].Name)
		if len(t.PK) > 1 {
			var names []string
			for _, c := range t.PK {
				names = append(names, alias+q(t.Cols[c].Name))
			}
			key = "(" + strings.Join(names, ", ") + ")"
			f.Nondet = f.Nondet || n > 1 && rowNondet
		}
		f.SQL = key + " IN (" + f.SQL + ")"
		return f
	case 3: // range
		c := t.PK[0]
		if t.UqInt >= 0 && g.chance(2) {
			c = t.UqInt
		}
		va := g.pick(t, c)
		a := g.cmpVal(t, c, va)
		vb := g.pick(t, c)
		b := g.cmpVal(t, c, vb)
		f := join([]Frag{a, b}, " AND ")
		f.SQL = alias + q(t.Cols[c].Name) + " BETWEEN " + f.SQL
		f.Nondet = f.Nondet || betweenNondet(t.Cols[c].Type, va, vb)
		if g.chance(3) {
			f = a
			f.SQL = alias + q(t.Cols[c].Name) + []string{" > ", " <= ", " <> "}[g.rng.IntN(3)] + a.SQL
		}
		return f
	case 4: // non-key column
		cols := nonKeyCols(t)
		c := cols[g.rng.IntN(len(cols))]
		if t.Cols[c].Nullable && g.chance(3) {
			return Frag{SQL: alias + q(t.Cols[c].Name) + []string{" IS NULL", " IS NOT NULL"}[g.rng.IntN(2)]}
		}
		f := g.cmpVal(t, c, g.pick(t, c))
		f.SQL = alias + q(t.Cols[c].Name) + " = " + f.SQL
		return f
	case 5: // an integer or a loose string against a key column
		c := t.PK[g.rng.IntN(len(t.PK))]
		name := alias + q(t.Cols[c].Name)
		switch t.Cols[c].Type.kind {
		case kString:
			if g.chance(2) {
				return Frag{SQL: name + " = " + strconv.Itoa(g.rng.IntN(3))}
			}
			return Frag{SQL: name + " LIKE " + quote(g.rng, []string{"a%", "%", "_", "A"}[g.rng.IntN(4)])}
		case kBinary:
			v := g.pick(t, c)
			return Frag{SQL: name + " = " + literal(g.rng, t.Cols[c].Type, Value{S: strings.TrimRight(v.S, "\x00")})}
		}
		return g.pkEq(t, alias)
	case 6: // OR of two
		a, b := g.pkEq(t, alias), g.pred(t, alias)
		f := join([]Frag{a, b}, ") OR (")
		f.SQL = "(" + f.SQL + ")"
		return f
	case 7:
		return Frag{SQL: "1 = 1"}
	}
	a, b := g.pkEq(t, alias), g.pred(t, alias)
	return join([]Frag{a, b}, " OR ")
}

// orderLimit returns an optional ORDER BY ... LIMIT and whether the rows
// it selects may differ between two executions.
func (g *gen) orderLimit(t *Table) (string, bool) {
	if g.chance(2) || len(t.PK) == 0 {
		return "", false
	}
	var by []string
	nondet := false
	if g.chance(3) {
		cols := nonKeyCols(t)
		c := cols[g.rng.IntN(len(cols))]
		by = append(by, q(t.Cols[c].Name)+[]string{"", " DESC"}[g.rng.IntN(2)])
		if g.chance(3) {
			nondet = true // ties broken by the plan
		} else {
			for _, k := range t.PK {
				by = append(by, q(t.Cols[k].Name))
			}
		}
	} else {
		dir := []string{"", " DESC"}[g.rng.IntN(2)]
		for _, k := range t.PK {
			by = append(by, q(t.Cols[k].Name)+dir)
		}
	}
	limit := ""
	if g.rng.IntN(3) > 0 {
		limit = " LIMIT " + strconv.Itoa(1+g.rng.IntN(3))
	} else {
		nondet = false
	}
	if g.chance(5) {
		return limit, limit != "" // LIMIT without ORDER BY
	}
	return " ORDER BY " + strings.Join(by, ", ") + limit, nondet
}

func (g *gen) update(cur int, t *Table) *Stmt {
	cols := nonKeyCols(t)
	n := 1 + g.rng.IntN(min(3, len(cols)))
	var sets []Frag
	g.rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	for _, c := range cols[:n] {
		sets = append(sets, g.assign(t, c, ""))
	}
	set := join(sets, ", ")
	where := g.pred(t, "")
	ol, nondet := g.orderLimit(t)
	for i, c := range cols[:n] {
		nondet = nondet || !strings.Contains(ol, "ORDER BY") && shiftsUnique(t, c, sets[i])
	}
	head := join([]Frag{{SQL: "UPDATE " + g.ref(cur, t) + " SET "}, set, {SQL: " WHERE "}, where, {SQL: ol}}, "")
	return &Stmt{Kind: "update", Head: head, Nondet: nondet || head.Nondet, Refuse: len(t.PK) == 0}
}

// shiftsUnique reports whether set, an assignment of an UPDATE of t to
// column c, gives a unique key column a value computed from its own
// (uq = uq + 1, CONCAT(us, 'x')). Without ORDER BY the statement changes
// its rows in the order of the index its plan scans, and AT in the order
// of the same plan (README), so whether a row meets the value another has
// yet to leave depends on the plan: AT's database and the mirror may plan
// it otherwise (seed 8014: a range over the unique column on one side, a
// full scan on the other). A value given outright meets the same rows in
// any order.
func shiftsUnique(t *Table, c int, set Frag) bool {
	name := q(t.Cols[c].Name)
	if strings.Count(set.SQL, name) < 2 {
		return false
	}
	for _, u := range t.Uniques {
		if slices.Contains(u, c) {
			return true
		}
	}
	return false
}

func (g *gen) delete(cur int, t *Table) *Stmt {
	where := g.pred(t, "")
	ol, nondet := g.orderLimit(t)
	head := join([]Frag{{SQL: "DELETE FROM " + g.ref(cur, t) + " WHERE "}, where, {SQL: ol}}, "")
	s := &Stmt{Kind: "delete", Head: head, Nondet: nondet || head.Nondet, Refuse: len(t.PK) == 0}
	if !g.inline && g.chance(8) {
		s.returning()
	}
	return s
}

// returning makes s an INSERT / REPLACE / DELETE ... RETURNING *, run
// with QueryContext.
func (s *Stmt) returning() {
	s.Tail.SQL += " RETURNING *"
	s.Via = ViaQuery
	s.Kind += "-returning"
}

// shift moves a run of unique values up or down by one, in the order
// that does not collide in plain MySQL.
func (g *gen) shift(cur int, t *Table) *Stmt {
	name := q(t.Cols[t.UqInt].Name)
	lo := 8 + g.rng.IntN(g.nextUq[t]-7)
	hi := lo + g.rng.IntN(6)
	up := g.chance(2)
	sql := fmt.Sprintf("UPDATE %s SET %s = %s + 1 WHERE %s BETWEEN %d AND %d ORDER BY %s DESC", g.ref(cur, t), name, name, name, lo, hi, name)
	if !up {
		sql = fmt.Sprintf("UPDATE %s SET %s = %s - 1 WHERE %s BETWEEN %d AND %d ORDER BY %s", g.ref(cur, t), name, name, name, lo, hi, name)
	}
	return &Stmt{Kind: "shift", Head: Frag{SQL: sql}}
}

// swap exchanges two unique values through a free one: three statements.
func (g *gen) swap(cur int, t *Table) []*Stmt {
	name := q(t.Cols[t.UqInt].Name)
	a := 10 + g.rng.IntN(max(1, g.nextUq[t]-10))
	b := 10 + g.rng.IntN(max(1, g.nextUq[t]-10))
	tmp := 1000 + g.rng.IntN(1000)
	r := g.ref(cur, t)
	mk := func(from, to int) *Stmt {
		return &Stmt{Kind: "swap", Head: Frag{SQL: fmt.Sprintf("UPDATE %s SET %s = %d WHERE %s = %d", r, name, to, name, from)}}
	}
	return []*Stmt{mk(a, tmp), mk(b, a), mk(tmp, b)}
}

// multiTable updates or deletes through a join of two tables.
func (g *gen) multiTable(cur int, t1, t2 *Table) *Stmt {
	w := join([]Frag{g.pred(t1, "a."), {SQL: ") AND ("}, g.pred(t2, "b.")}, "")
	if len(t1.PK) > 0 && g.chance(2) {
		w = join([]Frag{g.pkEq(t1, "a."), {SQL: ") AND ("}, g.pred(t2, "b.")}, "")
	}
	w.SQL = "(" + w.SQL + ")"
	on := "1 = 1"
	if len(t1.PK) > 0 && len(t2.PK) > 0 && t1.Cols[t1.PK[0]].Type.kind == t2.Cols[t2.PK[0]].Type.kind && g.chance(2) {
		on = "a." + q(t1.Cols[t1.PK[0]].Name) + " = b." + q(t2.Cols[t2.PK[0]].Name)
		w.Nondet = w.Nondet || joinNondet(t1.Cols[t1.PK[0]].Type, t2.Cols[t2.PK[0]].Type)
	}
	from := fmt.Sprintf("%s a JOIN %s b ON %s", g.ref(cur, t1), g.ref(cur, t2), on)
	// refused when a table it writes has no primary key
	if g.chance(2) {
		sets := []Frag{g.assign(t1, nonKeyCols(t1)[0], "a.")}
		refuse := len(t1.PK) == 0
		nondet := shiftsUnique(t1, nonKeyCols(t1)[0], sets[0])
		if g.chance(2) {
			cols := nonKeyCols(t2)
			c := cols[g.rng.IntN(len(cols))]
			sets = append(sets, g.assign(t2, c, "b."))
			refuse = refuse || len(t2.PK) == 0
			nondet = nondet || shiftsUnique(t2, c, sets[1])
		}
		head := join([]Frag{{SQL: "UPDATE " + from + " SET "}, join(sets, ", "), {SQL: " WHERE "}, w}, "")
		return &Stmt{Kind: "update-join", Head: head, Refuse: refuse, Nondet: nondet || head.Nondet}
	}
	targets := g.rng.IntN(3)
	refuse := targets != 1 && len(t1.PK) == 0 || targets != 0 && len(t2.PK) == 0
	head := join([]Frag{{SQL: "DELETE " + []string{"a", "b", "a, b"}[targets] + " FROM " + from + " WHERE "}, w}, "")
	return &Stmt{Kind: "delete-join", Head: head, Refuse: refuse, Nondet: head.Nondet}
}

// refused returns a statement the README lists as refused in a global
// transaction.
func (g *gen) refused(cur int, t *Table) *Stmt {
	if len(t.PK) > 0 && g.chance(2) {
		c := t.PK[0]
		v := g.fresh(t, c)
		f := g.val(t, c, v)
		head := join([]Frag{{SQL: "UPDATE " + g.ref(cur, t) + " SET " + q(t.Cols[c].Name) + " = "}, f, {SQL: " WHERE "}, g.pred(t, "")}, "")
		return &Stmt{Kind: "refused-pk-update", Head: head, Refuse: true}
	}
	r := g.ref(cur, t)
	return &Stmt{Kind: "refused-insert-select", Head: Frag{SQL: fmt.Sprintf("INSERT INTO %s SELECT * FROM %s WHERE 1 = 0", r, r)}, Refuse: true}
}

// stmt generates one or more statements on a connection whose current
// database is *cur (USE changes it).
func (g *gen) stmts(cur *int, allowUse bool) []*Stmt {
	tables := g.schema.Tables
	t := tables[g.rng.IntN(len(tables))]
	if t.DB != *cur && g.chance(2) {
		// prefer the branch's own database
		own := g.schema.tablesOf(*cur)
		t = own[g.rng.IntN(len(own))]
	}
	switch r := g.rng.IntN(100); {
	case allowUse && r < 4:
		other := 1 - *cur
		*cur = other
		return []*Stmt{{Kind: "use", Head: Frag{SQL: fmt.Sprintf("USE {db%d}", other)}}}
	case r < 8:
		return []*Stmt{g.refused(*cur, t)}
	case r < 20:
		return []*Stmt{g.insert(*cur, t, "INSERT")}
	case r < 30:
		return []*Stmt{g.insert(*cur, t, "INSERT IGNORE")}
	case r < 38:
		return []*Stmt{g.insert(*cur, t, "REPLACE")}
	case r < 48:
		s := g.insert(*cur, t, "INSERT")
		if s.Tail.SQL == "" {
			cols := []int{}
			s.Tail = g.odku(t, cols)
			s.Kind = "odku"
		}
		return []*Stmt{s}
	case r < 64:
		return []*Stmt{g.update(*cur, t)}
	case r < 76:
		return []*Stmt{g.delete(*cur, t)}
	case r < 84:
		if t.UqInt >= 0 {
			return []*Stmt{g.shift(*cur, t)}
		}
		return []*Stmt{g.update(*cur, t)}
	case r < 88:
		if t.UqInt >= 0 {
			return g.swap(*cur, t)
		}
		return []*Stmt{g.delete(*cur, t)}
	default:
		t2 := tables[g.rng.IntN(len(tables))]
		if t2 == t {
			return []*Stmt{g.update(*cur, t)}
		}
		return []*Stmt{g.multiTable(*cur, t, t2)}
	}
}

// globalTx generates one global transaction.
func (g *gen) globalTx() *GlobalTx {
	gt := &GlobalTx{Commit: g.chance(2)}
	nb := 1 + g.rng.IntN(4)
	for i := 0; i < nb; i++ {
		b := &Branch{DB: g.rng.IntN(2), Auto: g.chance(5)}
		b.LocalRollback = !b.Auto && g.chance(12)
		cur := b.DB
		ns := 1 + g.rng.IntN(5)
		for len(b.Stmts) < ns {
			via := ViaExec
			switch r := g.rng.IntN(10); {
			case r < 2:
				via = ViaPrepared
			case r < 3:
				via = ViaMulti
			}
			if via == ViaMulti {
				g.inline = true
				first := g.stmts(&cur, !b.Auto)
				second := g.stmts(&cur, !b.Auto)
				g.inline = false
				all := append(first, second...)
				parts := make([]string, len(all))
				refuse, nondet := false, false
				for i, s := range all {
					parts[i], _ = s.SQL()
					refuse = refuse || s.Refuse
					nondet = nondet || s.Nondet
				}
				b.Stmts = append(b.Stmts, &Stmt{Kind: "multi", Head: Frag{SQL: strings.Join(parts, "; ")}, Via: ViaMulti, Refuse: refuse, Nondet: nondet})
				continue
			}
			for _, s := range g.stmts(&cur, !b.Auto) {
				if s.Via != ViaQuery {
					s.Via = via
				}
				b.Stmts = append(b.Stmts, s)
			}
		}
		gt.Branches = append(gt.Branches, b)
	}
	return gt
}

// seedRows returns plain INSERT statements that fill t with its first rows.
func (g *gen) seedRows(t *Table) []*Stmt {
	n := 4 + g.rng.IntN(8)
	var cols []int
	for i, c := range t.Cols {
		if !c.AutoInc && c.Gen == "" {
			cols = append(cols, i)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = q(t.Cols[c].Name)
	}
	var out []*Stmt
	for i := 0; i < n; i++ {
		g.inline = true
		row := g.insertRow(t, cols)
		g.inline = false
		out = append(out, &Stmt{Kind: "seed", Head: Frag{SQL: fmt.Sprintf("INSERT IGNORE INTO %s (%s) VALUES ", q(t.Name), strings.Join(names, ", "))}, Rows: []Frag{row}})
	}
	return out
}

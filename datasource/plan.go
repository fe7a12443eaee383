package datasource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/schema"
)

// A plan is what a query needs in a global transaction, worked out once per
// query text from the parse and the table metadata: for each statement, its
// kind and, for writes and locking reads, the image and lock SQL. Plans are
// shared by every connection of a data source and never modified after
// they are built.
type plan struct {
	stmts  []stmtPlan
	writes bool // some statement writes rows
	locks  bool // some statement is a locking read
	// useDB is set when a statement is USE: the database current after
	// the query ("" for the data source's default).
	useDB   string
	changes bool // some statement is USE
	// built is when the plan was made: after Config.SchemaRefreshInterval
	// it is made again, with the metadata of the moment.
	built time.Time
}

type stmtKind uint8

const (
	kindPass     stmtKind = iota + 1 // runs as it is: reads, session statements
	kindLockRead                     // SELECT ... FOR UPDATE: checks global locks
	kindInsert
	kindUpdate
	kindDelete
)

type stmtPlan struct {
	db       string // the current database it was planned for ("" for the default)
	kind     stmtKind
	use      string // USE: the database it makes current ("" for the default)
	changes  bool   // the statement is USE
	stmt     sqlparse.Statement
	targets  []*target     // kindUpdate, kindDelete: one per written table
	write    *writePlan    // kindUpdate, kindDelete
	lockRead *lockReadPlan // kindLockRead
	insert   *insertPlan   // kindInsert
}

// A writePlan is how an UPDATE or DELETE runs once its before images are
// read: the statement's own text up to its WHERE clause (Head), with a
// WHERE naming the imaged primary keys, so that it changes exactly the
// rows imaged, whatever its ORDER BY, LIMIT or join would have picked
// (a non-unique ORDER BY with LIMIT, or a LIMIT without ORDER BY, may pick
// other rows each time; under READ COMMITTED a row inserted after the
// image would match). A single-table statement keeps its ORDER BY (the
// order in which rows change decides whether a unique key collides on the
// way); a multi-table one keeps its WHERE, which pairs the rows of its
// tables, and has no ORDER BY or LIMIT.
type writePlan struct {
	head      string
	headArgs  []int
	where     string // multi-table: the statement's WHERE, "" if none
	whereArgs []int
	order     string // single-table: the statement's ORDER BY, "" if none
	orderArgs []int
	multi     bool
	// byScan: a single-table UPDATE without ORDER BY that changes a
	// unique key column; it runs on several keys in the order the
	// statement would scan its rows (see scanOrder).
	byScan    bool
	quals     []string // per target: its qualifier in the statement
	one       string   // single-table: the SQL for one key
	returning string   // single-table DELETE: its RETURNING list, "" if none
}

// single returns the SQL of a single-table statement for n keys (none:
// WHERE FALSE), with ORDER BY order unless "".
func (w *writePlan) single(pk []string, n int, order string) string {
	q := make([]byte, 0, len(w.head)+len(order)+32+n*(2*len(pk)+4)+len(w.quals[0])*len(pk))
	q = append(q, w.head...)
	q = append(q, " WHERE "...)
	if n == 0 {
		q = append(q, "FALSE"...)
	} else {
		q = appendKeyCondition(q, w.quals[0], pk, n)
	}
	if order != "" {
		q = append(q, " ORDER BY "...)
		q = append(q, order...)
	}
	if w.returning != "" {
		q = append(q, " RETURNING "...)
		q = append(q, w.returning...)
	}
	return string(q)
}

// A target is one table an UPDATE or DELETE writes, with the SQL of its
// images.
type target struct {
	index    int // in the statement's Tables
	table    *schema.Table
	lockName string
	cols     []string // image columns, stored names, ordinal order
	pkIdx    []int    // index in cols of each primary key column, key order
	before   string   // SELECT cols FROM <refs> WHERE ... FOR UPDATE
	args     []int    // arg indexes binding before
	dedupe   bool     // a join may return a row more than once
	after1   string   // after image SQL for a single key
}

// A lockReadPlan selects the primary keys of the rows a locking read
// locks, to ask the coordinator about them.
type lockReadPlan struct {
	sql    string
	args   []int
	tables []lockedTable
}

type lockedTable struct {
	lockName string
	pkIdx    []int // index of its key columns in the result
}

// An insertPlan is what INSERT and REPLACE need before their rows' values
// are known.
type insertPlan struct {
	table    *schema.Table
	lockName string
	width    int   // values per row when the row is not empty
	pkPos    []int // position in a row of each primary key column; -1: not given
	autoPK   int   // index into PrimaryKey of the auto-increment column, or -1
	zeroKey  bool  // NO_AUTO_VALUE_ON_ZERO: 0 for the auto-increment column is a key
	padChar  bool  // PAD_CHAR_TO_FULL_LENGTH: CHAR values are read padded (see storedKey)
	conflict bool  // IGNORE, REPLACE or ON DUPLICATE KEY UPDATE: rows may meet existing ones
	odku     bool  // ON DUPLICATE KEY UPDATE
	replace  bool  // REPLACE
	ignore   bool  // IGNORE
	// odkuUnique names a unique key column ON DUPLICATE KEY UPDATE
	// assigns (other than to itself), or is "".
	odkuUnique string
	returning  bool // RETURNING: the statement yields rows
	keys       []keyPlan
	selAll     string // SELECT <every column> FROM <table> WHERE
	pkIdx      []int  // index of the primary key columns among every column
	after1     string // after image SQL for a single key
}

// keyPlan is a unique key (the primary key first) an insert may collide on.
type keyPlan struct {
	cols  []string // quoted column names
	names []string // column names
	col   []int    // index of each column in the table
	pos   []int    // position of each column in a row
	auto  []bool   // the column is auto-increment
	// nullDefault: DEFAULT, given for the column in some row, is NULL
	// (which never collides). Known only for the columns of unique keys
	// other than the primary one that some row gives DEFAULT.
	nullDefault []bool
}

// planCacheSize bounds the plans kept per data source; when full, one is
// evicted at a time (internal/clockcache).
const planCacheSize = 1024

// maxPlanQuery is the longest query text whose plan is kept.
const maxPlanQuery = 16 << 10

// plan returns the plan of query run with db the current database ("" for
// the data source's default), building it on first use: a table named
// without a database is db's. A statement AT mode cannot handle yields an
// *UnsupportedError; failures are not cached.
func (r *resource) plan(ctx context.Context, db, query string) (*plan, error) {
	key := query
	if db != "" {
		key = db + "\x00" + query // "\x00" is in no database name
	}
	if p, ok := r.plans.Get(key); ok {
		if age := r.cfg.SchemaRefreshInterval; age <= 0 || time.Since(p.built) <= age {
			return p, nil
		}
	}
	env, err := r.sessionEnv(ctx)
	if err != nil {
		return nil, err
	}
	stmts, err := env.parser.Parse(query)
	if err != nil {
		return nil, unsupported(query, "the statement does not parse", err)
	}
	p := &plan{stmts: make([]stmtPlan, len(stmts)), built: time.Now()}
	for i, s := range stmts {
		sp := &p.stmts[i]
		sp.stmt = s
		if o, ok := s.(*sqlparse.Other); ok && o.Database != "" {
			db = o.Database
			if db == env.defaultDB {
				db = ""
			}
			sp.use, sp.changes = db, true
			p.useDB, p.changes = db, true
		}
		sp.db = db
		err := r.planStatement(ctx, env, db, sp)
		var cnf *schema.ColumnNotFoundError
		if errors.As(err, &cnf) {
			// The statement names a column the metadata lacks: the
			// table may have changed. Reload it and plan again, once.
			r.forgetTables(db, s)
			err = r.planStatement(ctx, env, db, sp)
		}
		if err != nil {
			return nil, err
		}
		switch sp.kind {
		case kindInsert, kindUpdate, kindDelete:
			p.writes = true
		case kindLockRead:
			p.locks = true
		}
	}
	if len(key) <= maxPlanQuery {
		r.plans.Put(key, p)
	}
	return p, nil
}

// planStatement plans one statement run with db current ("" for the
// default database).
func (r *resource) planStatement(ctx context.Context, env *sessionEnv, db string, sp *stmtPlan) error {
	switch s := sp.stmt.(type) {
	case *sqlparse.Other:
		switch s.Class {
		case sqlparse.ClassRead, sqlparse.ClassSession:
			sp.kind = kindPass
			return nil
		case sqlparse.ClassTransaction:
			if s.Txn == sqlparse.TxnSavepoint || s.Txn == sqlparse.TxnReleaseSavepoint {
				sp.kind = kindPass
				return nil
			}
			return unsupported(s.Text(), "transaction control ("+s.Txn.String()+") inside the driver's transaction", nil)
		case sqlparse.ClassDDL:
			return unsupported(s.Text(), "DDL", ErrDDLInGlobalTx)
		default:
			return unsupported(s.Text(), s.Reason, nil)
		}
	case *sqlparse.SelectForUpdate:
		if s.Shared {
			sp.kind = kindPass // a shared lock protects nothing AT mode undoes
			return nil
		}
		lr, err := r.planLockRead(ctx, env, db, s)
		sp.kind, sp.lockRead = kindLockRead, lr
		return err
	case *sqlparse.Update:
		ts, err := r.planUpdate(ctx, env, db, s)
		sp.kind, sp.targets = kindUpdate, ts
		if err == nil {
			idx := make([]int, len(ts))
			for k, tg := range ts {
				idx[k] = tg.index
			}
			sp.write = newWritePlan(&s.Scope, s.Head, s.Multi, idx)
			if !s.Multi {
				sp.write.one = sp.write.single(ts[0].table.PrimaryKey, 1, sp.write.order)
				sp.write.byScan = sp.write.order == "" && assignsUniqueKey(ts[0])
			}
		}
		return err
	case *sqlparse.Delete:
		ts, err := r.planDelete(ctx, env, db, s)
		sp.kind, sp.targets = kindDelete, ts
		if err == nil {
			sp.write = newWritePlan(&s.Scope, s.Head, s.Multi, s.Targets)
			if !s.Multi {
				sp.write.returning = s.Returning()
				sp.write.one = sp.write.single(ts[0].table.PrimaryKey, 1, sp.write.order)
			}
		}
		return err
	case *sqlparse.Insert:
		if db != "" && s.Table.Schema == "" {
			// The table is the current database's: plan with a copy
			// that says so (the statement runs as written).
			cp := *s
			cp.Table.Schema = db
			s = &cp
		}
		ip, err := r.planInsert(ctx, env, s)
		sp.kind, sp.insert = kindInsert, ip
		return err
	default:
		return unsupported(sp.stmt.Text(), fmt.Sprintf("unknown statement type %T", s), nil)
	}
}

// keyed returns t, or the *UnsupportedError for a table without a primary
// key or whose name cannot be written in a lock key.
func keyed(t *schema.Table, text string) error {
	if len(t.PrimaryKey) == 0 {
		return unsupported(text, "table "+t.QuotedName()+" has no primary key", ErrNoPrimaryKey)
	}
	if strings.ContainsAny(t.Schema+t.Name, ",;:") {
		return unsupported(text, "table "+t.QuotedName()+" has a name that cannot be written in a lock key", nil)
	}
	return nil
}

// qualifier is how columns of tn are qualified in the statement's own
// clauses: its alias, else its (schema-qualified) name.
func qualifier(tn sqlparse.TableName) string {
	switch {
	case tn.Alias != "":
		return schema.QuoteIdent(tn.Alias)
	case tn.Schema != "":
		return schema.QuoteIdent(tn.Schema) + "." + schema.QuoteIdent(tn.Name)
	default:
		return schema.QuoteIdent(tn.Name)
	}
}

func qualifiedList(q string, cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(q)
		b.WriteByte('.')
		b.WriteString(schema.QuoteIdent(c))
	}
	return b.String()
}

func pkIndexes(t *schema.Table, cols []string) []int {
	return pkIndexesTo(make([]int, 0, len(t.PrimaryKey)), t, cols)
}

// pkIndexesTo is pkIndexes appending to dst.
func pkIndexesTo(dst []int, t *schema.Table, cols []string) []int {
	for _, k := range t.PrimaryKey {
		j := slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, k) })
		dst = append(dst, j)
	}
	return dst
}

func isPrimaryKey(t *schema.Table, col string) bool {
	for _, k := range t.PrimaryKey {
		if strings.EqualFold(k, col) {
			return true
		}
	}
	return false
}

// scopeTables returns the metadata of the tables of sc, those named
// without a database being db's ("" for the default database).
func (r *resource) scopeTables(ctx context.Context, db string, sc *sqlparse.Scope) ([]*schema.Table, error) {
	ts := make([]*schema.Table, len(sc.Tables))
	for i, tn := range sc.Tables {
		s := tn.Schema
		if s == "" {
			s = db
		}
		t, err := r.table(ctx, s, tn.Name)
		if err != nil {
			return nil, err
		}
		ts[i] = t
	}
	return ts, nil
}

// resolveColumn finds the index of the table a SET column belongs to when
// the parser could not tell (an unqualified column of a multi-table UPDATE,
// or a qualifier naming no table of the statement).
func resolveColumn(sc *sqlparse.Scope, ts []*schema.Table, c sqlparse.ColumnRef, text string) (int, error) {
	found := -1
	for i, tn := range sc.Tables {
		if c.Table != "" {
			if !strings.EqualFold(c.Table, tn.Ref()) || (c.Schema != "" && !strings.EqualFold(c.Schema, tn.Schema)) {
				continue
			}
		} else if ts[i].Column(c.Name) == nil {
			continue
		}
		if found >= 0 {
			return 0, unsupported(text, "column "+c.Name+" is ambiguous", nil)
		}
		found = i
	}
	if found < 0 {
		return 0, unsupported(text, "column "+c.Name+" belongs to no table of the statement", nil)
	}
	return found, nil
}

func (r *resource) planUpdate(ctx context.Context, env *sessionEnv, db string, s *sqlparse.Update) ([]*target, error) {
	text := s.Text()
	ts, err := r.scopeTables(ctx, db, &s.Scope)
	if err != nil {
		return nil, err
	}
	var order []int
	assigned := make(map[int]map[string]bool)
	for _, a := range s.Set {
		i := a.Table
		if i < 0 {
			if i, err = resolveColumn(&s.Scope, ts, a.Column, text); err != nil {
				return nil, err
			}
		}
		t := ts[i]
		col := t.Column(a.Column.Name)
		if col == nil {
			return nil, fmt.Errorf("atcc/datasource: %w", &schema.ColumnNotFoundError{Table: t.QuotedName(), Column: a.Column.Name})
		}
		if isPrimaryKey(t, col.Name) {
			return nil, unsupported(text, "assigns primary key column "+col.Name, ErrPrimaryKeyUpdate)
		}
		if assigned[i] == nil {
			assigned[i] = make(map[string]bool)
			order = append(order, i)
		}
		assigned[i][col.Name] = true
	}
	targets := make([]*target, 0, len(order))
	for _, i := range order {
		t := ts[i]
		if err := keyed(t, text); err != nil {
			return nil, err
		}
		var cols []string
		for _, c := range t.Columns {
			if isPrimaryKey(t, c.Name) || (!c.Generated && (assigned[i][c.Name] || c.OnUpdate)) {
				cols = append(cols, c.Name)
			}
		}
		tg, err := newTarget(env, &s.Scope, i, t, cols, s.Multi)
		if err != nil {
			return nil, err
		}
		targets = append(targets, tg)
	}
	return targets, nil
}

func (r *resource) planDelete(ctx context.Context, env *sessionEnv, db string, s *sqlparse.Delete) ([]*target, error) {
	text := s.Text()
	ts, err := r.scopeTables(ctx, db, &s.Scope)
	if err != nil {
		return nil, err
	}
	targets := make([]*target, 0, len(s.Targets))
	for _, i := range s.Targets {
		t := ts[i]
		if err := keyed(t, text); err != nil {
			return nil, err
		}
		// The image is of "q.*" (and the invisible columns, which *
		// leaves out), so that it holds every live column: if the table
		// gained one since its metadata was read, the columns returned
		// differ from cols and the statement is planned again.
		cols := make([]string, 0, len(t.Columns))
		var invisible []string
		for _, c := range t.Columns {
			if c.Invisible {
				invisible = append(invisible, c.Name)
			} else {
				cols = append(cols, c.Name)
			}
		}
		list := qualifier(s.Tables[i]) + ".*"
		if len(invisible) > 0 {
			list += ", " + qualifiedList(qualifier(s.Tables[i]), invisible)
		}
		cols = append(cols, invisible...)
		tg, err := newTarget(env, &s.Scope, i, t, cols, s.Multi)
		if err != nil {
			return nil, err
		}
		tg.before = s.Select(list) + " FOR UPDATE"
		targets = append(targets, tg)
	}
	return targets, nil
}

func newTarget(env *sessionEnv, sc *sqlparse.Scope, i int, t *schema.Table, cols []string, multi bool) (*target, error) {
	after1, err := t.SelectByPrimaryKey(cols, 1, true)
	if err != nil {
		return nil, err
	}
	return &target{
		index:    i,
		table:    t,
		lockName: env.lockName(t),
		cols:     cols,
		pkIdx:    pkIndexes(t, cols),
		before:   sc.Select(qualifiedList(qualifier(sc.Tables[i]), cols)) + " FOR UPDATE",
		args:     sc.Args(),
		dedupe:   multi,
		after1:   after1,
	}, nil
}

func newWritePlan(sc *sqlparse.Scope, head sqlparse.Fragment, multi bool, targets []int) *writePlan {
	w := &writePlan{head: head.SQL, headArgs: head.Args, multi: multi}
	if multi {
		w.where, w.whereArgs = sc.Where.SQL, sc.Where.Args
	} else {
		w.order, w.orderArgs = sc.OrderBy.SQL, sc.OrderBy.Args
	}
	for _, i := range targets {
		w.quals = append(w.quals, qualifier(sc.Tables[i]))
	}
	return w
}

// appendKeyCondition appends the predicate matching n primary key tuples
// of the table qualified by q, one placeholder per key column per tuple:
// "q.`id` IN (?,?)", "(q.`a`=? AND q.`b`=?)" for one composite tuple, or
// "((q.`a`=? AND q.`b`=?) OR (q.`a`=? AND q.`b`=?))": equalities, not a
// row IN (see schema.Table.PrimaryKeyIn).
func appendKeyCondition(b []byte, q string, pk []string, n int) []byte {
	col := func(b []byte, c string) []byte {
		b = append(b, q...)
		b = append(b, '.')
		return append(b, schema.QuoteIdent(c)...)
	}
	if len(pk) == 1 {
		b = col(b, pk[0])
		b = append(b, " IN ("...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '?')
		}
		return append(b, ')')
	}
	if n > 1 {
		b = append(b, '(')
	}
	for i := range n {
		if i > 0 {
			b = append(b, " OR "...)
		}
		b = append(b, '(')
		for j, c := range pk {
			if j > 0 {
				b = append(b, " AND "...)
			}
			b = col(b, c)
			b = append(b, "=?"...)
		}
		b = append(b, ')')
	}
	if n > 1 {
		b = append(b, ')')
	}
	return b
}

func (r *resource) planLockRead(ctx context.Context, env *sessionEnv, db string, s *sqlparse.SelectForUpdate) (*lockReadPlan, error) {
	text := s.Text()
	ts, err := r.scopeTables(ctx, db, &s.Scope)
	if err != nil {
		return nil, err
	}
	lr := &lockReadPlan{args: s.Args()}
	var list []string
	n := 0
	for i, t := range ts {
		if err := keyed(t, text); err != nil {
			return nil, err
		}
		lt := lockedTable{lockName: env.lockName(t), pkIdx: make([]int, len(t.PrimaryKey))}
		for j := range t.PrimaryKey {
			lt.pkIdx[j] = n
			n++
		}
		list = append(list, qualifiedList(qualifier(s.Tables[i]), t.PrimaryKey))
		lr.tables = append(lr.tables, lt)
	}
	if len(ts) == 0 {
		return lr, nil // SELECT ... FOR UPDATE without a table locks nothing
	}
	q := s.Select(strings.Join(list, ", ")) + " FOR UPDATE"
	switch {
	case s.NoWait:
		q += " NOWAIT"
	case s.SkipLocked:
		q += " SKIP LOCKED"
	case s.WaitSeconds > 0:
		q += " WAIT " + strconv.FormatUint(s.WaitSeconds, 10)
	}
	lr.sql = q
	return lr, nil
}

// keepsValue reports whether an ON DUPLICATE KEY UPDATE assignment sets
// its column to the column's own value ("id = id", as gorm writes to save a
// belongs-to association): it changes nothing.
// inUniqueKey reports whether column name belongs to a unique key of t
// other than the primary one.
func inUniqueKey(t *schema.Table, name string) bool {
	for _, k := range t.UniqueKeys {
		for _, c := range k.Columns {
			if strings.EqualFold(c, name) {
				return true
			}
		}
	}
	return false
}

func keepsValue(a sqlparse.Assignment, t *schema.Table, tn sqlparse.TableName) bool {
	if a.Value.Kind != sqlparse.ValueExpr || len(a.Value.Expr.Args) > 0 {
		return false
	}
	self := schema.QuoteIdent(a.Column.Name)
	for _, q := range []string{"", schema.QuoteIdent(tn.Ref()) + ".", schema.QuoteIdent(t.Name) + "."} {
		if strings.EqualFold(a.Value.Expr.SQL, q+self) {
			return true
		}
	}
	return false
}

// defaultsToNull reports whether col, not given by an INSERT, gets NULL:
// it is nullable and its default is NULL (information_schema shows MySQL's
// as NULL, MariaDB's as the text NULL; a string default shows quoted in
// MariaDB).
func (r *resource) defaultsToNull(ctx context.Context, t *schema.Table, col *schema.Column) (bool, error) {
	if !col.Nullable || col.Generated {
		return false, nil // a generated column gets its expression's value
	}
	var def sql.NullString
	err := r.raw.QueryRowContext(ctx, "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS "+
		"WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?", t.Schema, t.Name, col.Name).Scan(&def)
	if err != nil {
		return false, fmt.Errorf("atcc/datasource: default of %s.%s: %w", t.QuotedName(), schema.QuoteIdent(col.Name), err)
	}
	return !def.Valid || def.String == "NULL", nil
}

// givesDefault reports whether some row gives DEFAULT at position p.
func givesDefault(rows [][]sqlparse.Value, p int) bool {
	for _, row := range rows {
		if p < len(row) && row[p].Kind == sqlparse.ValueDefault {
			return true
		}
	}
	return false
}

func (r *resource) planInsert(ctx context.Context, env *sessionEnv, s *sqlparse.Insert) (*insertPlan, error) {
	text := s.Text()
	t, err := r.table(ctx, s.Table.Schema, s.Table.Name)
	if err != nil {
		return nil, err
	}
	if err := keyed(t, text); err != nil {
		return nil, err
	}
	// Position of each table column in a row.
	pos := make([]int, len(t.Columns))
	for i := range pos {
		pos[i] = -1
	}
	ip := &insertPlan{table: t, lockName: env.lockName(t), autoPK: -1, zeroKey: env.zeroKey, padChar: env.padChar}
	if len(s.Columns) == 0 {
		ip.width = len(t.Columns)
		for i := range pos {
			pos[i] = i
		}
	} else {
		ip.width = len(s.Columns)
		for j, name := range s.Columns {
			i := t.ColumnIndex(name)
			if i < 0 {
				return nil, fmt.Errorf("atcc/datasource: %w", &schema.ColumnNotFoundError{Table: t.QuotedName(), Column: name})
			}
			pos[i] = j
		}
	}
	ip.pkPos = make([]int, len(t.PrimaryKey))
	ip.pkIdx = make([]int, len(t.PrimaryKey))
	for k, name := range t.PrimaryKey {
		i := t.ColumnIndex(name)
		ip.pkPos[k], ip.pkIdx[k] = pos[i], i
		if t.Columns[i].AutoIncrement {
			ip.autoPK = k
		}
	}
	for _, a := range s.OnDuplicate {
		if isPrimaryKey(t, a.Column.Name) && !keepsValue(a, t, s.Table) {
			return nil, unsupported(text, "ON DUPLICATE KEY UPDATE assigns primary key column "+a.Column.Name, ErrPrimaryKeyUpdate)
		}
	}
	for _, a := range s.OnDuplicate {
		if ip.odkuUnique == "" && inUniqueKey(t, a.Column.Name) && !keepsValue(a, t, s.Table) {
			ip.odkuUnique = a.Column.Name
		}
	}
	ip.conflict = s.Ignore || s.Replace || len(s.OnDuplicate) > 0
	ip.odku = len(s.OnDuplicate) > 0
	ip.replace = s.Replace
	ip.ignore = s.Ignore
	ip.returning = s.Returning() != ""
	if ip.conflict {
		keys := append([]schema.Key{{Name: "PRIMARY", Columns: t.PrimaryKey}}, t.UniqueKeys...)
	keys:
		for n, k := range keys {
			kp := keyPlan{}
			for _, name := range k.Columns {
				i := t.ColumnIndex(name)
				if i < 0 {
					return nil, fmt.Errorf("atcc/datasource: %w", &schema.ColumnNotFoundError{Table: t.QuotedName(), Column: name})
				}
				if pos[i] < 0 && !t.Columns[i].AutoIncrement {
					// Not given: every row gets the column's default. A
					// NULL default never collides, and the key can meet
					// nothing.
					null, err := r.defaultsToNull(ctx, t, &t.Columns[i])
					if err != nil {
						return nil, err
					}
					if null && n > 0 {
						continue keys
					}
					return nil, unsupported(text, "unique key "+k.Name+" column "+name+" is not given and its default is not NULL, so the rows it may meet are unknown", nil)
				}
				kp.cols = append(kp.cols, schema.QuoteIdent(t.Columns[i].Name))
				kp.names = append(kp.names, t.Columns[i].Name)
				kp.col = append(kp.col, i)
				kp.pos = append(kp.pos, pos[i])
				kp.auto = append(kp.auto, t.Columns[i].AutoIncrement)
				null := false
				if n > 0 && pos[i] >= 0 && givesDefault(s.Rows, pos[i]) {
					if null, err = r.defaultsToNull(ctx, t, &t.Columns[i]); err != nil {
						return nil, err
					}
				}
				kp.nullDefault = append(kp.nullDefault, null)
			}
			ip.keys = append(ip.keys, kp)
		}
	}
	all := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		all[i] = schema.QuoteIdent(c.Name)
	}
	ip.selAll = "SELECT " + strings.Join(all, ", ") + " FROM " + t.QuotedName() + " WHERE "
	if ip.after1, err = t.SelectByPrimaryKey(nil, 1, true); err != nil {
		return nil, err
	}
	return ip, nil
}

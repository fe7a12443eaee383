package sqlparse

// Statement is one recognised SQL statement. Its concrete type is one of
// *Insert, *Update, *Delete, *SelectForUpdate or *Other; a type switch over
// those five is exhaustive.
//
// A Statement and everything it holds (slices, strings, literal values) is
// shared by every caller that parsed the same text through one Parser, so it
// must be treated as read-only.
type Statement interface {
	// Text returns the statement's own text as written in the query, with
	// surrounding white space and the terminating ';' removed. Comments
	// inside or before it are kept.
	Text() string
	// ArgRange returns the statement's placeholders as the half-open range
	// [lo, hi) of indexes into the args passed with the whole query: the
	// statement runs on its own with args[lo:hi].
	ArgRange() (lo, hi int)
	// Returning returns the select list of the statement's RETURNING
	// clause (MariaDB's INSERT, REPLACE and DELETE ... RETURNING), as
	// written, or "" when it has none. A statement with one yields rows.
	Returning() string

	base() *stmt // seals the interface
}

// stmt holds what every Statement has.
type stmt struct {
	text      string
	lo, hi    int
	returning string
}

func (s *stmt) Text() string           { return s.text }
func (s *stmt) ArgRange() (lo, hi int) { return s.lo, s.hi }
func (s *stmt) Returning() string      { return s.returning }
func (s *stmt) base() *stmt            { return s }

// Fragment is a piece of a statement: a clause of an UPDATE, DELETE or
// locking SELECT (table references, WHERE, ORDER BY, LIMIT, Head) is the
// original text of the query, byte for byte, comments kept, so that every
// literal means what it meant there; an INSERT value expression is
// restored by the parser as valid MySQL/MariaDB text:
// names in backquotes, strings in single quotes with quotes and (unless the
// sql_mode has NO_BACKSLASH_ESCAPES) backslashes escaped, keywords upper case,
// placeholders as "?". Comments are dropped.
//
// Args holds, for each "?" of SQL in textual order, the index into the
// query's args of the value to bind there (0-based; a driver.NamedValue's
// Ordinal minus one). It can differ from the source order ("LIMIT ? OFFSET ?"
// is restored as "?,?" with the offset first) and is exact by construction: it
// is recorded while the placeholders are written.
//
// The zero Fragment (SQL == "") means the clause is absent.
type Fragment struct {
	SQL  string
	Args []int
}

// TableName is a table as written in the statement.
type TableName struct {
	// Schema is the database qualifier, "" when the name is unqualified.
	Schema string
	// Name is the table name exactly as written (backquotes removed,
	// case kept): the executor canonicalises it through table metadata.
	Name string
	// Alias is the alias given with AS (or without it), "" if none.
	Alias string
}

// Ref returns the name the rest of the statement uses for the table: the
// alias when there is one, the name otherwise.
func (t TableName) Ref() string {
	if t.Alias != "" {
		return t.Alias
	}
	return t.Name
}

// ColumnRef is a column as written, optionally qualified.
type ColumnRef struct {
	Schema string // "" unless written db.table.column
	Table  string // table name or alias qualifier, "" if unqualified
	Name   string
}

// ValueKind tells what a Value holds.
type ValueKind uint8

const (
	// ValueArg is a placeholder: Value.Arg is the index of its arg.
	ValueArg ValueKind = iota + 1
	// ValueLiteral is a constant: Value.Literal holds it decoded.
	ValueLiteral
	// ValueDefault is the DEFAULT keyword (the column's default).
	ValueDefault
	// ValueExpr is any other expression: Value.Expr holds it restored.
	ValueExpr
)

// String returns the kind's name.
func (k ValueKind) String() string {
	switch k {
	case ValueArg:
		return "arg"
	case ValueLiteral:
		return "literal"
	case ValueDefault:
		return "default"
	case ValueExpr:
		return "expr"
	}
	return "invalid"
}

// Decimal is an exact decimal literal as text, e.g. "1.50" or
// "-18446744073709551616" (an integer beyond BIGINT range is a decimal too,
// as in MySQL).
type Decimal string

// BitLiteral is a hex or bit literal (0x41, b'1', 0b1): a binary
// string in a string context, an unsigned integer (its bytes big-endian)
// in a numeric one, such as a value for a numeric column.
type BitLiteral []byte

// Value is one value of an INSERT row or the right side of an assignment.
type Value struct {
	Kind ValueKind
	// Arg is the arg index, for ValueArg.
	Arg int
	// Literal is the decoded constant, for ValueLiteral: nil (NULL), int64,
	// uint64 (above MaxInt64), float64 (1e3 style), Decimal (1.5 style or
	// beyond 64 bits), string (a plain string literal), []byte (a _binary
	// string or X'..', which MariaDB reads as a string) or BitLiteral (0x..,
	// b'..', 0b..). TRUE and FALSE are int64 1 and 0. A
	// unary minus or plus before a number is folded in. A string with any
	// other character set introducer is a ValueExpr.
	Literal any
	// Expr is the restored expression, for ValueExpr.
	Expr Fragment
}

// Assignment is one "column = value" of UPDATE ... SET, INSERT ... SET (as a
// row) or ON DUPLICATE KEY UPDATE.
type Assignment struct {
	Column ColumnRef
	Value  Value
	// Table is the index into the statement's Tables of the table the
	// column belongs to, or -1 when that needs table metadata: an
	// unqualified column of a multi-table UPDATE, or a qualifier that names
	// no table of the statement. Always 0 for ON DUPLICATE KEY UPDATE.
	Table int
	// InsertValues is true when the value refers to the row being inserted
	// through VALUES(col) (ON DUPLICATE KEY UPDATE only).
	InsertValues bool
}

// Insert is INSERT or REPLACE with VALUES or SET rows.
type Insert struct {
	stmt
	Table TableName
	// Columns are the column names as written, in order. Empty means the
	// statement names none: each row then gives every column in table
	// order, or, when a row is empty ("VALUES ()"), all defaults.
	Columns []string
	// Rows are the rows in order; each has one Value per column. INSERT
	// ... SET gives one row, with Columns from the SET list.
	Rows [][]Value
	// OnDuplicate holds the ON DUPLICATE KEY UPDATE assignments, if any.
	OnDuplicate []Assignment
	Replace     bool // REPLACE
	Ignore      bool // INSERT IGNORE: failing rows are skipped
}

// Scope is the rows an UPDATE, DELETE or locking SELECT touches: its
// tables and the clauses that pick rows. It holds what the executor needs
// for "SELECT <columns> FROM <TableRefs> WHERE <Where> ORDER BY <OrderBy>
// LIMIT <Limit> FOR UPDATE", which Select and Args build.
type Scope struct {
	// Tables are the base tables of the table references, in join-tree
	// order (textual order, except where the parser turns a RIGHT JOIN
	// around). Derived tables are left out: they cannot be written, and a
	// locking read does not lock the rows they read.
	Tables []TableName
	// TableRefs is the table reference list: tables with aliases, joins,
	// ON conditions, index hints, derived tables.
	TableRefs Fragment
	Where     Fragment // without the WHERE keyword
	OrderBy   Fragment // without ORDER BY: "`a` DESC, `b`"
	Limit     Fragment // without LIMIT: "?", "10", or "?,?" (offset, count)
}

// Select returns "SELECT <columns> FROM <TableRefs>" followed by the WHERE,
// ORDER BY and LIMIT clauses that are present. Bind it with Args.
func (s *Scope) Select(columns string) string {
	n := len("SELECT  FROM ") + len(columns) + len(s.TableRefs.SQL) +
		len(" WHERE ") + len(s.Where.SQL) + len(" ORDER BY ") + len(s.OrderBy.SQL) + len(" LIMIT ") + len(s.Limit.SQL)
	b := make([]byte, 0, n)
	b = append(b, "SELECT "...)
	b = append(b, columns...)
	b = append(b, " FROM "...)
	b = append(b, s.TableRefs.SQL...)
	if s.Where.SQL != "" {
		b = append(b, " WHERE "...)
		b = append(b, s.Where.SQL...)
	}
	if s.OrderBy.SQL != "" {
		b = append(b, " ORDER BY "...)
		b = append(b, s.OrderBy.SQL...)
	}
	if s.Limit.SQL != "" {
		b = append(b, " LIMIT "...)
		b = append(b, s.Limit.SQL...)
	}
	return string(b)
}

// Args returns the arg indexes that bind the placeholders of Select's text,
// in order: those of TableRefs, Where, OrderBy, then Limit.
func (s *Scope) Args() []int {
	return joinArgs(s.TableRefs, s.Where, s.OrderBy, s.Limit)
}

// Update is a single- or multi-table UPDATE.
type Update struct {
	stmt
	Scope
	// Head is the statement's text up to its WHERE, ORDER BY or LIMIT
	// clause: "UPDATE <modifiers> <TableRefs> SET <assignments>", so that
	// Head + " WHERE " + a condition updates exactly as the statement does
	// the rows the condition picks.
	Head Fragment
	// Set are the assignments in order.
	Set []Assignment
	// Multi is true for the multi-table form (a join or a table list).
	Multi  bool
	Ignore bool // UPDATE IGNORE
}

// Delete is a single- or multi-table DELETE ("DELETE t1 FROM t1 JOIN t2
// ..." and "DELETE FROM t1 USING t1 JOIN t2 ...").
type Delete struct {
	stmt
	Scope
	// Head is the statement's text up to its WHERE, ORDER BY or LIMIT
	// clause ("DELETE FROM t", "DELETE t1 FROM t1 JOIN t2 ON ...").
	Head Fragment
	// Targets are the indexes into Tables of the tables rows are deleted
	// from, in the order the statement lists them. A single-table DELETE
	// has Targets [0].
	Targets []int
	Multi   bool
	Ignore  bool
}

// SelectForUpdate is a locking read: SELECT ... FOR UPDATE, FOR SHARE or
// LOCK IN SHARE MODE. A SELECT without a locking clause is an *Other with
// ClassRead. Scope covers the outer query block.
type SelectForUpdate struct {
	stmt
	Scope
	// Shared is true for FOR SHARE / LOCK IN SHARE MODE.
	Shared bool
	// NoWait, SkipLocked and WaitSeconds (> 0 for WAIT n) give the lock
	// wait option; all zero means wait up to innodb_lock_wait_timeout.
	NoWait      bool
	SkipLocked  bool
	WaitSeconds uint64
}

// Class classifies statements that are not INSERT, UPDATE, DELETE or a
// locking SELECT.
type Class uint8

const (
	// ClassRead writes nothing: SELECT without a locking clause, UNION,
	// TABLE, VALUES, SHOW, DESCRIBE, EXPLAIN (without ANALYZE of a write).
	ClassRead Class = iota + 1
	// ClassSession changes session or server state only: SET (other than
	// autocommit, including SET NAMES), USE, PREPARE, DEALLOCATE, KILL.
	ClassSession
	// ClassTransaction is transaction control; Other.Txn says which.
	ClassTransaction
	// ClassDDL is DDL and the other statements that commit implicitly:
	// CREATE, ALTER, DROP, TRUNCATE, RENAME, account management
	// (GRANT, REVOKE, CREATE USER...), ANALYZE/OPTIMIZE/REPAIR TABLE, FLUSH.
	ClassDDL
	// ClassUnsupported is a statement that may write and that AT mode
	// cannot image (LOAD DATA, CALL, DO, EXECUTE, LOCK TABLES, SELECT ...
	// INTO, INSERT ... SELECT, statements with a WITH clause...), or a
	// statement this package does not recognise. Other.Reason says why.
	ClassUnsupported
)

// String returns the class name.
func (c Class) String() string {
	switch c {
	case ClassRead:
		return "read"
	case ClassSession:
		return "session"
	case ClassTransaction:
		return "transaction"
	case ClassDDL:
		return "ddl"
	case ClassUnsupported:
		return "unsupported"
	}
	return "invalid"
}

// TxnOp is the transaction control operation of a ClassTransaction statement.
type TxnOp uint8

const (
	// TxnBegin is BEGIN or START TRANSACTION.
	TxnBegin TxnOp = iota + 1
	// TxnCommit is COMMIT.
	TxnCommit
	// TxnRollback is ROLLBACK (of the whole transaction).
	TxnRollback
	// TxnSavepoint is SAVEPOINT name.
	TxnSavepoint
	// TxnRollbackToSavepoint is ROLLBACK TO [SAVEPOINT] name.
	TxnRollbackToSavepoint
	// TxnReleaseSavepoint is RELEASE SAVEPOINT name.
	TxnReleaseSavepoint
	// TxnSetAutocommit is SET [SESSION] autocommit = ... (setting it to 1
	// commits the open transaction).
	TxnSetAutocommit
)

// String returns the operation name.
func (o TxnOp) String() string {
	switch o {
	case TxnBegin:
		return "begin"
	case TxnCommit:
		return "commit"
	case TxnRollback:
		return "rollback"
	case TxnSavepoint:
		return "savepoint"
	case TxnRollbackToSavepoint:
		return "rollback to savepoint"
	case TxnReleaseSavepoint:
		return "release savepoint"
	case TxnSetAutocommit:
		return "set autocommit"
	}
	return "none"
}

// Other is any statement that is not an INSERT, UPDATE, DELETE or locking
// SELECT AT mode handles.
type Other struct {
	stmt
	Class Class
	// Txn is the operation, for ClassTransaction; 0 otherwise.
	Txn TxnOp
	// Reason says why, for ClassUnsupported (e.g. "INSERT ... SELECT").
	Reason string
	// Database is the database a USE statement makes current, "" for any
	// other statement.
	Database string
}

func joinArgs(fs ...Fragment) []int {
	n := 0
	for _, f := range fs {
		n += len(f.Args)
	}
	if n == 0 {
		return nil
	}
	out := make([]int, 0, n)
	for _, f := range fs {
		out = append(out, f.Args...)
	}
	return out
}

package schema

import "strings"

// Column is one column of a table, as information_schema.COLUMNS describes it.
type Column struct {
	Name          string // as stored, e.g. "Balance"
	Position      int    // ORDINAL_POSITION, 1-based
	DataType      string // DATA_TYPE, lowercased: "bigint", "varchar", "json"
	ColumnType    string // COLUMN_TYPE: "bigint(20) unsigned", "enum('a','b')"
	Nullable      bool
	Unsigned      bool // numeric type declared UNSIGNED
	AutoIncrement bool
	// Generated is set for VIRTUAL and STORED generated columns; their
	// values can be read but never written.
	Generated bool
	// OnUpdate is set for columns with ON UPDATE CURRENT_TIMESTAMP: the
	// server changes them on every update, which defeats an undo log's
	// before/after comparison unless the images include the change.
	OnUpdate bool
	// Invisible is set for MariaDB's INVISIBLE columns (and MySQL's), which
	// SELECT * leaves out.
	Invisible bool
}

// Key is an index over one or more columns.
type Key struct {
	Name    string   // index name
	Columns []string // column names in key order
}

// Table is the metadata of one table. Tables come from a Cache (a Table
// built by hand has no column index); they are immutable and safe to share
// between goroutines.
type Table struct {
	Schema     string   // schema (database) name, as stored
	Name       string   // table name, as stored
	Columns    []Column // in ordinal order
	PrimaryKey []string // primary key column names in key order; empty if none
	UniqueKeys []Key    // unique keys other than the primary key, by name

	exact  map[string]int // column name -> index in Columns
	folded map[string]int // lowercased column name -> index in Columns
	quoted string         // `schema`.`name`
}

// index builds the lookup maps; it must run once, before t is shared.
func (t *Table) index() {
	t.exact = make(map[string]int, len(t.Columns))
	t.folded = make(map[string]int, len(t.Columns))
	for i, c := range t.Columns {
		t.exact[c.Name] = i
		t.folded[strings.ToLower(c.Name)] = i
	}
	t.quoted = QuoteIdent(t.Schema) + "." + QuoteIdent(t.Name)
}

// Column returns the named column, or nil if the table has none. Names match
// exactly first, then case-insensitively, as MySQL column names do.
func (t *Table) Column(name string) *Column {
	if i := t.ColumnIndex(name); i >= 0 {
		return &t.Columns[i]
	}
	return nil
}

// ColumnIndex returns the index in Columns of the named column (matched as by
// Column), or -1.
func (t *Table) ColumnIndex(name string) int {
	if i, ok := t.exact[name]; ok {
		return i
	}
	if i, ok := t.folded[strings.ToLower(name)]; ok {
		return i
	}
	return -1
}

// QuotedName returns the schema-qualified, quoted table name:
// `schema`.`name`.
func (t *Table) QuotedName() string { return t.quoted }

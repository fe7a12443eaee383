package schema

import (
	"errors"
	"fmt"
)

var (
	// ErrTableNotFound matches a *TableNotFoundError: the table does not exist
	// (or is not visible to the connection's user).
	ErrTableNotFound = errors.New("atcc/schema: table not found")
	// ErrColumnNotFound matches a *ColumnNotFoundError.
	ErrColumnNotFound = errors.New("atcc/schema: column not found")
	// ErrNoPrimaryKey is returned when a statement needs a primary key and the
	// table has none.
	ErrNoPrimaryKey = errors.New("atcc/schema: table has no primary key")
	// ErrNoDatabase is returned when a table is looked up without a schema
	// and the connection has no default database.
	ErrNoDatabase = errors.New("atcc/schema: no schema given and no default database selected")
)

// TableNotFoundError reports a table that information_schema does not list.
type TableNotFoundError struct {
	Schema string // the schema searched (the default database if none was given)
	Name   string // the table name as requested
}

// Error names the table.
func (e *TableNotFoundError) Error() string {
	return fmt.Sprintf("atcc/schema: table %s.%s not found", QuoteIdent(e.Schema), QuoteIdent(e.Name))
}

// Is reports whether target is ErrTableNotFound.
func (e *TableNotFoundError) Is(target error) bool { return target == ErrTableNotFound }

// ColumnNotFoundError reports a column name that the table does not have.
type ColumnNotFoundError struct {
	Table  string // the table's quoted, schema-qualified name
	Column string // the column name as requested
}

// Error names the table and the column.
func (e *ColumnNotFoundError) Error() string {
	return fmt.Sprintf("atcc/schema: table %s has no column %s", e.Table, QuoteIdent(e.Column))
}

// Is reports whether target is ErrColumnNotFound.
func (e *ColumnNotFoundError) Is(target error) bool { return target == ErrColumnNotFound }

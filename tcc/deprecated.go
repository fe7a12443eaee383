package tcc

import (
	"context"
	"database/sql"
)

// Former names, kept while the branches written against them are merged.

// Deprecated: use DDL.
const FenceDDL = DDL

// Deprecated: use Config.
type Options = Config

// Deprecated: use CreateTable.
func CreateFenceTable(ctx context.Context, db *sql.DB, table string) error {
	return CreateTable(ctx, db, table)
}

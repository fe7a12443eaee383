package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

const (
	columnsQuery = "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA" +
		" FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
	keysQuery = "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS" +
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX"
	foldedQuery = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES" +
		" WHERE LOWER(TABLE_SCHEMA) = LOWER(?) AND LOWER(TABLE_NAME) = LOWER(?)"
)

// load reads one table's metadata: exact name first, then, on a server that
// folds table names, a unique case-insensitive match.
func (c *Cache) load(ctx context.Context, schema, name string) (*Table, error) {
	if schema == "" {
		s, err := c.defaultSchema(ctx)
		if err != nil {
			return nil, err
		}
		schema = s
	}
	t, err := c.loadExact(ctx, schema, name)
	if err != nil || t != nil {
		return t, err
	}
	fold, err := c.serverFoldsNames(ctx)
	if err != nil {
		return nil, err
	}
	if fold {
		s, n, ok, err := c.resolveFolded(ctx, schema, name)
		if err != nil {
			return nil, err
		}
		if ok {
			if t, err = c.loadExact(ctx, s, n); err != nil || t != nil {
				return t, err
			}
		}
	}
	return nil, &TableNotFoundError{Schema: schema, Name: name}
}

func (c *Cache) defaultSchema(ctx context.Context) (string, error) {
	if p := c.dbName.Load(); p != nil {
		return *p, nil
	}
	var db sql.NullString
	if err := c.db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&db); err != nil {
		return "", fmt.Errorf("atcc/schema: default database: %w", err)
	}
	if !db.Valid || db.String == "" {
		return "", ErrNoDatabase
	}
	c.dbName.Store(&db.String)
	return db.String, nil
}

func (c *Cache) serverFoldsNames(ctx context.Context) (bool, error) {
	if p := c.foldNames.Load(); p != nil {
		return *p, nil
	}
	var lctn int
	if err := c.db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lctn); err != nil {
		return false, fmt.Errorf("atcc/schema: lower_case_table_names: %w", err)
	}
	fold := lctn != 0
	c.foldNames.Store(&fold)
	return fold, nil
}

// resolveFolded finds the stored names of the one table matching schema.name
// case-insensitively; ok is false if there is none or more than one.
func (c *Cache) resolveFolded(ctx context.Context, schema, name string) (s, n string, ok bool, err error) {
	rows, err := c.db.QueryContext(ctx, foldedQuery, schema, name)
	if err != nil {
		return "", "", false, fmt.Errorf("atcc/schema: resolve %s.%s: %w", schema, name, err)
	}
	defer rows.Close()
	found := 0
	for rows.Next() {
		if err := rows.Scan(&s, &n); err != nil {
			return "", "", false, fmt.Errorf("atcc/schema: resolve %s.%s: %w", schema, name, err)
		}
		found++
	}
	if err := rows.Err(); err != nil {
		return "", "", false, fmt.Errorf("atcc/schema: resolve %s.%s: %w", schema, name, err)
	}
	return s, n, found == 1, nil
}

// loadExact returns nil, nil when no table has exactly this schema and name.
func (c *Cache) loadExact(ctx context.Context, schema, name string) (*Table, error) {
	t, err := c.loadColumns(ctx, schema, name)
	if err != nil || t == nil {
		return nil, err
	}
	if err := c.loadKeys(ctx, t); err != nil {
		return nil, err
	}
	t.index()
	return t, nil
}

func (c *Cache) loadColumns(ctx context.Context, schema, name string) (*Table, error) {
	rows, err := c.db.QueryContext(ctx, columnsQuery, schema, name)
	if err != nil {
		return nil, fmt.Errorf("atcc/schema: columns of %s.%s: %w", schema, name, err)
	}
	defer rows.Close()
	var t *Table
	for rows.Next() {
		var (
			col                 Column
			s, n                string
			nullable, extra, ct string
		)
		if err := rows.Scan(&s, &n, &col.Name, &col.Position, &col.DataType, &ct, &nullable, &extra); err != nil {
			return nil, fmt.Errorf("atcc/schema: columns of %s.%s: %w", schema, name, err)
		}
		if t == nil {
			t = &Table{Schema: s, Name: n}
		}
		col.DataType = strings.ToLower(col.DataType)
		col.ColumnType = ct
		ct = strings.ToLower(ct)
		extra = strings.ToLower(extra)
		col.Nullable = nullable == "YES"
		col.Unsigned = strings.Contains(ct, " unsigned")
		col.AutoIncrement = strings.Contains(extra, "auto_increment")
		col.Generated = strings.Contains(extra, "virtual generated") || strings.Contains(extra, "stored generated") ||
			strings.Contains(extra, "persistent generated")
		col.OnUpdate = strings.Contains(extra, "on update")
		col.Invisible = strings.Contains(extra, "invisible")
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("atcc/schema: columns of %s.%s: %w", schema, name, err)
	}
	return t, nil
}

func (c *Cache) loadKeys(ctx context.Context, t *Table) error {
	rows, err := c.db.QueryContext(ctx, keysQuery, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("atcc/schema: keys of %s.%s: %w", t.Schema, t.Name, err)
	}
	defer rows.Close()
	skip := "" // a unique key with an expression part cannot identify rows
	for rows.Next() {
		var (
			index     string
			nonUnique int64
			column    sql.NullString
		)
		if err := rows.Scan(&index, &nonUnique, &column); err != nil {
			return fmt.Errorf("atcc/schema: keys of %s.%s: %w", t.Schema, t.Name, err)
		}
		switch {
		case nonUnique != 0 || index == skip:
		case !column.Valid:
			skip = index
			if n := len(t.UniqueKeys); n > 0 && t.UniqueKeys[n-1].Name == index {
				t.UniqueKeys = t.UniqueKeys[:n-1]
			}
		case index == "PRIMARY":
			t.PrimaryKey = append(t.PrimaryKey, column.String)
		default:
			if n := len(t.UniqueKeys); n == 0 || t.UniqueKeys[n-1].Name != index {
				t.UniqueKeys = append(t.UniqueKeys, Key{Name: index})
			}
			k := &t.UniqueKeys[len(t.UniqueKeys)-1]
			k.Columns = append(k.Columns, column.String)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("atcc/schema: keys of %s.%s: %w", t.Schema, t.Name, err)
	}
	return nil
}

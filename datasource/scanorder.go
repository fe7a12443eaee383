package datasource

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/schema"
)

// statisticsQuery reads the parts of one index in key order.
const statisticsQuery = "SELECT COLUMN_NAME, SUB_PART, COLLATION FROM information_schema.STATISTICS" +
	" WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ? ORDER BY SEQ_IN_INDEX"

// assignsUniqueKey reports whether tg, the target of a single-table
// UPDATE, has a column of a unique key other than the primary one in its
// image columns (assigned, or changed ON UPDATE).
func assignsUniqueKey(tg *target) bool {
	for _, c := range tg.cols {
		if !isPrimaryKey(tg.table, c) && inUniqueKey(tg.table, c) {
			return true
		}
	}
	return false
}

// scanOrder returns the ORDER BY list that makes the single-table UPDATE
// of sp, run on its imaged keys, change its rows in the order the
// statement as written changes them, or "" for primary key order (the
// order of the imaged-key statement without one).
//
// MariaDB and MySQL check a unique key row by row, so the order decides
// whether "SET uq = uq - 1" meets a duplicate on the way: without an
// ORDER BY it is the order of the index the statement scans, which
// EXPLAIN names. A full scan, a primary key range and an index merge
// (which fetches rows by primary key) go in primary key order; a range
// or full scan of a secondary index goes by its columns (a prefix part by
// its prefix, a descending part descending), then by primary key, as
// InnoDB orders the index's entries. The order of the before image is not
// it: the image's SELECT reads fewer columns and may scan another
// index that covers them.
//
// Keys beyond schema.MaxKeysPerStatement are written in chunks, each in
// this order. When EXPLAIN reads another table first (an IN subquery
// turned into a join), the rows go in primary key order.
func (e *executor) scanOrder(ctx context.Context, sp *stmtPlan, all []driver.NamedValue) (string, error) {
	lo, hi := sp.stmt.ArgRange()
	args := make([]driver.NamedValue, hi-lo)
	for j := range args {
		args[j] = driver.NamedValue{Ordinal: j + 1, Value: all[lo+j].Value}
	}
	plan, err := e.q.image(ctx, "EXPLAIN "+sp.stmt.Text(), args)
	if err != nil {
		return "", fmt.Errorf("atcc/datasource: the order of an UPDATE of a unique key: %w", err)
	}
	col := func(name string) int {
		for i, n := range plan.Columns {
			if strings.EqualFold(n, name) {
				return i
			}
		}
		return -1
	}
	table, typ, key, extra := col("table"), col("type"), col("key"), col("Extra")
	if len(plan.Rows) == 0 || table < 0 || typ < 0 || key < 0 || extra < 0 {
		return "", fmt.Errorf("atcc/datasource: the order of an UPDATE of a unique key: unexpected EXPLAIN columns %v", plan.Columns)
	}
	row := plan.Rows[0] // the table updated; subqueries come after it
	if u, ok := sp.stmt.(*sqlparse.Update); !ok || row[table].String() != u.Tables[sp.targets[0].index].Ref() {
		// another table is read first (a subquery turned into a join):
		// its order leads, which no ORDER BY of this table reproduces
		return "", nil
	}
	index := row[key].String()
	switch {
	case row[key].IsNull(), index == "PRIMARY", row[typ].String() == "index_merge",
		strings.Contains(row[extra].String(), "Rowid-ordered"):
		return "", nil
	}
	t := sp.targets[0].table
	parts, err := e.q.image(ctx, statisticsQuery, []driver.NamedValue{
		{Ordinal: 1, Value: t.Schema}, {Ordinal: 2, Value: t.Name}, {Ordinal: 3, Value: index}})
	if err != nil {
		return "", fmt.Errorf("atcc/datasource: the order of an UPDATE of a unique key: index %s: %w", index, err)
	}
	if len(parts.Rows) == 0 {
		return "", fmt.Errorf("atcc/datasource: the order of an UPDATE of a unique key: EXPLAIN names index %s, which %s does not have", index, t.QuotedName())
	}
	qual := sp.write.quals[0] + "."
	var b strings.Builder
	for _, p := range parts.Rows {
		if p[0].IsNull() {
			// an expression part (MySQL's functional index): no column
			// to order by
			return "", unsupported(sp.stmt.Text(), "an UPDATE of a unique key scanning functional index "+index, nil)
		}
		name := qual + schema.QuoteIdent(p[0].String())
		if !p[1].IsNull() {
			name = "LEFT(" + name + ", " + p[1].String() + ")"
		}
		b.WriteString(name)
		if p[2].String() == "D" {
			b.WriteString(" DESC")
		}
		b.WriteString(", ")
	}
	for i, k := range t.PrimaryKey {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(qual + schema.QuoteIdent(k))
	}
	return b.String(), nil
}

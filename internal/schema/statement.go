package schema

import (
	"fmt"
	"strings"
)

// MaxKeysPerStatement is the largest number of key tuples a statement built
// by this package carries. Callers with more rows split them into chunks of
// at most this many keys, one statement per chunk.
const MaxKeysPerStatement = 1000

// PrimaryKeyIn returns the predicate matching keys primary-key tuples, with
// one placeholder per key column per tuple, in primary-key order:
//
//	`id` IN (?,?,?)                          single-column key
//	((`a`=? AND `b`=?) OR (`a`=? AND `b`=?))  composite key
//	(`a`=? AND `b`=?)                        composite key, one tuple
//
// Tuples are written as equalities, not as a row IN: MariaDB (10.11) plans
// DELETE and UPDATE with a one-element row IN as a full table scan, which
// locks every row, and a row IN of several tuples compares a string with
// a column of another character set without converting it (('aé') IN
// (...) misses a latin1 'aé' that ... = 'aé' finds).
//
// keys must be between 1 and MaxKeysPerStatement.
func (t *Table) PrimaryKeyIn(keys int) (string, error) {
	var b strings.Builder
	if err := t.appendPrimaryKeyIn(&b, keys); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (t *Table) appendPrimaryKeyIn(b *strings.Builder, keys int) error {
	if len(t.PrimaryKey) == 0 {
		return fmt.Errorf("%w: %s", ErrNoPrimaryKey, t.quoted)
	}
	if keys < 1 || keys > MaxKeysPerStatement {
		return fmt.Errorf("atcc/schema: %d keys in one statement, want 1..%d", keys, MaxKeysPerStatement)
	}
	n := len(t.PrimaryKey)
	if n == 1 {
		b.Grow(len(t.PrimaryKey[0]) + 8 + 2*keys)
		appendQuoted(b, t.PrimaryKey[0])
		b.WriteString(" IN (")
		for i := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
		return nil
	}
	b.Grow(keys * (8 + n*(len(t.PrimaryKey[0])+8)))
	if keys > 1 {
		b.WriteByte('(')
	}
	for i := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j, c := range t.PrimaryKey {
			if j > 0 {
				b.WriteString(" AND ")
			}
			appendQuoted(b, c)
			b.WriteString("=?")
		}
		b.WriteByte(')')
	}
	if keys > 1 {
		b.WriteByte(')')
	}
	return nil
}

// SelectByPrimaryKey returns
//
//	SELECT <columns> FROM `schema`.`table` WHERE <PrimaryKeyIn(keys)> [FOR UPDATE]
//
// columns are matched as by Column and written with their stored names; nil
// selects every column in ordinal order. An unknown column yields a
// *ColumnNotFoundError. keys must be between 1 and MaxKeysPerStatement; the
// arguments are the key tuples' values, flattened in primary-key order.
func (t *Table) SelectByPrimaryKey(columns []string, keys int, forUpdate bool) (string, error) {
	var b strings.Builder
	b.Grow(64 + 12*max(len(columns), len(t.Columns)))
	b.WriteString("SELECT ")
	if columns == nil {
		for i := range t.Columns {
			if i > 0 {
				b.WriteByte(',')
			}
			appendQuoted(&b, t.Columns[i].Name)
		}
	} else {
		if len(columns) == 0 {
			return "", fmt.Errorf("atcc/schema: select from %s: no columns", t.quoted)
		}
		for i, name := range columns {
			c := t.Column(name)
			if c == nil {
				return "", &ColumnNotFoundError{Table: t.quoted, Column: name}
			}
			if i > 0 {
				b.WriteByte(',')
			}
			appendQuoted(&b, c.Name)
		}
	}
	b.WriteString(" FROM ")
	b.WriteString(t.quoted)
	b.WriteString(" WHERE ")
	if err := t.appendPrimaryKeyIn(&b, keys); err != nil {
		return "", err
	}
	if forUpdate {
		b.WriteString(" FOR UPDATE")
	}
	return b.String(), nil
}

package datasource

import (
	"encoding/hex"
	"strings"

	"github.com/atcc-go/atcc/undo"
)

// lockSet collects the rows a local transaction changed or locked, as the
// AT lock key "table:pk1,pk2;table2:pk" (rm.Branch.LockKeys). Tables keep
// the order they were first seen in, rows the order they were added;
// duplicates are dropped. A lockSet belongs to one connection and is not safe
// for concurrent use.
type lockSet struct {
	tables []lockTable
}

type lockTable struct {
	name string
	keys []string
	seen map[string]struct{}
}

func (l *lockSet) empty() bool { return len(l.tables) == 0 }

func (l *lockSet) add(table, key string) {
	var t *lockTable
	for i := range l.tables {
		if l.tables[i].name == table {
			t = &l.tables[i]
			break
		}
	}
	if t == nil {
		l.tables = append(l.tables, lockTable{name: table, seen: make(map[string]struct{})})
		t = &l.tables[len(l.tables)-1]
	}
	if _, dup := t.seen[key]; dup {
		return
	}
	t.seen[key] = struct{}{}
	t.keys = append(t.keys, key)
}

// addImage adds the primary keys of every row of img.
func (l *lockSet) addImage(table string, img *undo.Image, pkIdx []int) {
	for _, row := range img.Rows {
		l.add(table, rowKey(row, pkIdx))
	}
}

func (l *lockSet) String() string {
	var b strings.Builder
	for i, t := range l.tables {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(t.name)
		b.WriteByte(':')
		for j, k := range t.keys {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
		}
	}
	return b.String()
}

// rowKey is the lock key of a row: its primary key values as text, the
// columns of a composite key joined with "_". A value the lock key syntax
// cannot carry (one holding ',', ';', ':' or a control byte, as binary keys
// may, or a blank one, such as "" or " ", which the coordinator skips, so
// that a table's segment could be left without values) is written as 0x
// followed by its bytes in hex: "0x" for "", "0x20" for " ".
func rowKey(row undo.Row, pkIdx []int) string {
	if len(pkIdx) == 1 {
		return keyText(row[pkIdx[0]])
	}
	var b strings.Builder
	for i, j := range pkIdx {
		if i > 0 {
			b.WriteByte('_')
		}
		b.WriteString(keyText(row[j]))
	}
	return b.String()
}

func keyText(v undo.Value) string {
	s := v.String()
	if strings.TrimSpace(s) == "" {
		// blank values are skipped by the coordinator (Java's too)
		return "0x" + hex.EncodeToString([]byte(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ',' || c == ';' || c == ':' {
			return "0x" + hex.EncodeToString([]byte(s))
		}
	}
	return s
}

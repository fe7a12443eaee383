package datasource

import (
	"bytes"
	"encoding/hex"
	"strings"

	"github.com/atcc-go/atcc/undo"
)

// lockSet collects the rows a local transaction changed or locked, as the
// AT lock key "table:pk1,pk2;table2:pk" (rm.Branch.LockKeys). Tables keep
// the order they were first seen in, rows the order they were added;
// duplicates are dropped. A lockSet belongs to one connection and is not safe
// for concurrent use.
//
// The keys' text is written into one buffer the lockSet keeps across
// transactions (see reset), not into a string per key: 2 allocations per AT
// transaction of two one-row UPDATEs fewer (atcc-bench).
type lockSet struct {
	tables []lockTable
	text   []byte // every key's text, back to back
}

type lockTable struct {
	name string
	keys []keySpan           // in text
	seen map[string]struct{} // the keys, once there are more than linearKeys
}

// keySpan is where a key's text is in lockSet.text.
type keySpan struct{ lo, hi int }

// linearKeys is how many keys of a table are deduplicated by a linear scan
// before a map is built: a transaction of a few rows then allocates no map
// (part of the 5 allocations per transaction of two one-row UPDATEs that
// lockSet.add no longer makes, see branch.reset).
const linearKeys = 16

// keepLockText bounds the key text a lockSet keeps for the connection's
// next transaction.
const keepLockText = 4 << 10

func (l *lockSet) empty() bool { return len(l.tables) == 0 }

// reset empties l, keeping its storage (of up to keepRecords keys per
// table) for the next transaction.
func (l *lockSet) reset() {
	for i := range l.tables {
		t := &l.tables[i]
		keys := t.keys[:0]
		if cap(keys) > keepRecords {
			keys = nil
		}
		*t = lockTable{keys: keys}
	}
	l.tables = l.tables[:0]
	l.text = l.text[:0]
	if cap(l.text) > keepLockText {
		l.text = nil
	}
}

// add adds the key of a row of table.
func (l *lockSet) add(table, key string) {
	start := len(l.text)
	l.text = append(l.text, key...)
	l.addText(table, start)
}

// addRow adds the key of row (see rowKey) of table.
func (l *lockSet) addRow(table string, row undo.Row, pkIdx []int) {
	start := len(l.text)
	l.text = appendRowKey(l.text, row, pkIdx)
	l.addText(table, start)
}

// addText adds the key of table that l.text holds from start on, or drops
// that text if the key is there already.
func (l *lockSet) addText(table string, start int) {
	key := l.text[start:]
	var t *lockTable
	for i := range l.tables {
		if l.tables[i].name == table {
			t = &l.tables[i]
			break
		}
	}
	if t == nil {
		if n := len(l.tables); n < cap(l.tables) {
			l.tables = l.tables[:n+1] // an entry reset left, with its keys' storage
		} else {
			l.tables = append(l.tables, lockTable{})
		}
		t = &l.tables[len(l.tables)-1]
		t.name = table
	}
	span := keySpan{start, len(l.text)}
	if t.seen != nil {
		if _, dup := t.seen[string(key)]; dup {
			l.text = l.text[:start]
			return
		}
		t.seen[string(key)] = struct{}{}
		t.keys = append(t.keys, span)
		return
	}
	for _, k := range t.keys {
		if string(l.text[k.lo:k.hi]) == string(key) {
			l.text = l.text[:start]
			return
		}
	}
	t.keys = append(t.keys, span)
	if len(t.keys) > linearKeys {
		t.seen = make(map[string]struct{}, 2*len(t.keys))
		for _, k := range t.keys {
			t.seen[string(l.text[k.lo:k.hi])] = struct{}{}
		}
	}
}

// addImage adds the primary keys of every row of img.
func (l *lockSet) addImage(table string, img *undo.Image, pkIdx []int) {
	for _, row := range img.Rows {
		l.addRow(table, row, pkIdx)
	}
}

func (l *lockSet) String() string {
	n := 0
	for _, t := range l.tables {
		n += len(t.name) + 2
		for _, k := range t.keys {
			n += k.hi - k.lo + 1
		}
	}
	var b strings.Builder
	b.Grow(n) // one allocation (Builder's growth made 2.5 per COMMIT)
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
			b.Write(l.text[k.lo:k.hi])
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
	var buf [64]byte
	return string(appendRowKey(buf[:0], row, pkIdx))
}

// appendRowKey appends rowKey(row, pkIdx) to dst: with a buffer on the
// stack, a row's key is compared without being allocated (4 allocations per
// AT transaction of two one-row UPDATEs fewer, atcc-bench: the rows' keys
// at COMMIT).
func appendRowKey(dst []byte, row undo.Row, pkIdx []int) []byte {
	for i, j := range pkIdx {
		if i > 0 {
			dst = append(dst, '_')
		}
		start := len(dst)
		dst = row[j].AppendString(dst)
		if text := dst[start:]; len(bytes.TrimSpace(text)) == 0 || !plainKey(text) {
			raw := string(text)
			dst = append(dst[:start], "0x"...)
			dst = hex.AppendEncode(dst, []byte(raw))
		}
	}
	return dst
}

// keyText is the lock key text of v (see rowKey).
func keyText(v undo.Value) string {
	s := v.String()
	if strings.TrimSpace(s) == "" || !plainKey(s) {
		// blank values are skipped by the coordinator (Java's too)
		return "0x" + hex.EncodeToString([]byte(s))
	}
	return s
}

// plainKey reports whether s holds none of the bytes the lock key syntax
// cannot carry.
func plainKey[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ',' || c == ';' || c == ':' {
			return false
		}
	}
	return true
}

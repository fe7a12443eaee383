package undo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/atcc-go/atcc/internal/schema"
)

// A branch is undone as a whole, not statement by statement: its records are
// first folded into one net change per row (the row as it was before the
// branch's first statement touching it, and as the branch's last statement
// left it), every such row is checked against the database, and only then
// are the rows put back, in an order that keeps unique keys from colliding
// on the way (see order.go). Folding makes the order of the restore
// independent of the order the statements ran in: a REPLACE recorded as a
// delete and an update of rows that trade a unique value, or two statements
// that shift a unique column, restore like a single statement would.

// rowState is a row at one point of the branch: absent, or present with the
// values of the columns some image held (vals and has are indexed by live
// column position). Generated columns are left out: their values follow
// from the others, and an image holding one goes stale when a later
// statement changes a column it is computed from (an INSERT's after image,
// then an UPDATE of the base column, whose image has no generated column).
type rowState struct {
	exists bool
	vals   Row
	has    []bool
}

// matches reports whether cur, a live row with every column (nil: no row),
// is this state on every column the state knows.
func (s *rowState) matches(cur Row) bool {
	if !s.exists || cur == nil {
		return s.exists == (cur != nil)
	}
	for i, h := range s.has {
		if h && s.vals[i] != cur[i] {
			return false
		}
	}
	return true
}

// rowChange is the net change the branch made to the row of one primary key.
type rowChange struct {
	pk    Row      // primary key values, in key order
	first rowState // before the branch's first statement touching the row
	last  rowState // after its last statement touching the row
	cur   Row      // the live row, every column, once read (nil: none)
}

// restoreKind is what putting a row back takes.
type restoreKind uint8

const (
	restoreNone   restoreKind = iota // the branch left the row as it found it
	restoreUpdate                    // write the first state's values back
	restoreInsert                    // the branch deleted the row: insert it again
	restoreDelete                    // the branch inserted the row: delete it
)

func (k restoreKind) String() string {
	switch k {
	case restoreUpdate:
		return "update"
	case restoreInsert:
		return "insert"
	case restoreDelete:
		return "delete"
	}
	return "none"
}

func (rc *rowChange) kind() restoreKind {
	f, l := &rc.first, &rc.last
	switch {
	case f.exists && l.exists:
		if slices.Equal(f.has, l.has) && f.vals.Equal(l.vals) {
			return restoreNone
		}
		return restoreUpdate
	case f.exists:
		return restoreInsert
	case l.exists:
		return restoreDelete
	}
	return restoreNone
}

// tableChanges holds the net row changes of one table.
type tableChanges struct {
	t       *schema.Table
	lastRec int // index of the last record on the table: tables restore newest first
	rows    []*rowChange
	byKey   map[string]*rowChange
	pkIdx   []int // live column index of each primary key column
}

// collect folds the records of l into net row changes, one tableChanges per
// table, newest table first. With refresh, metadata is read fresh from the
// server, once per table; without, it comes from the cache, and an image
// column the cached table lacks asks for a fresh start (errTableMoved), as
// does a cached column list that readCurrent finds stale. Either way an
// image is never applied to a table whose columns changed.
func (m *Manager) collect(ctx context.Context, l *BranchLog, refresh bool) ([]*tableChanges, error) {
	type name struct{ schema, table string }
	fresh := make(map[name]*schema.Table)
	byTable := make(map[string]*tableChanges)
	var out []*tableChanges
	for i := range l.Records {
		rec := &l.Records[i]
		if len(rec.Before.Rows) == 0 && len(rec.After.Rows) == 0 {
			continue // the statement changed no rows; its table need not exist any more
		}
		n := name{rec.Schema, rec.Table}
		t := fresh[n]
		if t == nil {
			var err error
			lookup := m.tables.Table
			if refresh {
				lookup = m.tables.Refresh
			}
			if t, err = lookup(ctx, rec.Schema, rec.Table); err != nil {
				return nil, fmt.Errorf("record %d (%s %s): %w", i, rec.Op, rec.Table, tableError(err))
			}
			fresh[n] = t
		}
		tc := byTable[t.QuotedName()]
		if tc == nil {
			var err error
			if tc, err = newTableChanges(t); err != nil {
				return nil, fmt.Errorf("record %d (%s %s): %w", i, rec.Op, rec.Table, err)
			}
			byTable[t.QuotedName()] = tc
			out = append(out, tc)
		}
		tc.lastRec = i
		if err := tc.add(rec); err != nil {
			if !refresh && errors.Is(err, ErrSchemaChanged) {
				err = fmt.Errorf("%w: %w", errTableMoved, err)
			}
			return nil, fmt.Errorf("record %d (%s %s): %w", i, rec.Op, rec.Table, err)
		}
	}
	slices.SortStableFunc(out, func(a, b *tableChanges) int { return b.lastRec - a.lastRec })
	return out, nil
}

func tableError(err error) error {
	if errors.Is(err, schema.ErrTableNotFound) {
		return fmt.Errorf("%w: %w", ErrSchemaChanged, err)
	}
	return err
}

func newTableChanges(t *schema.Table) (*tableChanges, error) {
	if len(t.PrimaryKey) == 0 {
		return nil, fmt.Errorf("%w: %s has no primary key", ErrSchemaChanged, t.QuotedName())
	}
	tc := &tableChanges{t: t, byKey: make(map[string]*rowChange)}
	for _, name := range t.PrimaryKey {
		tc.pkIdx = append(tc.pkIdx, t.ColumnIndex(name))
	}
	return tc, nil
}

// columnsOf maps each image column to its live column index and returns
// the image index of each primary key column.
func (tc *tableChanges) columnsOf(img *Image) (live, pk []int, err error) {
	t := tc.t
	live = make([]int, len(img.Columns))
	seen := make(map[int]int, len(img.Columns))
	for i, c := range img.Columns {
		ti := t.ColumnIndex(c)
		if ti < 0 {
			return nil, nil, fmt.Errorf("%w: %s has no column %s", ErrSchemaChanged, t.QuotedName(), schema.QuoteIdent(c))
		}
		if _, dup := seen[ti]; dup {
			return nil, nil, fmt.Errorf("%w: column %s twice in an image", ErrCorrupt, schema.QuoteIdent(c))
		}
		seen[ti] = i
		live[i] = ti
	}
	for _, ti := range tc.pkIdx {
		i, ok := seen[ti]
		if !ok {
			return nil, nil, fmt.Errorf("%w: primary key column %s of %s is not in the image",
				ErrSchemaChanged, schema.QuoteIdent(t.Columns[ti].Name), t.QuotedName())
		}
		pk = append(pk, i)
	}
	return live, pk, nil
}

// add folds one record into the table's changes.
func (tc *tableChanges) add(rec *Record) error {
	var img *Image
	switch rec.Op {
	case OpInsert:
		img = &rec.After
		if len(rec.Before.Rows) > 0 {
			return fmt.Errorf("%w: insert record with a before image", ErrCorrupt)
		}
	case OpUpdate:
		img = &rec.After
		if len(rec.Before.Rows) != len(rec.After.Rows) {
			return fmt.Errorf("%w: update record with %d before and %d after rows", ErrCorrupt, len(rec.Before.Rows), len(rec.After.Rows))
		}
	case OpDelete:
		img = &rec.Before
		if len(rec.After.Rows) > 0 {
			return fmt.Errorf("%w: delete record with an after image", ErrCorrupt)
		}
	default:
		return fmt.Errorf("%w: op %d", ErrCorrupt, rec.Op)
	}
	live, pk, err := tc.columnsOf(img)
	if err != nil {
		return err
	}
	for _, row := range img.Rows {
		if len(row) != len(live) {
			return fmt.Errorf("%w: row of %d values for %d columns", ErrCorrupt, len(row), len(live))
		}
	}
	seen := make(map[string]bool, len(img.Rows))
	for _, row := range img.Rows {
		k := encodeKey(row, pk)
		if seen[k] {
			return fmt.Errorf("%w: primary key %s twice in an image", ErrCorrupt, keyOf(row, pk).format())
		}
		seen[k] = true
	}
	switch rec.Op {
	case OpInsert:
		for _, row := range img.Rows {
			if err := tc.fold(row, pk, live, nil, row); err != nil {
				return err
			}
		}
	case OpDelete:
		for _, row := range img.Rows {
			if err := tc.fold(row, pk, live, row, nil); err != nil {
				return err
			}
		}
	case OpUpdate:
		if !slices.EqualFunc(rec.Before.Columns, rec.After.Columns, func(a, b string) bool {
			return tc.t.ColumnIndex(a) == tc.t.ColumnIndex(b)
		}) {
			return fmt.Errorf("%w: update images have different columns", ErrCorrupt)
		}
		before := make(map[string]Row, len(rec.Before.Rows))
		for _, row := range rec.Before.Rows {
			if len(row) != len(live) {
				return fmt.Errorf("%w: row of %d values for %d columns", ErrCorrupt, len(row), len(live))
			}
			before[encodeKey(row, pk)] = row
		}
		for _, row := range img.Rows {
			b, ok := before[encodeKey(row, pk)]
			if !ok {
				return fmt.Errorf("%w: update images have different keys (%s)", ErrCorrupt, keyOf(row, pk).format())
			}
			if err := tc.fold(row, pk, live, b, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// fold applies one row's change (b: the row before the statement, a: after;
// nil for none) to the net change of its key.
func (tc *tableChanges) fold(row Row, pk, live []int, b, a Row) error {
	k := encodeKey(row, pk)
	rc := tc.byKey[k]
	if rc == nil {
		rc = &rowChange{pk: keyOf(row, pk), first: tc.state(b, live), last: tc.state(a, live)}
		tc.byKey[k] = rc
		tc.rows = append(tc.rows, rc)
		return nil
	}
	if rc.last.exists != (b != nil) {
		state := "absent"
		if rc.last.exists {
			state = "present"
		}
		return fmt.Errorf("%w: row %s is %s after one statement of the branch and not before the next",
			ErrCorrupt, rc.pk.format(), state)
	}
	if b != nil && rc.first.exists {
		// Columns no earlier image held were not changed by the branch
		// before this statement: their value here is the original one.
		for j, ti := range live {
			if !rc.first.has[ti] && !rc.last.has[ti] && !tc.t.Columns[ti].Generated {
				rc.first.vals[ti], rc.first.has[ti] = b[j], true
			}
		}
	}
	switch {
	case a == nil:
		rc.last = rowState{}
	case rc.last.exists:
		for j, ti := range live {
			if !tc.t.Columns[ti].Generated {
				rc.last.vals[ti], rc.last.has[ti] = a[j], true
			}
		}
	default:
		rc.last = tc.state(a, live)
	}
	return nil
}

func (tc *tableChanges) state(row Row, live []int) rowState {
	if row == nil {
		return rowState{}
	}
	n := len(tc.t.Columns)
	s := rowState{exists: true, vals: make(Row, n), has: make([]bool, n)}
	for j, ti := range live {
		if !tc.t.Columns[ti].Generated {
			s.vals[ti], s.has[ti] = row[j], true
		}
	}
	return s
}

func encodeKey(row Row, pk []int) string {
	var buf [64]byte
	b := buf[:0]
	for _, i := range pk {
		b = appendValue(b, row[i])
	}
	return string(b)
}

func keyOf(row Row, pk []int) Row {
	k := make(Row, len(pk))
	for j, i := range pk {
		k[j] = row[i]
	}
	return k
}

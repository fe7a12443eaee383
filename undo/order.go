package undo

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/atcc-go/atcc/internal/schema"
)

// Restoring a branch's rows runs in the rollback's local transaction, after
// every row has been locked and checked (check), as a sequence of waves:
//
//   - Each row to put back is an op. An op that writes a unique key value
//     (an update giving a row its old value back, an insert of a deleted
//     row) waits for the ops of the rows that hold that value now and give
//     it up (an update taking another value, a delete of a row the branch
//     inserted). A wave runs every op that waits for nothing: per table
//     (newest table first) the deletes, then the updates, then the inserts.
//   - Ops that wait for each other in a cycle (two rows that swapped their
//     unique values, longer rotations) are broken by moving one member out
//     of the way: its row is deleted and later inserted again whole (every
//     column: the live row with the image's values over it), which is exact.
//     The delete runs with foreign_key_checks off, so that it neither
//     cascades to nor is refused by rows referencing it; the insert runs with
//     checks on. Triggers see a DELETE and an INSERT for that row instead of
//     an UPDATE.
//   - The dependency graph compares values byte for byte, while the server
//     compares them by collation ('a' and 'A' collide under a _ci collation):
//     an op the server refuses with a duplicate key or a foreign key error
//     is postponed and tried again after other ops made progress (InnoDB
//     rolls back just the failed statement); when nothing moves any more, a
//     postponed update is moved out of the way like a cycle member.
//   - An op that still fails, or fails for another reason retrying cannot
//     change, ends the rollback with a *RestoreError naming the rows.

// op is one row to put back.
type op struct {
	tc     *tableChanges
	order  int // table order, newest table first
	rc     *rowChange
	kind   restoreKind
	moved  bool // deleted to break a cycle: to be inserted whole
	done   bool
	claims []string // unique key values it writes that another row may hold
	holds  []string // unique key values the row holds now and gives up
	indeg  int      // ops not done that hold a value it claims
	next   []*op    // ops waiting for this one
	prev   []*op    // ops this one waits for
	err    error    // why the server postponed it
}

// graph computes what each op claims and holds and links them.
func graph(ops []*op) {
	holder := make(map[string]*op)
	for _, o := range ops {
		o.keys()
		for _, h := range o.holds {
			holder[h] = o
		}
	}
	for _, o := range ops {
		for _, c := range o.claims {
			if h := holder[c]; h != nil && h != o {
				h.next = append(h.next, o)
				o.prev = append(o.prev, h)
				o.indeg++
			}
		}
	}
}

// keys fills o.claims and o.holds from the table's unique keys (the primary
// key needs none: no other row can hold a row's own key). A key with a NULL
// part collides with nothing.
func (o *op) keys() {
	t, rc := o.tc.t, o.rc
	now := rc.cur
	if now == nil && rc.last.exists {
		now = rc.last.vals
	}
	for k, key := range t.UniqueKeys {
		target, tok := o.keyValue(k, key, rc.first.vals, rc.first.has, o.kind == restoreUpdate || o.kind == restoreInsert)
		held, hok := o.keyValue(k, key, now, nil, o.kind == restoreUpdate || o.kind == restoreDelete)
		if tok && hok && target == held {
			continue // the op does not change this key
		}
		if o.kind == restoreUpdate && !o.known(key, rc.first.has) {
			continue // not in the image: the update does not write it
		}
		if tok {
			o.claims = append(o.claims, target)
		}
		if hok {
			o.holds = append(o.holds, held)
		}
	}
}

func (o *op) known(key schema.Key, has []bool) bool {
	for _, c := range key.Columns {
		if i := o.tc.t.ColumnIndex(c); i < 0 || !has[i] {
			return false
		}
	}
	return true
}

// keyValue encodes the values of key in row (has nil: all known); ok is
// false when want is false, a value is unknown or NULL.
func (o *op) keyValue(k int, key schema.Key, row Row, has []bool, want bool) (string, bool) {
	if !want || row == nil {
		return "", false
	}
	b := strconv.AppendInt(nil, int64(o.order), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, ':')
	for _, c := range key.Columns {
		i := o.tc.t.ColumnIndex(c)
		if i < 0 || has != nil && !has[i] || row[i].IsNull() {
			return "", false
		}
		b = appendValue(b, row[i])
	}
	return string(b), true
}

// run restores ops: waves of ops that wait for nothing, cycles broken by
// moving a member out of the way, server refusals postponed.
func (r *restorer) run(ctx context.Context, ops []*op) error {
	graph(ops)
	remaining := len(ops)
	var ready, stalled []*op
	for _, o := range ops {
		if o.indeg == 0 {
			ready = append(ready, o)
		}
	}
	for remaining > 0 {
		if len(ready) == 0 {
			x := moveCandidate(ops, stalled)
			if x == nil {
				return r.stuck(ctx, stalled)
			}
			if err := r.moveOut(ctx, x); err != nil {
				return err
			}
			x.moved = true
			for _, s := range x.next {
				if s.indeg--; s.indeg == 0 && !slices.Contains(stalled, s) {
					ready = append(ready, s)
				}
			}
			x.next = nil
			if x.indeg == 0 && !slices.Contains(stalled, x) && !slices.Contains(ready, x) {
				ready = append(ready, x)
			}
			ready = append(ready, stalled...)
			stalled = nil
			continue
		}
		done, deferred, err := r.wave(ctx, ready)
		if err != nil {
			return err
		}
		ready = nil
		for _, o := range done {
			o.done = true
			remaining--
			for _, s := range o.next {
				if s.indeg--; s.indeg == 0 {
					ready = append(ready, s)
				}
			}
		}
		if len(done) > 0 {
			ready = append(ready, deferred...)
			ready = append(ready, stalled...)
			stalled = nil
		} else {
			stalled = append(stalled, deferred...)
		}
	}
	return nil
}

// moveCandidate picks the op to move out of the way: a member of a cycle of
// waiting ops, else a postponed update; nil if there is none.
func moveCandidate(ops, stalled []*op) *op {
	movable := func(o *op) bool { return o.kind == restoreUpdate && !o.moved && !o.done && o.rc.cur != nil }
	for _, o := range ops {
		if o.done || o.indeg == 0 {
			continue
		}
		// Walk back through ops still waited for: a walk in a finite graph
		// where every op has a predecessor ends in a cycle.
		seen := make(map[*op]bool)
		for cur := o; cur != nil && !seen[cur]; {
			seen[cur] = true
			var p *op
			for _, q := range cur.prev {
				if !q.done && !q.moved {
					p = q
					break
				}
			}
			if p == nil {
				break
			}
			if seen[p] && movable(p) {
				return p
			}
			cur = p
		}
	}
	for _, o := range stalled {
		if movable(o) {
			return o
		}
	}
	return nil
}

// stuck reports the ops nothing can move any more.
func (r *restorer) stuck(ctx context.Context, stalled []*op) error {
	if len(stalled) == 0 {
		return fmt.Errorf("%w: rows wait for each other and none can be moved", ErrRestoreFailed)
	}
	o := stalled[0]
	var same []*op
	for _, s := range stalled {
		if s.tc == o.tc && s.kind == o.kind && s.moved == o.moved {
			same = append(same, s)
		}
	}
	return r.fail(ctx, same, o.err)
}

// stmtKind is the statement that puts o's row back.
func (o *op) stmtKind() restoreKind {
	if o.moved {
		return restoreInsert
	}
	return o.kind
}

// target is the whole row as it must be: the image's values over the live
// row (update, moved) or the image (insert).
func (o *op) target() Row {
	rc := o.rc
	row := slices.Clone(rc.cur)
	if row == nil {
		row = make(Row, len(rc.first.vals))
	}
	for i, h := range rc.first.has {
		if h {
			row[i] = rc.first.vals[i]
		}
	}
	return row
}

package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"

	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/undo"
)

// abortOn marks br failed when err means the server rolled the whole
// transaction back (a deadlock) or the connection is gone.
func (br *branch) abortOn(err error) {
	if endsTx(err) {
		br.fail(err)
	}
}

// bind appends to dst the args at indexes idx of all, numbered from 1.
func bind(dst, all []driver.NamedValue, idx []int) ([]driver.NamedValue, error) {
	for i, j := range idx {
		if j >= len(all) {
			return nil, fmt.Errorf("%w: placeholder %d", errArgCount, j+1)
		}
		dst = append(dst, driver.NamedValue{Ordinal: i + 1, Value: all[j].Value})
	}
	return dst, nil
}

// keysOf returns the primary key tuples of the rows of img as bind values.
func keysOf(img *undo.Image, pkIdx []int) [][]driver.Value {
	keys := make([][]driver.Value, len(img.Rows))
	for i, row := range img.Rows {
		k := make([]driver.Value, len(pkIdx))
		for j, x := range pkIdx {
			k[j] = row[x].Arg()
		}
		keys[i] = k
	}
	return keys
}

// dedupe drops repeated rows (by primary key) from img, as a join returns
// them.
func dedupe(img undo.Image, pkIdx []int) undo.Image {
	if len(img.Rows) < 2 {
		return img
	}
	seen := make(map[string]struct{}, len(img.Rows))
	rows := img.Rows[:0]
	for _, row := range img.Rows {
		k := rowKey(row, pkIdx)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		rows = append(rows, row)
	}
	img.Rows = rows
	return img
}

// imageByKeys reads the rows of t with primary keys keys (cols, nil for
// every column; one is the SQL for a single key, "" to build it), locking
// them, in chunks of at most schema.MaxKeysPerStatement keys.
func (e *executor) imageByKeys(ctx context.Context, t *schema.Table, cols []string, one string, keys [][]driver.Value) (undo.Image, error) {
	var img undo.Image
	for lo := 0; lo < len(keys); lo += schema.MaxKeysPerStatement {
		chunk := keys[lo:min(lo+schema.MaxKeysPerStatement, len(keys))]
		q := one
		if len(chunk) > 1 || q == "" {
			var err error
			if q, err = e.selectByKeys(t, cols, len(chunk)); err != nil {
				return undo.Image{}, err
			}
		}
		args := e.argsBuf(len(chunk) * len(t.PrimaryKey))
		for _, k := range chunk {
			for _, v := range k {
				args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
			}
		}
		part, err := e.q.image(ctx, q, args)
		if err != nil {
			return undo.Image{}, err
		}
		if img.Columns == nil {
			img = part // one chunk: no copy (1 allocation less per COMMIT read)
			continue
		}
		img.Rows = append(img.Rows, part.Rows...)
	}
	return img, nil
}

// beforeImages reads, locking them, the rows each target of an UPDATE or
// DELETE is about to change.
func (e *executor) beforeImages(ctx context.Context, sp *stmtPlan, all []driver.NamedValue) ([]undo.Image, int, error) {
	// the executor's storage, reused by the next statement: the images are
	// copied into records (1 allocation less per UPDATE)
	clear(e.imgBuf)
	if cap(e.imgBuf) < len(sp.targets) {
		e.imgBuf = make([]undo.Image, len(sp.targets))
	}
	e.imgBuf = e.imgBuf[:len(sp.targets)]
	imgs := e.imgBuf
	total := 0
	for i, tg := range sp.targets {
		args, err := bind(e.argsBuf(len(tg.args)), all, tg.args)
		if err != nil {
			return nil, 0, err
		}
		img, err := e.q.image(ctx, tg.before, args)
		if err != nil {
			return nil, 0, err
		}
		if !sameColumns(img.Columns, tg.cols) {
			return nil, 0, fmt.Errorf("%w: %s: image columns %v, metadata %v", errStaleSchema, tg.table.QuotedName(), img.Columns, tg.cols)
		}
		if tg.dedupe {
			img = dedupe(img, tg.pkIdx)
		}
		imgs[i] = img
		total += len(img.Rows)
	}
	if e.res.afterBeforeImage != nil {
		e.res.afterBeforeImage()
	}
	return imgs, total, nil
}

// maxWriteArgs bounds the placeholders of a multi-table statement run on
// its imaged keys, which cannot be split (a row joined to rows of two
// chunks would change twice): the server's limit for a prepared
// statement is 65,535.
const maxWriteArgs = 65535

// countResult is the result of a statement run in several chunks: rows
// affected summed, the last chunk's insert id.
type countResult struct{ id, n int64 }

func (r countResult) LastInsertId() (int64, error) { return r.id, nil }
func (r countResult) RowsAffected() (int64, error) { return r.n, nil }

// errPartialWrite: a statement run in chunks failed after some chunks
// changed rows, which no undo record covers: the local transaction cannot
// commit.
var errPartialWrite = errors.New("atcc/datasource: the statement failed after some of its chunks ran")

// partialWrite returns err of the chunk starting at key lo, marked
// errPartialWrite when chunks ran before it.
func partialWrite(lo int, err error) error {
	if lo == 0 {
		return err
	}
	return fmt.Errorf("%w: %w", errPartialWrite, err)
}

// failOn marks br failed when err, the error of a write, leaves the
// transaction with changes no undo record covers, or ended it.
func (br *branch) failOn(err error) {
	if errors.Is(err, errPartialWrite) {
		br.fail(err)
		return
	}
	br.abortOn(err)
}

// writeImaged runs the UPDATE or DELETE of sp on exactly the rows of its
// before images (see writePlan). A statement whose images are empty still
// runs (WHERE FALSE), so that the server reports what is wrong with it.
func (e *executor) writeImaged(ctx context.Context, sp *stmtPlan, befores []undo.Image, all []driver.NamedValue) (driver.Result, error) {
	w := sp.write
	add := func(args []driver.NamedValue, v driver.Value) []driver.NamedValue {
		return append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
	}
	addIdx := func(args []driver.NamedValue, idx []int) ([]driver.NamedValue, error) {
		for _, j := range idx {
			if j >= len(all) {
				return nil, fmt.Errorf("%w: placeholder %d", errArgCount, j+1)
			}
			args = add(args, all[j].Value)
		}
		return args, nil
	}
	if !w.multi {
		tg := sp.targets[0]
		keys := befores[0].Rows // bound from the rows: no key tuples (2 allocations less per UPDATE)
		order := w.order
		if w.byScan && len(keys) > 1 {
			var err error
			if order, err = e.scanOrder(ctx, sp, all); err != nil {
				return nil, err
			}
		}
		var res driver.Result
		var total int64
		var returned *returnedRows
		for lo := 0; lo == 0 || lo < len(keys); lo += schema.MaxKeysPerStatement {
			chunk := keys[lo:min(lo+schema.MaxKeysPerStatement, len(keys))]
			q := w.one
			if len(chunk) != 1 {
				q = w.single(tg.table.PrimaryKey, len(chunk), order)
			}
			args, err := addIdx(e.argsBuf(len(w.headArgs)+len(chunk)*len(tg.table.PrimaryKey)+len(w.orderArgs)), w.headArgs)
			if err != nil {
				return nil, err
			}
			for _, row := range chunk {
				for _, x := range tg.pkIdx {
					args = add(args, e.arg(&row[x], true, all))
				}
			}
			if args, err = addIdx(args, w.orderArgs); err != nil {
				return nil, err
			}
			if w.returning != "" {
				// DELETE ... RETURNING: the rows of every chunk, in order.
				rows, err := e.q.query(ctx, statement{text: q, args: args})
				if err != nil {
					return nil, partialWrite(lo, err)
				}
				rr, err := readRows(rows)
				if err != nil {
					return nil, partialWrite(lo, err)
				}
				if returned == nil {
					returned = rr
				} else {
					returned.data = append(returned.data, rr.data...)
				}
				continue
			}
			if res, err = e.q.exec(ctx, statement{text: q, args: args}); err != nil {
				return nil, partialWrite(lo, err)
			}
			if len(keys) <= schema.MaxKeysPerStatement {
				return res, nil
			}
			n, err := res.RowsAffected()
			if err != nil {
				return nil, err
			}
			total += n
		}
		if returned != nil {
			return returned, nil
		}
		id, _ := res.LastInsertId()
		return countResult{id: id, n: total}, nil
	}
	// One statement: the statement's WHERE and, for each target, "its row
	// is NULL (the outer side of a join) or one of the imaged".
	q := append(make([]byte, 0, 256), w.head...)
	q = append(q, " WHERE "...)
	if w.where != "" {
		q = append(q, '(')
		q = append(q, w.where...)
		q = append(q, ") AND "...)
	}
	args, err := addIdx(nil, w.headArgs)
	if err != nil {
		return nil, err
	}
	if args, err = addIdx(args, w.whereArgs); err != nil {
		return nil, err
	}
	for i, tg := range sp.targets {
		if i > 0 {
			q = append(q, " AND "...)
		}
		keys := keysOf(&befores[i], tg.pkIdx)
		if len(args)+len(keys)*len(tg.table.PrimaryKey) > maxWriteArgs {
			return nil, unsupported(sp.stmt.Text(), fmt.Sprintf("a multi-table statement over more than %d key values", maxWriteArgs), nil)
		}
		q = append(q, '(')
		q = append(q, w.quals[i]...)
		q = append(q, '.')
		q = append(q, schema.QuoteIdent(tg.table.PrimaryKey[0])...)
		q = append(q, " IS NULL"...)
		if len(keys) > 0 {
			q = append(q, " OR "...)
			q = appendKeyCondition(q, w.quals[i], tg.table.PrimaryKey, len(keys))
			for _, k := range keys {
				for _, v := range k {
					args = add(args, v)
				}
			}
		}
		q = append(q, ')')
	}
	return e.q.exec(ctx, statement{text: string(q), args: args})
}

// execUpdate runs an UPDATE: before images by the statement's own predicate
// (locking the rows), then the statement on exactly the imaged rows. Its
// after images are completed at COMMIT.
//
// There is no check that the statement changed no more rows than imaged:
// it names the imaged primary keys, so it cannot (a row a trigger changes
// is not counted in its affected rows either).
func (e *executor) execUpdate(ctx context.Context, br *branch, sp *stmtPlan, all []driver.NamedValue) (driver.Result, error) {
	befores, _, err := e.beforeImages(ctx, sp, all)
	if err != nil {
		return nil, err
	}
	res, err := e.writeImaged(ctx, sp, befores, all)
	if err != nil {
		br.failOn(err)
		return nil, err
	}
	for i, tg := range sp.targets {
		before := &befores[i]
		if len(before.Rows) == 0 {
			continue
		}
		// The after image is read at COMMIT, with those of the other
		// statements (see completeAfterImages).
		if br.xid != "" {
			br.pending = append(br.pending, pendingAfter{rec: len(br.records), table: tg.table, pkIdx: tg.pkIdx})
		}
		br.add(undo.Record{Op: undo.OpUpdate, Schema: tg.table.Schema, Table: tg.table.Name, Before: *before},
			tg.lockName, before, tg.pkIdx)
	}
	return res, nil
}

// execDelete runs a DELETE: before images of whole rows by the statement's
// own predicate (locking them), then the statement on exactly the imaged
// rows. It can remove fewer (a row of the image that a foreign key's ON
// DELETE CASCADE removed first): the branch then fails with
// ErrRowsMismatch, as its undo would not be exact.
func (e *executor) execDelete(ctx context.Context, br *branch, sp *stmtPlan, all []driver.NamedValue) (driver.Result, error) {
	befores, total, err := e.beforeImages(ctx, sp, all)
	if err != nil {
		return nil, err
	}
	res, err := e.writeImaged(ctx, sp, befores, all)
	if err != nil {
		br.failOn(err)
		return nil, err
	}
	if len(sp.targets) > 1 {
		total = dropRepeatedRows(sp.targets, befores)
	}
	if n, err := res.RowsAffected(); err == nil && n != int64(total) {
		err := fmt.Errorf("%w: DELETE removed %d rows, its before image holds %d", ErrRowsMismatch, n, total)
		br.fail(err)
		return nil, err
	}
	for i, tg := range sp.targets {
		before := &befores[i]
		br.add(undo.Record{Op: undo.OpDelete, Schema: tg.table.Schema, Table: tg.table.Name, Before: *before},
			tg.lockName, before, tg.pkIdx)
	}
	return res, nil
}

// dropRepeatedRows removes from the image of each target the rows of an
// earlier target's image of the same table, and returns the rows left.
// A table a DELETE names twice (a self-join, or the same table with and
// without its database) has its rows in both images; the statement
// deletes each once, and its undo must insert each once. The statement
// itself runs with the whole images: its join pairs a row of one name
// with rows of the other.
func dropRepeatedRows(targets []*target, imgs []undo.Image) int {
	total := 0
	for i, tg := range targets {
		var seen map[string]struct{}
		for j := range i {
			if targets[j].table.QuotedName() != tg.table.QuotedName() {
				continue
			}
			if seen == nil {
				seen = make(map[string]struct{})
			}
			for _, row := range imgs[j].Rows {
				seen[rowKey(row, targets[j].pkIdx)] = struct{}{}
			}
		}
		if seen != nil {
			rows := make([]undo.Row, 0, len(imgs[i].Rows))
			for _, row := range imgs[i].Rows {
				if _, dup := seen[rowKey(row, tg.pkIdx)]; !dup {
					rows = append(rows, row)
				}
			}
			imgs[i].Rows = rows
		}
		total += len(imgs[i].Rows)
	}
	return total
}

// lockReads checks the global locks of every locking read of p.
func (e *executor) lockReads(ctx context.Context, xid string, p *plan, args []driver.NamedValue) error {
	if !p.locks {
		return nil
	}
	for i := range p.stmts {
		if sp := &p.stmts[i]; sp.kind == kindLockRead {
			if err := e.lockRead(ctx, xid, sp.lockRead, args); err != nil {
				return err
			}
		}
	}
	return nil
}

// lockRead locks the rows a SELECT ... FOR UPDATE reads (reading their
// primary keys with the statement's own clauses) and waits until no other
// global transaction holds them.
func (e *executor) lockRead(ctx context.Context, xid string, lr *lockReadPlan, all []driver.NamedValue) error {
	if lr.sql == "" {
		return nil
	}
	args, err := bind(e.argsBuf(len(lr.args)), all, lr.args)
	if err != nil {
		return err
	}
	img, err := e.q.image(ctx, lr.sql, args)
	if err != nil {
		return err
	}
	var l lockSet
	for _, row := range img.Rows {
	tables:
		for _, lt := range lr.tables {
			for _, j := range lt.pkIdx {
				if row[j].IsNull() { // the outer side of a join found no row
					continue tables
				}
			}
			l.addRow(lt.lockName, row, lt.pkIdx)
		}
	}
	if l.empty() {
		return nil
	}
	return e.res.awaitLocks(ctx, xid, l.String())
}

// autoIncrementStep returns the session's auto_increment_increment, read
// once per connection.
func (e *executor) autoIncrementStep(ctx context.Context) (int64, error) {
	if e.autoIncStep > 0 {
		return e.autoIncStep, nil
	}
	img, err := e.q.image(ctx, "SELECT @@SESSION.auto_increment_increment", nil)
	if err != nil {
		return 0, err
	}
	if len(img.Rows) != 1 || len(img.Rows[0]) != 1 {
		return 0, errors.New("atcc/datasource: reading auto_increment_increment returned no value")
	}
	n, err := strconv.ParseInt(img.Rows[0][0].String(), 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("atcc/datasource: auto_increment_increment %q", img.Rows[0][0].String())
	}
	e.autoIncStep = n
	return n, nil
}

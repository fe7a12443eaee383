package datasource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/atcc-go/atcc/datasource/internal/sqlparse"
	"github.com/atcc-go/atcc/internal/schema"
	"github.com/atcc-go/atcc/undo"
)

// insertRun is an INSERT's rows resolved against its arguments: which
// primary keys are known, which the server generates, and, for inserts
// that may meet existing rows, the unique key tuples to look for. Key
// values are as the server stores them (see storedKey), so that a lookup by
// them finds the rows they were stored in and no other.
type insertRun struct {
	rows      int
	pks       [][]driver.Value   // per row; the auto-increment value is filled after the insert
	generated []int              // rows whose auto-increment key the server generates
	loose     []int              // of generated, in order: rows found by LAST_INSERT_ID, not by a unique key
	explicit  []explicitAuto     // rows giving the auto-increment key column a value
	tuples    [][][]driver.Value // per key of insertPlan.keys, per row; nil: cannot collide
}

// explicitAuto is a value a row gives the auto-increment key column.
type explicitAuto struct {
	row int
	v   driver.Value
}

// cell is what a row gives for the column at position p.
type cellState uint8

const (
	cellKnown   cellState = iota + 1 // a value known before the insert
	cellDefault                      // not given or DEFAULT
	cellServer                       // an expression only the server evaluates
)

func cell(row []sqlparse.Value, p int, all []driver.NamedValue, col *schema.Column) (driver.Value, cellState, error) {
	if p < 0 || len(row) == 0 {
		return nil, cellDefault, nil
	}
	v := row[p]
	switch v.Kind {
	case sqlparse.ValueArg:
		if v.Arg >= len(all) {
			return nil, 0, fmt.Errorf("%w: placeholder %d", errArgCount, v.Arg+1)
		}
		return all[v.Arg].Value, cellKnown, nil
	case sqlparse.ValueLiteral:
		switch x := v.Literal.(type) {
		case sqlparse.Decimal:
			return string(x), cellKnown, nil
		case sqlparse.BitLiteral:
			if characterColumn(col) && !ascii(x) {
				return nil, cellServer, nil
			}
			return bitLiteral(col, x)
		case []byte:
			if characterColumn(col) && !ascii(x) {
				// The server stores the bytes of a binary string as text
				// of the column's character set (X'C3A9' is 'Ã©' in latin1),
				// which a lookup by a bound value, text of the connection's
				// character set, does not find.
				return nil, cellServer, nil
			}
		}
		return v.Literal, cellKnown, nil
	case sqlparse.ValueDefault:
		return nil, cellDefault, nil
	default:
		return nil, cellServer, nil
	}
}

// bitLiteral is the value a hex or bit literal gives col: for a numeric
// column the unsigned integer its bytes spell (0x13 stores 19, which the
// bytes, bound as a string, would not find again), else the bytes.
func bitLiteral(col *schema.Column, b sqlparse.BitLiteral) (driver.Value, cellState, error) {
	switch col.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float", "double", "real":
	default:
		return []byte(b), cellKnown, nil
	}
	if len(b) > 8 {
		return nil, cellServer, nil // beyond BIGINT UNSIGNED: the server's conversion
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n, cellKnown, nil
}

func characterColumn(col *schema.Column) bool {
	switch col.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return true
	}
	return false
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// autoKey reads v, given for the auto-increment column col: the server
// generates the key when the value it stores is NULL or zero (a value
// stored as 0 is given only under NO_AUTO_VALUE_ON_ZERO, zeroKey), so every
// spelling of zero (0.0, '0', '-0', b'0') generates one; otherwise key is
// the value as stored (see storedKey), or an error when that is the
// server's conversion.
func autoKey(col *schema.Column, v driver.Value, zeroKey bool, text string) (generated bool, key driver.Value, err error) {
	if v == nil {
		return true, nil, nil
	}
	if key, err = storedKey(col, v, false, text); err != nil { // an integer column: no CHAR padding
		return false, nil, err
	}
	switch k := key.(type) {
	case int64:
		return k == 0 && !zeroKey, key, nil
	case uint64:
		return k == 0 && !zeroKey, key, nil
	}
	// not an integer column (the server refuses AUTO_INCREMENT on other
	// types), or one storedKey leaves as given: refuse rather than guess
	return false, nil, unsupported(text, fmt.Sprintf("a %T value for auto-increment column %s", v, col.Name), nil)
}

// integerRange gives the values an integer column holds; ok is false for
// other columns.
func integerRange(col *schema.Column) (lo int64, hi uint64, ok bool) {
	bits := map[string]uint{"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}[col.DataType]
	switch {
	case bits == 0:
		return 0, 0, false
	case col.Unsigned:
		return 0, math.MaxUint64 >> (64 - bits), true
	default:
		return -1 << (bits - 1), 1<<(bits-1) - 1, true
	}
}

// integerKey returns v, given for the integer column col, as the int64 (or,
// above it, uint64) the server stores. A value the server would round
// ('0.4', 2.5), clip to the column's range, or convert with a warning
// ('1e2', ' 7', '7x') is refused: a lookup by the value given would not
// find the row it was stored in.
func integerKey(col *schema.Column, v driver.Value, text string) (driver.Value, error) {
	lo, hi, _ := integerRange(col)
	bad := func() (driver.Value, error) {
		return nil, unsupported(text, fmt.Sprintf("key column %s gets %v, which the server converts to its %s type",
			col.Name, v, col.ColumnType), nil)
	}
	var neg bool
	var mag uint64
	switch x := v.(type) {
	case int64:
		neg, mag = x < 0, uint64(x)
		if neg {
			mag = -mag
		}
	case uint64:
		mag = x
	case bool:
		if x {
			mag = 1
		}
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.Abs(x) >= 1<<63 {
			return bad()
		}
		neg, mag = x < 0, uint64(math.Abs(x))
	case string, []byte:
		var digits string
		if s, ok := x.(string); ok {
			digits = s
		} else {
			digits = string(x.([]byte))
		}
		if digits != "" && (digits[0] == '-' || digits[0] == '+') {
			neg, digits = digits[0] == '-', digits[1:]
		}
		if i := strings.IndexByte(digits, '.'); i >= 0 {
			if strings.Trim(digits[i+1:], "0") != "" {
				return bad()
			}
			digits = digits[:i]
		}
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return bad()
		}
		var err error
		if mag, err = strconv.ParseUint(digits, 10, 64); err != nil {
			return bad()
		}
	default:
		return bad()
	}
	if mag == 0 {
		return int64(0), nil
	}
	if neg {
		if mag > uint64(-lo) || (lo == 0) {
			return bad()
		}
		return -int64(mag-1) - 1, nil
	}
	if mag > hi {
		return bad()
	}
	if mag > math.MaxInt64 {
		return mag, nil
	}
	return int64(mag), nil
}

// storedKey returns v, a key value an INSERT gives column col, as the
// server stores it, so that "col = ?" with it finds the row it was stored
// in and only that row. A number given for a character column is stored
// as its decimal text, and compared as a number it would also match '01'
// or ' 1'; a value for a BINARY(n) column is stored padded with zero bytes
// to n bytes, and unpadded it matches nothing. A value longer than a
// CHAR(n), VARCHAR(n), BINARY(n) or VARBINARY(n) column holds is stored cut
// to n characters or bytes when sql_mode is not strict (with it the insert
// fails). A CHAR column stores a value without its trailing spaces, which a
// NO PAD collation compares (seed 6182: ' A ' stored as ' A' and looked up
// as given, by ON DUPLICATE KEY UPDATE, was in no image, and stayed after
// the rollback); under PAD_CHAR_TO_FULL_LENGTH (padChar) it is read and
// compared padded with spaces to the column's length. Other values compare
// as they are stored (a number for an ENUM or SET column is its index, as
// in the insert). A floating-point number for a character or binary key
// column is refused: its stored text is the server's rendering.
func storedKey(col *schema.Column, v driver.Value, padChar bool, text string) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	if _, _, ok := integerRange(col); ok {
		return integerKey(col, v, text)
	}
	char, binary := false, false
	switch col.DataType {
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		char = true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		binary = true
	default:
		return v, nil
	}
	var b []byte
	switch x := v.(type) {
	case int64:
		b = strconv.AppendInt(nil, x, 10)
	case uint64:
		b = strconv.AppendUint(nil, x, 10)
	case bool:
		b = []byte{'0'}
		if x {
			b[0] = '1'
		}
	case float64, float32:
		return nil, unsupported(text, "a floating-point value for key column "+col.Name, nil)
	case string:
		if !binary {
			return charKey(col, x, padChar), nil
		}
		b = []byte(x)
	case []byte:
		if !binary {
			if k := charKey(col, string(x), padChar); len(k) != len(x) {
				return []byte(k), nil
			}
			return x, nil
		}
		b = x
	default:
		return v, nil
	}
	if char {
		return charKey(col, string(b), padChar), nil
	}
	if n := declaredLength(col.ColumnType); n >= 0 && len(b) > n && (col.DataType == "binary" || col.DataType == "varbinary") {
		b = b[:n]
	}
	if col.DataType == "binary" {
		var n int
		if _, err := fmt.Sscanf(strings.ToLower(col.ColumnType), "binary(%d)", &n); err == nil && len(b) < n {
			padded := make([]byte, n)
			copy(padded, b)
			b = padded
		}
	}
	return b, nil
}

// resolve checks an INSERT's rows against all, the query's args, before it
// runs: every primary key must be known or generated by auto-increment, and
// an insert that may meet existing rows must give every unique key it can
// collide on. Rows with generated keys are found again after the insert by
// a unique key they give, or, when no unique key can meet anything for
// them (so that they are always inserted), by LAST_INSERT_ID and their
// order in the statement; a statement needing both is refused.
func (ip *insertPlan) resolve(s *sqlparse.Insert, all []driver.NamedValue) (*insertRun, error) {
	t := ip.table
	text := s.Text()
	run := &insertRun{rows: len(s.Rows), pks: make([][]driver.Value, len(s.Rows))}
	for i, row := range s.Rows {
		if len(row) != 0 && len(row) != ip.width {
			return nil, fmt.Errorf("atcc/datasource: INSERT row %d has %d values for %d columns", i+1, len(row), ip.width)
		}
		pk := make([]driver.Value, len(ip.pkPos))
		for k, p := range ip.pkPos {
			v, st, err := cell(row, p, all, &t.Columns[ip.pkIdx[k]])
			if err != nil {
				return nil, err
			}
			if k == ip.autoPK && st == cellDefault {
				run.generated = append(run.generated, i)
				continue
			}
			if k == ip.autoPK && st == cellKnown {
				gen, key, err := autoKey(&t.Columns[ip.pkIdx[k]], v, ip.zeroKey, text)
				if err != nil {
					return nil, err
				}
				if gen {
					run.generated = append(run.generated, i)
					continue
				}
				pk[k] = key
				run.explicit = append(run.explicit, explicitAuto{row: i, v: key})
				continue
			}
			if st != cellKnown {
				return nil, unsupported(text, "primary key column "+t.PrimaryKey[k]+" gets a value only the server knows", nil)
			}
			if v == nil {
				return nil, unsupported(text, "primary key column "+t.PrimaryKey[k]+" gets NULL", nil)
			}
			if pk[k], err = storedKey(&t.Columns[ip.pkIdx[k]], v, ip.padChar, text); err != nil {
				return nil, err
			}
		}
		run.pks[i] = pk
	}
	if !ip.conflict {
		run.loose = run.generated
		return run, nil
	}
	gen := make(map[int]bool, len(run.generated))
	for _, i := range run.generated {
		gen[i] = true
	}
	run.tuples = make([][][]driver.Value, len(ip.keys))
	found := make([]bool, run.rows) // the row can be found again by a unique key
	for k, kp := range ip.keys {
		run.tuples[k] = make([][]driver.Value, run.rows)
	rows:
		for i, row := range s.Rows {
			if k == 0 && gen[i] {
				continue // a generated key is new: it meets nothing
			}
			tuple := make([]driver.Value, len(kp.pos))
			for j, p := range kp.pos {
				v, st, err := cell(row, p, all, &t.Columns[kp.col[j]])
				if err != nil {
					return nil, err
				}
				switch {
				case st == cellKnown && v == nil, st == cellDefault && kp.nullDefault[j]:
					continue rows // NULL never collides
				case kp.auto[j] && st == cellDefault:
					continue rows
				case kp.auto[j] && st == cellKnown:
					gen, key, err := autoKey(&t.Columns[kp.col[j]], v, ip.zeroKey, text)
					if err != nil {
						return nil, err
					}
					if gen {
						continue rows
					}
					tuple[j] = key
					continue
				case st != cellKnown:
					return nil, unsupported(text, "unique key column "+kp.names[j]+" gets a value only the server knows", nil)
				}
				if tuple[j], err = storedKey(&t.Columns[kp.col[j]], v, ip.padChar, text); err != nil {
					return nil, err
				}
			}
			run.tuples[k][i] = tuple
			found[i] = true
		}
	}
	for _, i := range run.generated {
		if !found[i] {
			run.loose = append(run.loose, i)
		}
	}
	if ip.odkuUnique != "" && run.rows > 1 && len(run.loose) < len(run.generated) {
		// A row with a generated key, found again by a unique key value,
		// may be met by a later row of the statement, whose update then
		// changes that value: no lookup would find the row.
		return nil, unsupported(text, "rows with generated keys found by a unique key, in a statement of several rows whose "+
			"ON DUPLICATE KEY UPDATE assigns unique key column "+ip.odkuUnique, nil)
	}
	if len(run.loose) > 0 && len(run.loose) < len(run.generated) {
		return nil, unsupported(text, "rows with generated keys of which some may meet existing rows by a unique key "+
			"and some give no unique key value: the keys generated for the latter are not known exactly", nil)
	}
	return run, nil
}

// generatedKeys fills the keys of the loose rows of run: consecutive from
// first (LAST_INSERT_ID: the first key the statement generated), in steps
// of auto_increment_increment, in statement order. MySQL and MariaDB
// document this for statements whose row count is known in advance
// (INSERT and REPLACE ... VALUES) in every innodb_autoinc_lock_mode, and
// for "mixed-mode" ones (some rows give the key, or ON DUPLICATE KEY
// UPDATE) in modes 0 and 1 (execInsert refuses those in mode 2). A key
// given explicitly after the first generated one and not below it may move
// the counter between generated rows; that fails the statement rather than
// guess.
func (e *executor) generatedKeys(ctx context.Context, ip *insertPlan, run *insertRun, first int64, text string) error {
	if len(run.loose) == 0 {
		return nil
	}
	// LAST_INSERT_ID is a BIGINT UNSIGNED, which the driver reports as
	// its int64 bits: above 2^63-1 (a BIGINT UNSIGNED key) it is negative.
	unsigned := ip.table.Columns[ip.pkIdx[ip.autoPK]].Unsigned
	ufirst := uint64(first)
	if first == 0 || (first < 0 && !unsigned) {
		return fmt.Errorf("atcc/datasource: %s generated keys but the server reports LAST_INSERT_ID %d", clipSQL(text), first)
	}
	step, err := e.autoIncrementStep(ctx)
	if err != nil {
		return err
	}
	firstRow, lastRow := run.loose[0], run.loose[len(run.loose)-1]
	for _, e := range run.explicit {
		if e.row < firstRow || e.row > lastRow {
			continue
		}
		given := fmt.Sprint(e.v)
		if b, ok := e.v.([]byte); ok {
			given = string(b)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(given), 10, 64)
		below := err == nil && (n < first || (unsigned && first < 0 && n >= 0))
		if !below {
			return fmt.Errorf("atcc/datasource: %s: key %v given in row %d, among generated keys from %d, may have moved "+
				"the auto-increment counter: the generated keys are not known exactly", clipSQL(text), e.v, e.row+1, ufirst)
		}
	}
	for n, i := range run.loose {
		k := ufirst + uint64(n)*uint64(step)
		if k > math.MaxInt64 {
			run.pks[i][ip.autoPK] = k
		} else {
			run.pks[i][ip.autoPK] = int64(k)
		}
	}
	return nil
}

// autoIncLockMode returns @@innodb_autoinc_lock_mode, read once per
// connection (it is a read-only server variable).
func (e *executor) autoIncLockMode(ctx context.Context) (int, error) {
	if e.autoIncMode > 0 {
		return int(e.autoIncMode - 1), nil
	}
	img, err := e.q.image(ctx, "SELECT @@GLOBAL.innodb_autoinc_lock_mode", nil)
	if err != nil {
		return 0, err
	}
	if len(img.Rows) != 1 || len(img.Rows[0]) != 1 {
		return 0, errors.New("atcc/datasource: reading innodb_autoinc_lock_mode returned no value")
	}
	n, err := strconv.Atoi(img.Rows[0][0].String())
	if err != nil || n < 0 || n > 2 {
		return 0, fmt.Errorf("atcc/datasource: innodb_autoinc_lock_mode %q", img.Rows[0][0].String())
	}
	e.autoIncMode = int8(n + 1)
	return n, nil
}

// execInsert runs INSERT or REPLACE. A plain INSERT is imaged after it runs,
// by the keys it was given or generated. One that may meet existing rows
// (IGNORE, REPLACE, ON DUPLICATE KEY UPDATE) first locks and reads the rows
// its keys collide with, then reads them, the rows it inserted with
// generated keys, and the rows it met again: rows gone were replaced, rows
// changed were updated, new rows inserted.
func (e *executor) execInsert(ctx context.Context, br *branch, ip *insertPlan, run *insertRun, s statement) (driver.Result, error) {
	text := s.text
	if len(run.loose) > 1 && (ip.odku || len(run.explicit) > 0) {
		mode, err := e.autoIncLockMode(ctx)
		if err != nil {
			return nil, err
		}
		if mode == 2 {
			return nil, unsupported(text, "several generated keys in a mixed-mode insert (some rows give the key, or ON DUPLICATE "+
				"KEY UPDATE) under innodb_autoinc_lock_mode 2, where the keys a statement generates need not be consecutive", nil)
		}
	}
	var before undo.Image
	var metBefore []bool
	if ip.conflict {
		if err := e.keysAsStored(ctx, ip, run, text); err != nil {
			return nil, err
		}
		var err error
		if before, err = e.collisions(ctx, ip, run); err != nil {
			return nil, err
		}
		if ip.odkuUnique != "" && run.rows == 1 && len(before.Rows) > 0 {
			// a row met by a unique key value its update then changes
			// finds nothing after: see keysFound
			if metBefore, err = e.keysFound(ctx, ip, run); err != nil {
				return nil, err
			}
		}
	}
	w, err := e.write(ctx, s, ip.returning)
	if err != nil {
		br.abortOn(err)
		return nil, err
	}
	if err := e.imageInsert(ctx, br, ip, run, text, &w, before, metBefore); err != nil {
		br.fail(err)
		return nil, err
	}
	return w.result(), nil
}

// imageInsert records what an insert that ran did. metBefore, when not
// nil, tells which rows found a row by their key values before it ran.
func (e *executor) imageInsert(ctx context.Context, br *branch, ip *insertPlan, run *insertRun, text string, w *written, before undo.Image, metBefore []bool) error {
	if len(run.loose) > 0 {
		first, err := w.lastInsertID(ctx, e.q)
		if err != nil {
			return err
		}
		if err := e.generatedKeys(ctx, ip, run, first, text); err != nil {
			return err
		}
	}
	if !ip.conflict {
		if w.rows != nil && len(w.rows.data) != run.rows {
			return fmt.Errorf("atcc/datasource: INSERT of %d rows into %s returned %d", run.rows, ip.table.QuotedName(), len(w.rows.data))
		}
		return e.recordInserted(ctx, br, ip, run)
	}
	after, err := e.collisions(ctx, ip, run)
	if err != nil {
		return err
	}
	var found []bool
	if !ip.ignore && (run.rows == 1 || !ip.replace && ip.odkuUnique == "") {
		if found, err = e.keysFound(ctx, ip, run); err != nil {
			return err
		}
	}
	for i, ok := range found {
		if !ok && (metBefore == nil || !metBefore[i]) {
			return fmt.Errorf("atcc/datasource: %s: the key values of row %d find no row after it ran: the server stored "+
				"them otherwise (a DECIMAL rounded to its scale, a fraction of a second cut, SET members ordered, a FLOAT "+
				"approximated), so the rows it wrote or met are not known exactly", clipSQL(text), i+1)
		}
	}
	if len(before.Rows) > 0 {
		again, err := e.imageByKeys(ctx, ip.table, nil, ip.after1, keysOf(&before, ip.pkIdx))
		if err != nil {
			return err
		}
		after.Rows = append(after.Rows, again.Rows...)
	}
	if len(run.loose) > 0 {
		keys := make([][]driver.Value, len(run.loose))
		for n, i := range run.loose {
			keys[n] = run.pks[i]
		}
		gen, err := e.imageByKeys(ctx, ip.table, nil, ip.after1, keys)
		if err != nil {
			return err
		}
		old := make(map[string]bool, len(before.Rows))
		for _, row := range before.Rows {
			old[rowKey(row, ip.pkIdx)] = true
		}
		n := 0
		for _, row := range gen.Rows {
			if !old[rowKey(row, ip.pkIdx)] {
				n++
			}
		}
		if n != len(run.loose) {
			return fmt.Errorf("atcc/datasource: %s: %d rows with generated keys from %d expected, %d new rows found",
				clipSQL(text), len(run.loose), run.pks[run.loose[0]][ip.autoPK], n)
		}
		after.Rows = append(after.Rows, gen.Rows...)
	}
	after = dedupe(after, ip.pkIdx)
	if ip.ignore && !ip.odku {
		// INSERT IGNORE inserts a row or skips it (a duplicate, a foreign
		// key it breaks) and changes no row that was there: the rows it
		// inserted must be the new rows found (see keysFound).
		n, err := w.result().RowsAffected()
		if err != nil {
			return err
		}
		old := make(map[string]bool, len(before.Rows))
		for _, row := range before.Rows {
			old[rowKey(row, ip.pkIdx)] = true
		}
		added := 0
		for _, row := range after.Rows {
			if !old[rowKey(row, ip.pkIdx)] {
				added++
			}
		}
		if int64(added) != n {
			return fmt.Errorf("atcc/datasource: %s: %d rows inserted, %d new rows found by their key values: the server "+
				"stored some as other values than given, so the rows it wrote are not known exactly", clipSQL(text), n, added)
		}
	}
	e.recordChanges(br, ip, before, after)
	return nil
}

// recordInserted images the rows a plain INSERT added, by the keys they
// were given (as stored) or generated. A lookup finds at least every row
// inserted; finding exactly as many rows proves it found no other.
func (e *executor) recordInserted(ctx context.Context, br *branch, ip *insertPlan, run *insertRun) error {
	after, err := e.imageByKeys(ctx, ip.table, nil, ip.after1, run.pks)
	if err != nil {
		return err
	}
	if len(after.Rows) != run.rows {
		return fmt.Errorf("atcc/datasource: INSERT of %d rows into %s: %d found by primary key", run.rows, ip.table.QuotedName(), len(after.Rows))
	}
	br.add(undo.Record{Op: undo.OpInsert, Schema: ip.table.Schema, Table: ip.table.Name, After: after}, ip.lockName, &after, ip.pkIdx)
	return nil
}

// clipSQL cuts a statement for an error message.
func clipSQL(s string) string {
	if u := unsupported(s, "", nil); u.SQL != s {
		return strconv.Quote(u.SQL)
	}
	return strconv.Quote(s)
}

// recordChanges records what an insert that may meet existing rows did,
// comparing whole rows before and after by primary key. Records are added
// deletes first, inserts last, so that the rollback (newest first) removes
// new rows before it puts replaced ones back.
func (e *executor) recordChanges(br *branch, ip *insertPlan, before, after undo.Image) {
	t := ip.table
	afterBy := make(map[string]undo.Row, len(after.Rows))
	for _, row := range after.Rows {
		afterBy[rowKey(row, ip.pkIdx)] = row
	}
	beforeBy := make(map[string]bool, len(before.Rows))
	gone := undo.Image{Columns: before.Columns}
	oldRows := undo.Image{Columns: before.Columns}
	newRows := undo.Image{Columns: before.Columns}
	for _, row := range before.Rows {
		k := rowKey(row, ip.pkIdx)
		beforeBy[k] = true
		switch a, ok := afterBy[k]; {
		case !ok:
			gone.Rows = append(gone.Rows, row)
		case !row.Equal(a):
			oldRows.Rows = append(oldRows.Rows, row)
			newRows.Rows = append(newRows.Rows, a)
		}
	}
	added := undo.Image{Columns: after.Columns}
	for _, row := range after.Rows {
		if !beforeBy[rowKey(row, ip.pkIdx)] {
			added.Rows = append(added.Rows, row)
		}
	}
	br.add(undo.Record{Op: undo.OpDelete, Schema: t.Schema, Table: t.Name, Before: gone}, ip.lockName, &gone, ip.pkIdx)
	br.add(undo.Record{Op: undo.OpUpdate, Schema: t.Schema, Table: t.Name, Before: oldRows, After: newRows}, ip.lockName, &oldRows, ip.pkIdx)
	br.add(undo.Record{Op: undo.OpInsert, Schema: t.Schema, Table: t.Name, After: added}, ip.lockName, &added, ip.pkIdx)
}

// collisions reads, locking them, the whole rows that hold any primary or
// unique key value of the insert's rows.
func (e *executor) collisions(ctx context.Context, ip *insertPlan, run *insertRun) (undo.Image, error) {
	per := max(1, schema.MaxKeysPerStatement/len(ip.keys))
	var img undo.Image
	for lo := 0; lo < run.rows; lo += per {
		hi := min(lo+per, run.rows)
		var preds []string
		var args []driver.NamedValue
		for k, kp := range ip.keys {
			n := 0
			for i := lo; i < hi; i++ {
				if tup := run.tuples[k][i]; tup != nil {
					for _, v := range tup {
						args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
					}
					n++
				}
			}
			if n > 0 {
				preds = append(preds, keyIn(kp.cols, n))
			}
		}
		if len(preds) == 0 {
			continue
		}
		part, err := e.q.image(ctx, ip.selAll+strings.Join(preds, " OR ")+" FOR UPDATE", args)
		if err != nil {
			return undo.Image{}, err
		}
		img.Columns = part.Columns
		img.Rows = append(img.Rows, part.Rows...)
	}
	if img.Columns == nil {
		img.Columns = make([]string, len(ip.table.Columns))
		for i, col := range ip.table.Columns {
			img.Columns[i] = col.Name
		}
	}
	return dedupe(img, ip.pkIdx), nil
}

// keyIn is the predicate matching n tuples of the (quoted) key columns
// cols, shaped as schema.Table.PrimaryKeyIn shapes it.
func keyIn(cols []string, n int) string {
	var b strings.Builder
	if len(cols) == 1 {
		b.WriteString(cols[0])
		b.WriteString(" IN (")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
		return b.String()
	}
	// equalities, not a row IN: see schema.Table.PrimaryKeyIn
	if n > 1 {
		b.WriteByte('(')
	}
	for i := range n {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j, c := range cols {
			if j > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(c)
			b.WriteString("=?")
		}
		b.WriteByte(')')
	}
	if n > 1 {
		b.WriteByte(')')
	}
	return b.String()
}

package datasource

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/atcc-go/atcc/internal/schema"
)

// Key values an INSERT gives as the server stores them, and the checks
// that an insert which may meet existing rows finds them by those values.

// charKey returns s, given for character column col, as a CHAR or
// VARCHAR column stores and reads it (see storedKey); other character
// columns keep s.
func charKey(col *schema.Column, s string, padChar bool) string {
	if col.DataType != "char" && col.DataType != "varchar" {
		return s
	}
	n := declaredLength(col.ColumnType)
	if n >= 0 && len(s) > n { // n characters take n bytes or more
		s = firstRunes(s, n)
	}
	if col.DataType == "varchar" {
		return s
	}
	s = strings.TrimRight(s, " ")
	if c := utf8.RuneCountInString(s); padChar && c < n {
		s += strings.Repeat(" ", n-c)
	}
	return s
}

// firstRunes returns the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// declaredLength returns n of a column type "name(n)", or -1.
func declaredLength(columnType string) int {
	i := strings.IndexByte(columnType, '(')
	j := strings.IndexByte(columnType, ')')
	if i < 0 || j < i {
		return -1
	}
	n, err := strconv.Atoi(columnType[i+1 : j])
	if err != nil {
		return -1
	}
	return n
}

// keysAsStored refuses an insert that may meet existing rows when a key
// value it gives for a DECIMAL, FLOAT, DOUBLE, DATE, DATETIME, TIMESTAMP,
// TIME, ENUM or SET column is stored as another value, which "col = ?" with
// the value given does not find (1.005 for a DECIMAL(5,2) is stored as
// 1.01, '10:00:00.7' for a TIME as 10:00:00, 'b,a' for a SET('a','b') as
// 'a,b'): its collision lookups would miss the row it meets. The server
// converts each such value to the column's type and compares it, as the
// lookup does, with the value given; an ENUM or SET value must be spelled
// as the column stores it. Other types are looked up as stored (see
// storedKey).
func (e *executor) keysAsStored(ctx context.Context, ip *insertPlan, run *insertRun, text string) error {
	type given struct {
		col *schema.Column
		typ string
		v   driver.Value
	}
	var cast []given
	for k, kp := range ip.keys {
		for i := 0; i < run.rows; i++ {
			for j, v := range run.tuples[k][i] {
				col := &ip.table.Columns[kp.col[j]]
				typ, check := castType(col)
				switch {
				case !check || v == nil:
				case typ != "":
					cast = append(cast, given{col, typ, v})
				case !spelledAsStored(col, v):
					return unsupported(text, fmt.Sprintf("key column %s gets %s, which it stores spelled otherwise", col.Name, givenText(v)), nil)
				}
			}
		}
	}
	for lo := 0; lo < len(cast); lo += schema.MaxKeysPerStatement {
		chunk := cast[lo:min(len(cast), lo+schema.MaxKeysPerStatement)]
		var q strings.Builder
		q.WriteString("SELECT ")
		args := make([]driver.NamedValue, 0, 2*len(chunk))
		for n, g := range chunk {
			if n > 0 {
				q.WriteString(", ")
			}
			q.WriteString("CAST(? AS " + g.typ + ") = ?")
			args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: g.v}, driver.NamedValue{Ordinal: len(args) + 2, Value: g.v})
		}
		img, err := e.q.image(ctx, q.String(), args)
		if err != nil {
			return err
		}
		if len(img.Rows) != 1 || len(img.Rows[0]) != len(chunk) {
			return fmt.Errorf("atcc/datasource: converting %d key values returned %d rows", len(chunk), len(img.Rows))
		}
		for n, x := range img.Rows[0] {
			if x.String() != "1" {
				return unsupported(text, fmt.Sprintf("key column %s gets %s, which it stores as another value", chunk[n].col.Name, givenText(chunk[n].v)), nil)
			}
		}
	}
	return nil
}

// givenText renders a key value an INSERT gives, for an error message.
func givenText(v driver.Value) string {
	if b, ok := v.([]byte); ok {
		return strconv.Quote(string(b))
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// castType returns the CAST target of col's type for keysAsStored, or ""
// with check for an ENUM or SET column; check is false for types whose
// values are looked up as stored.
func castType(col *schema.Column) (typ string, check bool) {
	ct := strings.ToLower(col.ColumnType)
	switch col.DataType {
	case "decimal":
		if i := strings.IndexByte(ct, ')'); strings.HasPrefix(ct, "decimal(") && i > 0 {
			return ct[:i+1], true
		}
		return "DECIMAL", true
	case "float", "double":
		if strings.IndexByte(ct, '(') >= 0 {
			// FLOAT(M,D): stored rounded to D digits, which no CAST does
			return "", true
		}
		return strings.ToUpper(col.DataType), true
	case "date":
		return "DATE", true
	case "datetime", "timestamp", "time":
		typ = "DATETIME"
		if col.DataType == "time" {
			typ = "TIME"
		}
		if n := declaredLength(ct); n > 0 {
			typ += "(" + strconv.Itoa(n) + ")"
		}
		return typ, true
	case "enum", "set":
		return "", true
	}
	return "", false
}

// spelledAsStored reports whether v, a value for an ENUM or SET column col
// (or a FLOAT(M,D), never), is spelled exactly as the column stores it: a
// member, or members in their order, each once. A number is an index (see
// storedKey).
func spelledAsStored(col *schema.Column, v driver.Value) bool {
	var s string
	switch x := v.(type) {
	case int64, uint64:
		return col.DataType == "enum" || col.DataType == "set"
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return false
	}
	members, ok := enumMembers(col.ColumnType)
	if !ok {
		return false
	}
	if col.DataType == "enum" {
		return slices.Contains(members, s)
	}
	if s == "" {
		return true
	}
	next := 0
	for _, part := range strings.Split(s, ",") {
		i := slices.Index(members[next:], part)
		if i < 0 {
			return false
		}
		next += i + 1
	}
	return true
}

// enumMembers returns the members of an ENUM or SET column type as
// information_schema spells it, each quoted, a quote inside doubled and a
// backslash escaped.
func enumMembers(columnType string) ([]string, bool) {
	i := strings.IndexByte(columnType, '(')
	if i < 0 || !strings.HasSuffix(columnType, ")") {
		return nil, false
	}
	body := columnType[i+1 : len(columnType)-1]
	var members []string
	for len(body) > 0 {
		if body[0] != '\'' {
			return nil, false
		}
		var m strings.Builder
		j := 1
		for {
			if j >= len(body) {
				return nil, false
			}
			if body[j] == '\\' && j+1 < len(body) {
				m.WriteByte(body[j+1])
				j += 2
				continue
			}
			if body[j] == '\'' {
				if j+1 < len(body) && body[j+1] == '\'' {
					m.WriteByte('\'')
					j += 2
					continue
				}
				break
			}
			m.WriteByte(body[j])
			j++
		}
		members = append(members, m.String())
		body = body[j+1:]
		if len(body) > 0 {
			if body[0] != ',' {
				return nil, false
			}
			body = body[1:]
		}
	}
	return members, true
}

// keysFound tells, for each row of an insert that may meet existing rows,
// whether the key values it gives find a row (true for a row giving none,
// whose generated key is counted otherwise). After the insert ran, each
// row's values find the row it inserted, or the one it met, or the one
// that replaced it: a row that finds none was stored with other values
// than given (a DECIMAL rounded, a time's fraction cut, SET members
// ordered, a FLOAT approximated), which the collision lookups missed too,
// so its undo would not be exact (keysAsStored refuses the conversions it
// knows before the insert runs; this finds any other). Not so, and not
// checked, in an INSERT IGNORE, which skips a row that breaks a foreign key
// (imageInsert counts its rows instead), and in a REPLACE of several rows, where a row replaced by a later
// one may be replaced again by a third (seed 7048). An ON DUPLICATE KEY
// UPDATE that assigns a unique key column may change the value a row met
// its row by: a row of one is also checked before, and one of several,
// which may meet each other, is not checked. The lookups compare as the
// collisions' do.
func (e *executor) keysFound(ctx context.Context, ip *insertPlan, run *insertRun) ([]bool, error) {
	found := make([]bool, run.rows)
	per := max(1, schema.MaxKeysPerStatement/len(ip.keys))
	from := "EXISTS (SELECT 1 FROM " + ip.table.QuotedName() + " WHERE "
	for lo := 0; lo < run.rows; lo += per {
		hi := min(lo+per, run.rows)
		var q strings.Builder
		var args []driver.NamedValue
		var asked []int
		for i := lo; i < hi; i++ {
			preds := 0
			for k, kp := range ip.keys {
				tup := run.tuples[k][i]
				if tup == nil {
					continue
				}
				switch {
				case preds > 0:
					q.WriteString(" OR ")
				case len(asked) > 0:
					q.WriteString(", ")
					fallthrough
				default:
					q.WriteString(from)
				}
				q.WriteString(keyIn(kp.cols, 1))
				for _, v := range tup {
					args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
				}
				preds++
			}
			if preds == 0 {
				found[i] = true
				continue
			}
			q.WriteByte(')')
			asked = append(asked, i)
		}
		if len(asked) == 0 {
			continue
		}
		img, err := e.q.image(ctx, "SELECT "+q.String(), args)
		if err != nil {
			return nil, err
		}
		if len(img.Rows) != 1 || len(img.Rows[0]) != len(asked) {
			return nil, fmt.Errorf("atcc/datasource: looking up the key values of an insert's %d rows returned %d rows", len(asked), len(img.Rows))
		}
		for j, i := range asked {
			found[i] = img.Rows[0][j].String() == "1"
		}
	}
	return found, nil
}

package atprop

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// kind is a family of column types that share value generation and
// literal rendering.
type kind int

const (
	kInt kind = iota
	kDecimal
	kFloat
	kDouble
	kBit
	kString // CHAR, VARCHAR, TEXT
	kBinary // BINARY, VARBINARY, BLOB
	kEnum
	kSet
	kDate
	kTime
	kDatetime
	kTimestamp
	kYear
	kJSON
	kUUID
	kInet6
)

// colType is one column type.
type colType struct {
	kind     kind
	sql      string // as in CREATE TABLE, without NULL / DEFAULT
	bits     int    // kInt: 8, 16, 24, 32, 64; kBit: width
	unsigned bool
	prec     int // kDecimal
	scale    int
	length   int      // characters (kString) or bytes (kBinary) that fit
	fixed    bool     // CHAR, BINARY
	charset  string   // kString: utf8mb4, latin1, ascii
	ci       bool     // kString: case-insensitive collation
	nopad    bool     // kString: a NO PAD collation (trailing spaces count)
	fsp      int      // fractional seconds
	members  []string // kEnum, kSet
}

var (
	enumMembers = []string{"a", "b", "c d", "É", ""}
	setMembers  = []string{"x", "y", "z", "w"}
	collations  = []struct {
		charset, collation string
		ci, nopad          bool
	}{
		{"utf8mb4", "utf8mb4_bin", false, false},
		{"utf8mb4", "utf8mb4_general_ci", true, false},
		{"utf8mb4", "utf8mb4_unicode_ci", true, false},
		{"utf8mb4", "utf8mb4_unicode_520_nopad_ci", true, true},
		{"latin1", "latin1_swedish_ci", true, false},
		{"latin1", "latin1_bin", false, false},
		{"ascii", "ascii_general_ci", true, false},
	}
)

func intType(bits int, unsigned bool) colType {
	name := map[int]string{8: "TINYINT", 16: "SMALLINT", 24: "MEDIUMINT", 32: "INT", 64: "BIGINT"}[bits]
	if unsigned {
		name += " UNSIGNED"
	}
	return colType{kind: kInt, sql: name, bits: bits, unsigned: unsigned}
}

func stringType(rng *rand.Rand, base string, length int) colType {
	c := collations[rng.IntN(len(collations))]
	sql := base
	if base == "CHAR" || base == "VARCHAR" {
		sql = fmt.Sprintf("%s(%d)", base, length)
	}
	return colType{kind: kString, sql: sql + " CHARACTER SET " + c.charset + " COLLATE " + c.collation,
		length: length, fixed: base == "CHAR", charset: c.charset, ci: c.ci, nopad: c.nopad}
}

// randomType returns any column type MariaDB 10.11 has.
func randomType(rng *rand.Rand) colType {
	switch rng.IntN(22) {
	case 0, 1:
		return intType([]int{8, 16, 24, 32, 64}[rng.IntN(5)], rng.IntN(2) == 0)
	case 2:
		p := []int{1, 5, 10, 20, 38, 65}[rng.IntN(6)]
		s := rng.IntN(min(p, 30) + 1)
		return colType{kind: kDecimal, sql: fmt.Sprintf("DECIMAL(%d,%d)", p, s), prec: p, scale: s}
	case 3:
		p := []int{5, 12}[rng.IntN(2)]
		return colType{kind: kDecimal, sql: fmt.Sprintf("DECIMAL(%d,%d) UNSIGNED", p, 2), prec: p, scale: 2, unsigned: true}
	case 4:
		return colType{kind: kFloat, sql: "FLOAT"}
	case 5:
		return colType{kind: kDouble, sql: "DOUBLE"}
	case 6:
		n := []int{1, 5, 8, 13, 64}[rng.IntN(5)]
		return colType{kind: kBit, sql: fmt.Sprintf("BIT(%d)", n), bits: n}
	case 7:
		return stringType(rng, "CHAR", []int{1, 4, 10}[rng.IntN(3)])
	case 8, 9:
		return stringType(rng, "VARCHAR", []int{3, 20, 300}[rng.IntN(3)])
	case 10:
		base := []string{"TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT"}[rng.IntN(4)]
		return stringType(rng, base, 60)
	case 11:
		n := []int{1, 4, 16}[rng.IntN(3)]
		return colType{kind: kBinary, sql: fmt.Sprintf("BINARY(%d)", n), length: n, fixed: true}
	case 12:
		n := []int{2, 16, 300}[rng.IntN(3)]
		return colType{kind: kBinary, sql: fmt.Sprintf("VARBINARY(%d)", n), length: n}
	case 13:
		base := []string{"TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB"}[rng.IntN(4)]
		return colType{kind: kBinary, sql: base, length: 60}
	case 14:
		return colType{kind: kEnum, sql: "ENUM('a','b','c d','É','') CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", members: enumMembers}
	case 15:
		return colType{kind: kSet, sql: "SET('x','y','z','w')", members: setMembers}
	case 16:
		return colType{kind: kDate, sql: "DATE"}
	case 17:
		f := rng.IntN(7)
		return colType{kind: kTime, sql: fmt.Sprintf("TIME(%d)", f), fsp: f}
	case 18:
		f := rng.IntN(7)
		return colType{kind: kDatetime, sql: fmt.Sprintf("DATETIME(%d)", f), fsp: f}
	case 19:
		f := rng.IntN(7)
		return colType{kind: kTimestamp, sql: fmt.Sprintf("TIMESTAMP(%d)", f), fsp: f}
	case 20:
		return colType{kind: kYear, sql: "YEAR"}
	default:
		switch rng.IntN(3) {
		case 0:
			return colType{kind: kUUID, sql: "UUID"}
		case 1:
			return colType{kind: kInet6, sql: "INET6"}
		}
		return colType{kind: kJSON, sql: "JSON"}
	}
}

// numeric reports whether arithmetic (c = c + 1) is meaningful.
func (t colType) numeric() bool {
	switch t.kind {
	case kInt, kDecimal, kFloat, kDouble:
		return true
	}
	return false
}

// Column is one column of a generated table.
type Column struct {
	Name     string
	Type     colType
	Nullable bool
	AutoInc  bool
	Default  string // SQL literal, "" for none
	// Gen is the expression of a generated column (VIRTUAL, or STORED
	// when Stored), which statements read but never write; "" for none.
	Gen    string
	Stored bool
	// OnUpdate: ON UPDATE CURRENT_TIMESTAMP(6), which the server sets on
	// every change of the row (to the same time on both sides: the
	// sessions' timestamp is fixed, see sessionConfig).
	OnUpdate bool
}

// Table is one generated table.
type Table struct {
	DB      int // 0 or 1
	Name    string
	Cols    []Column
	PK      []int   // column indexes; empty: no primary key
	Uniques [][]int // extra UNIQUE keys
	UqInt   int     // index of an INT UNIQUE column for shifts, -1 if none
}

// Schema is the tables of both databases.
type Schema struct {
	Tables []*Table
}

// DDL returns the CREATE TABLE statement of t (unqualified).
func (t *Table) DDL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE `%s` (", t.Name)
	for i, c := range t.Cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "`%s` %s", c.Name, c.Type.sql)
		if c.Gen != "" {
			fmt.Fprintf(&b, " AS (%s) %s", c.Gen, map[bool]string{false: "VIRTUAL", true: "STORED"}[c.Stored])
			continue
		}
		if c.Nullable {
			b.WriteString(" NULL")
		} else {
			b.WriteString(" NOT NULL")
		}
		if c.AutoInc {
			b.WriteString(" AUTO_INCREMENT")
		}
		if c.Default != "" {
			b.WriteString(" DEFAULT " + c.Default)
		}
		if c.OnUpdate {
			b.WriteString(" ON UPDATE CURRENT_TIMESTAMP(6)")
		}
	}
	if len(t.PK) > 0 {
		b.WriteString(", PRIMARY KEY (" + t.colList(t.PK) + ")")
	}
	for i, u := range t.Uniques {
		fmt.Fprintf(&b, ", UNIQUE KEY uk%d (%s)", i, t.colList(u))
	}
	b.WriteString(") ENGINE=InnoDB")
	return b.String()
}

func (t *Table) colList(idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = "`" + t.Cols[j].Name + "`"
	}
	return strings.Join(parts, ", ")
}

// orderBy returns the columns a dump is ordered by: the primary key, or
// every column.
func (t *Table) orderBy() string {
	if len(t.PK) > 0 {
		return t.colList(t.PK)
	}
	all := make([]int, len(t.Cols))
	for i := range all {
		all[i] = i
	}
	return t.colList(all)
}

func (t *Table) isPK(col int) bool {
	for _, p := range t.PK {
		if p == col {
			return true
		}
	}
	return false
}

func (t *Table) autoInc() int {
	for i, c := range t.Cols {
		if c.AutoInc {
			return i
		}
	}
	return -1
}

// defaultLiteral is a valid DEFAULT for a NOT NULL column of type t.
func defaultLiteral(t colType) string {
	switch t.kind {
	case kInt, kDecimal, kFloat, kDouble, kYear:
		return "0"
	case kBit:
		return "b'0'"
	case kEnum:
		return "'a'"
	case kSet:
		return "''"
	case kDate:
		return "'2000-01-01'"
	case kTime:
		return "'00:00:00'"
	case kDatetime, kTimestamp:
		return "'2000-01-01 00:00:00'"
	case kJSON:
		return "'{}'"
	case kUUID:
		return "'00000000-0000-0000-0000-000000000000'"
	case kInet6:
		return "'::'"
	}
	return "''"
}

// keyShape builds the key columns of a table.
type keyShape int

const (
	shapeAutoInc   keyShape = iota // BIGINT UNSIGNED AUTO_INCREMENT
	shapeAutoIncUq                 // INT AUTO_INCREMENT + INT UNIQUE
	shapeIntPK                     // INT explicit + nullable VARCHAR UNIQUE + INT UNIQUE
	shapeComposite                 // (INT, VARCHAR)
	shapeVarcharPK                 // VARCHAR with a collation
	shapeBinaryPK                  // BINARY(16) or VARBINARY
	shapeOddPK                     // (DATE, TINYINT UNSIGNED) or DECIMAL
	shapeNoPK                      // no primary key: writes are refused
	numShapes
)

// genTable generates table name in database db.
func genTable(rng *rand.Rand, db int, name string, allowNoPK bool) *Table {
	t := &Table{DB: db, Name: name, UqInt: -1}
	add := func(c Column) int {
		t.Cols = append(t.Cols, c)
		return len(t.Cols) - 1
	}
	shape := keyShape(rng.IntN(int(numShapes)))
	if shape == shapeNoPK && !allowNoPK {
		shape = shapeIntPK
	}
	switch shape {
	case shapeAutoInc:
		t.PK = []int{add(Column{Name: "id", Type: intType(64, true), AutoInc: true})}
	case shapeAutoIncUq:
		t.PK = []int{add(Column{Name: "id", Type: intType(32, false), AutoInc: true})}
		t.UqInt = add(Column{Name: "uq", Type: intType(32, false), Nullable: rng.IntN(2) == 0})
		t.Uniques = append(t.Uniques, []int{t.UqInt})
	case shapeIntPK:
		t.PK = []int{add(Column{Name: "id", Type: intType([]int{16, 32, 64}[rng.IntN(3)], rng.IntN(2) == 0)})}
		t.UqInt = add(Column{Name: "uq", Type: intType(32, false)})
		t.Uniques = append(t.Uniques, []int{t.UqInt})
		vs := add(Column{Name: "us", Type: stringType(rng, "VARCHAR", 12), Nullable: true})
		t.Uniques = append(t.Uniques, []int{vs})
	case shapeComposite:
		a := add(Column{Name: "ka", Type: intType(32, rng.IntN(2) == 0)})
		b := add(Column{Name: "kb", Type: stringType(rng, "VARCHAR", 8)})
		t.PK = []int{a, b}
		if rng.IntN(2) == 0 {
			t.UqInt = add(Column{Name: "uq", Type: intType(64, false), Nullable: true})
			t.Uniques = append(t.Uniques, []int{t.UqInt})
		}
	case shapeVarcharPK:
		ty := stringType(rng, "VARCHAR", 10)
		if rng.IntN(3) == 0 {
			ty = stringType(rng, "CHAR", 6)
		}
		t.PK = []int{add(Column{Name: "k", Type: ty})}
	case shapeBinaryPK:
		ty := colType{kind: kBinary, sql: "BINARY(16)", length: 16, fixed: true}
		if rng.IntN(2) == 0 {
			ty = colType{kind: kBinary, sql: "VARBINARY(8)", length: 8}
		}
		t.PK = []int{add(Column{Name: "k", Type: ty})}
		u := add(Column{Name: "ub", Type: colType{kind: kBinary, sql: "VARBINARY(4)", length: 4}, Nullable: true})
		t.Uniques = append(t.Uniques, []int{u})
	case shapeOddPK:
		if rng.IntN(2) == 0 {
			a := add(Column{Name: "kd", Type: colType{kind: kDate, sql: "DATE"}})
			b := add(Column{Name: "kn", Type: intType(8, true)})
			t.PK = []int{a, b}
		} else {
			t.PK = []int{add(Column{Name: "kdec", Type: colType{kind: kDecimal, sql: "DECIMAL(12,4)", prec: 12, scale: 4}})}
		}
	case shapeNoPK:
		add(Column{Name: "id", Type: intType(32, false)})
	}
	n := 2 + rng.IntN(5)
	for i := 0; i < n; i++ {
		c := Column{Name: fmt.Sprintf("c%d", i), Type: randomType(rng), Nullable: rng.IntN(3) > 0}
		if !c.Nullable {
			c.Default = defaultLiteral(c.Type)
		}
		add(c)
	}
	if rng.IntN(3) == 0 {
		// gorm's updated_at, as a schema may declare it
		add(Column{Name: "tu", Type: colType{kind: kTimestamp, sql: "TIMESTAMP(6)", fsp: 6}, Default: "'2000-01-01 00:00:00'", OnUpdate: true})
	}
	if rng.IntN(3) == 0 {
		// a generated column over a column statements write: the
		// rollback must bring its value back with the base column's
		gen := "LENGTH(`c0`)"
		if c0 := t.Cols[slices.IndexFunc(t.Cols, func(c Column) bool { return c.Name == "c0" })]; c0.Type.kind == kString && c0.Type.fixed {
			// MariaDB 10.11 refuses LENGTH of a CHAR column (error 1901:
			// its value depends on PAD_CHAR_TO_FULL_LENGTH), not of RTRIM's
			gen = "LENGTH(RTRIM(`c0`))"
		}
		add(Column{Name: "g0", Type: intType(32, false), Nullable: true, Gen: gen, Stored: rng.IntN(2) == 0})
	}
	return t
}

// genSchema generates 2 to 3 tables in each database. Table names repeat
// across the databases (t0 in both), so that USE and qualified names reach
// a different table of the same name.
func genSchema(rng *rand.Rand) *Schema {
	s := &Schema{}
	for db := 0; db < 2; db++ {
		n := 2 + rng.IntN(2)
		for i := 0; i < n; i++ {
			s.Tables = append(s.Tables, genTable(rng, db, fmt.Sprintf("t%d", i), i == n-1 && rng.IntN(3) == 0))
		}
	}
	return s
}

// tablesOf returns the tables of database db.
func (s *Schema) tablesOf(db int) []*Table {
	var out []*Table
	for _, t := range s.Tables {
		if t.DB == db {
			out = append(out, t)
		}
	}
	return out
}

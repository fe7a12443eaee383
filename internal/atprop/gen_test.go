package atprop

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// generate returns the schema, seed rows and n global transactions of a
// seed, as Run generates them.
func generate(seed uint64, n int) (*Schema, []*Stmt, []*GlobalTx) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := genSchema(rng)
	g := newGen(rng, s)
	var rows []*Stmt
	for _, t := range s.Tables {
		rows = append(rows, g.seedRows(t)...)
	}
	var txs []*GlobalTx
	for i := 0; i < n; i++ {
		txs = append(txs, g.globalTx())
	}
	return s, rows, txs
}

func TestGeneratorIsReproducible(t *testing.T) {
	for seed := uint64(1); seed < 20; seed++ {
		s1, r1, g1 := generate(seed, 30)
		s2, r2, g2 := generate(seed, 30)
		require.True(t, reflect.DeepEqual(s1, s2), "seed %d: schema", seed)
		require.True(t, reflect.DeepEqual(r1, r2), "seed %d: rows", seed)
		require.True(t, reflect.DeepEqual(g1, g2), "seed %d: transactions", seed)
	}
	_, _, a := generate(1, 1)
	_, _, b := generate(2, 1)
	require.False(t, reflect.DeepEqual(a, b), "seeds 1 and 2 generate the same transaction")
}

// TestGeneratorCoverage checks that a few hundred seeds reach every column
// type, key shape, statement form, literal form and argument type the
// property test claims to exercise.
func TestGeneratorCoverage(t *testing.T) {
	types := map[kind]bool{}
	sqlTypes := map[string]bool{}
	stmtKinds := map[string]bool{}
	vias := map[Via]bool{}
	argTypes := map[string]bool{}
	shapes := map[string]bool{}
	var text strings.Builder
	for seed := uint64(1); seed <= 300; seed++ {
		s, rows, txs := generate(seed, 20)
		for _, tb := range s.Tables {
			for _, c := range tb.Cols {
				if c.OnUpdate {
					shapes["on update column"] = true
				}
				if c.Gen != "" {
					shapes[map[bool]string{false: "virtual column", true: "stored column"}[c.Stored]] = true
				}
				types[c.Type.kind] = true
				sqlTypes[strings.Fields(c.Type.sql)[0]] = true
			}
			switch {
			case len(tb.PK) == 0:
				shapes["no primary key"] = true
			case len(tb.PK) > 1:
				shapes["composite primary key"] = true
			case tb.Cols[tb.PK[0]].AutoInc:
				shapes["auto-increment primary key"] = true
			case tb.Cols[tb.PK[0]].Type.kind == kString:
				shapes["string primary key"] = true
			case tb.Cols[tb.PK[0]].Type.kind == kBinary:
				shapes["binary primary key"] = true
			}
			for _, u := range tb.Uniques {
				if tb.Cols[u[0]].Nullable {
					shapes["nullable unique key"] = true
				}
			}
		}
		for _, r := range rows {
			sql, _ := r.SQL()
			text.WriteString(sql + "\n")
		}
		for _, g := range txs {
			for _, b := range g.Branches {
				if b.Auto {
					shapes["autocommit branch"] = true
				}
				if b.LocalRollback {
					shapes["local rollback"] = true
				}
				for _, st := range b.Stmts {
					stmtKinds[st.Kind] = true
					vias[st.Via] = true
					sql, args := st.SQL()
					text.WriteString(sql + "\n")
					for _, a := range args {
						if a == nil {
							argTypes["nil"] = true
							continue
						}
						argTypes[reflect.TypeOf(a).String()] = true
					}
				}
			}
		}
	}
	for k := kInt; k <= kInet6; k++ {
		require.True(t, types[k], "column kind %d never generated", k)
	}
	for _, ty := range []string{"TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL(65,", "FLOAT", "DOUBLE",
		"BIT(64)", "CHAR(10)", "VARCHAR(300)", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "BINARY(16)", "VARBINARY(300)",
		"TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB", "ENUM('a','b','c", "SET('x','y','z','w')", "DATE", "TIME(6)",
		"DATETIME(6)", "TIMESTAMP(6)", "YEAR", "JSON", "UUID", "INET6"} {
		found := false
		for have := range sqlTypes {
			found = found || strings.HasPrefix(have, ty)
		}
		require.True(t, found, "type %s never generated", ty)
	}
	for _, s := range []string{"no primary key", "composite primary key", "auto-increment primary key", "string primary key",
		"binary primary key", "nullable unique key", "autocommit branch", "local rollback", "virtual column", "stored column", "on update column"} {
		require.True(t, shapes[s], "%s never generated", s)
	}
	for _, k := range []string{"insert", "insert-ignore", "replace", "odku", "update", "delete", "shift", "swap",
		"update-join", "delete-join", "refused-pk-update", "refused-insert-select", "use", "multi", "insert-returning", "replace-returning",
		"insert-ignore-returning", "delete-returning"} {
		require.True(t, stmtKinds[k], "statement kind %s never generated", k)
	}
	for _, v := range []Via{ViaExec, ViaPrepared, ViaMulti, ViaQuery} {
		require.True(t, vias[v], "%v never generated", v)
	}
	for _, a := range []string{"int64", "uint64", "float64", "string", "[]uint8", "time.Time", "nil"} {
		require.True(t, argTypes[a], "argument type %s never generated", a)
	}
	all := text.String()
	for _, lit := range []string{"b'0", "0x", "X'", "_utf8mb4'", "N'", "_binary'", "_latin1 X'", `\'`, "''", `\\`, `\0`, `\Z`, `\n`,
		"COLLATE utf8mb4_bin", "DATE'", "TIME'", "TIMESTAMP'", "000000000000000000000", "ORDER BY", "LIMIT", " IN (", "BETWEEN",
		"IS NULL", "LIKE", " JOIN ", "ON DUPLICATE KEY UPDATE", "VALUES(", "= DEFAULT", "USE {db1}", "{db0}.", "{db1}.", "` + ?"} {
		require.Contains(t, all, lit, "literal or clause %s never generated", lit)
	}
}

// TestShrinkDropsWhatDoesNotMatter shrinks a generated case against a
// fake replay that fails while a DELETE is left.
func TestShrinkDropsWhatDoesNotMatter(t *testing.T) {
	s, _, txs := generate(7, 40)
	var gt *GlobalTx
	for _, g := range txs {
		deletes, n := 0, 0
		for _, b := range g.Branches {
			for _, st := range b.Stmts {
				n++
				if st.Kind == "delete" {
					deletes++
				}
			}
		}
		if deletes == 1 && n > 3 && len(g.Branches) > 1 {
			gt = g
			break
		}
	}
	require.NotNil(t, gt, "no transaction with one DELETE among others")
	before := &State{Tables: map[string]Rows{}, AutoInc: map[string]string{}}
	for _, tb := range s.Tables {
		for i := 0; i < 9; i++ {
			v := "x"
			before.Tables[key(tb)] = append(before.Tables[key(tb)], []*string{&v})
		}
	}
	c := &Case{Seed: 7, Schema: s, Before: before, Tx: gt, Failure: &Failure{Class: "rollback-mismatch"}}
	replays := 0
	small, err := shrink(c, time.Minute, func(c *Case) (*Failure, error) {
		replays++
		for _, b := range c.Tx.Branches {
			for _, st := range b.Stmts {
				if st.Kind == "delete" {
					return &Failure{Class: "rollback-mismatch"}, nil
				}
			}
		}
		return &Failure{Class: "other"}, nil
	})
	require.NoError(t, err)
	require.Len(t, small.Tx.Branches, 1)
	require.Len(t, small.Tx.Branches[0].Stmts, 1)
	require.Equal(t, "delete", small.Tx.Branches[0].Stmts[0].Kind)
	require.Empty(t, small.Schema.Tables)
	require.Greater(t, len(gt.Branches), 1, "shrink changed the original case")

	// with the tables kept, the starting rows go
	c.Failure = &Failure{Class: "rollback-mismatch"}
	small, err = shrink(c, time.Minute, func(c *Case) (*Failure, error) {
		if len(c.Schema.Tables) < len(s.Tables) {
			return nil, nil
		}
		return &Failure{Class: "rollback-mismatch"}, nil
	})
	require.NoError(t, err)
	require.Len(t, small.Schema.Tables, len(s.Tables))
	for k, rows := range small.Before.Tables {
		require.Empty(t, rows, k)
	}
	t.Logf("%d replays", replays)
}

// TestGeneratedColumnOverChar: MariaDB 10.11 refuses LENGTH of a CHAR
// column in a generated column (error 1901, its value depends on
// PAD_CHAR_TO_FULL_LENGTH), which made a seed in thirty fail to load its
// schema (seed 6029); over a CHAR column the generator writes
// LENGTH(RTRIM(c0)), and the server takes it.
func TestGeneratedColumnOverChar(t *testing.T) {
	e := NewEnv(t)
	seen := 0
	for seed := uint64(1); seed <= 300; seed++ {
		s, _, _ := generate(seed, 0)
		for _, tb := range s.Tables {
			for _, c := range tb.Cols {
				if c.Gen == "" {
					continue
				}
				c0 := tb.Cols[slices.IndexFunc(tb.Cols, func(c Column) bool { return c.Name == "c0" })]
				if c0.Type.kind != kString || !c0.Type.fixed {
					continue
				}
				require.Equal(t, "LENGTH(RTRIM(`c0`))", c.Gen, "seed %d", seed)
				if seen++; seen <= 3 {
					e.at[0].Exec(t, "DROP TABLE IF EXISTS "+q(tb.Name), tb.DDL())
				}
			}
		}
	}
	require.NotZero(t, seen, "no generated column over a CHAR column in 300 seeds")
}

// TestUniqueUpdateOrderIsNondet: seed 8014. An UPDATE shifting a unique
// column (uq = uq + 1) without ORDER BY meets a duplicate or not by the
// order of its plan, which AT's database and the mirror may choose
// otherwise: the generator marks it Nondet; with ORDER BY its order is the
// statement's.
func TestUniqueUpdateOrderIsNondet(t *testing.T) {
	marked, ordered := 0, 0
	for seed := uint64(1); seed <= 200; seed++ {
		_, _, txs := generate(seed, 20)
		for _, gt := range txs {
			for _, b := range gt.Branches {
				for _, s := range b.Stmts {
					text, _ := s.SQL()
					set, _, _ := strings.Cut(text, " WHERE ")
					if s.Kind != "update" || !strings.Contains(set, "`uq` = `uq` ") {
						continue
					}
					if !strings.Contains(text, " ORDER BY ") {
						require.True(t, s.Nondet, "seed %d: %s", seed, text)
						marked++
					} else if !s.Nondet {
						ordered++
					}
				}
			}
		}
	}
	require.NotZero(t, marked)
	require.NotZero(t, ordered, "every ordered UPDATE of a unique column marked Nondet")
}

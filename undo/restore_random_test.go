package undo

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

var restoreRounds = flag.Int("undo.rounds", 40, "branches TestRollbackRandomUniqueChurn rolls back")

// exec runs stmt and records what it changed by comparing the whole table
// before and after, by primary key, as the driver wrapper records a
// statement that may meet existing rows: deleted rows, updated rows, inserted
// rows. A statement the server refuses is left out. It reports whether the
// statement ran.
func (b *branch) diffExec(table, stmt string) bool {
	b.t.Helper()
	all := "SELECT * FROM " + table + " ORDER BY 1 FOR UPDATE"
	before := b.query(all)
	if _, err := b.conn.ExecContext(b.ctx, stmt); err != nil {
		return false
	}
	after := b.query(all)
	key := func(r Row) string { return r[0].String() }
	afterBy := make(map[string]Row)
	for _, r := range after.Rows {
		afterBy[key(r)] = r
	}
	gone, old, upd, added := Image{Columns: before.Columns}, Image{Columns: before.Columns}, Image{Columns: before.Columns}, Image{Columns: before.Columns}
	seen := make(map[string]bool)
	for _, r := range before.Rows {
		seen[key(r)] = true
		a, ok := afterBy[key(r)]
		switch {
		case !ok:
			gone.Rows = append(gone.Rows, r)
		case !a.Equal(r):
			old.Rows = append(old.Rows, r)
			upd.Rows = append(upd.Rows, a)
		}
	}
	for _, r := range after.Rows {
		if !seen[key(r)] {
			added.Rows = append(added.Rows, r)
		}
	}
	b.log.Records = append(b.log.Records,
		Record{Op: OpDelete, Table: table, Before: gone},
		Record{Op: OpUpdate, Table: table, Before: old, After: upd},
		Record{Op: OpInsert, Table: table, After: added})
	return true
}

// Random statements that shift, swap, take and free values of two unique
// keys, several per branch, each branch rolled back: the table must come
// back exactly, whatever the order the statements left the values in.
func TestRollbackRandomUniqueChurn(t *testing.T) {
	e := newEnv(t, Config{}, `CREATE TABLE churn (
	  id INT PRIMARY KEY,
	  a INT NULL,
	  b INT NULL,
	  v INT NOT NULL,
	  UNIQUE KEY uk_a (a),
	  UNIQUE KEY uk_ab (b, a))`)
	var vals []string
	for i := 1; i <= 10; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d, %d)", i, i, i%3, i))
	}
	e.d.Exec(t, "INSERT INTO churn VALUES "+strings.Join(vals, ","))
	e.snapshot(t, "churn")
	ran := 0
	for round := range *restoreRounds {
		rng := rand.New(rand.NewPCG(uint64(round), 11))
		xid := fmt.Sprintf("xid-churn-%d", round)
		br := e.begin(t, xid, 1)
		var stmts []string
		for range 1 + rng.IntN(6) {
			s := randomChurn(rng)
			if br.diffExec("churn", s) {
				stmts = append(stmts, s)
			}
		}
		ran += len(stmts)
		br.mustCommit()
		br.conn.Close()
		if err := e.m.Rollback(context.Background(), xid, 1); err != nil {
			t.Fatalf("round %d (%q): %v", round, stmts, err)
		}
		e.sameAsSnapshot(t, "churn")
	}
	t.Logf("%d branches, %d statements rolled back", *restoreRounds, ran)
}

func randomChurn(rng *rand.Rand) string {
	n := func(lo, hi int) int { return lo + rng.IntN(hi-lo+1) }
	val := func() string {
		if rng.IntN(6) == 0 {
			return "NULL"
		}
		return fmt.Sprint(n(1, 14))
	}
	switch rng.IntN(7) {
	case 0:
		d := n(1, 3)
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("UPDATE churn SET a = a + %d WHERE a BETWEEN %d AND %d ORDER BY a DESC", d, n(1, 6), n(6, 12))
		}
		return fmt.Sprintf("UPDATE churn SET a = a - %d WHERE a BETWEEN %d AND %d ORDER BY a ASC", d, n(1, 6), n(6, 12))
	case 1, 2:
		var rows []string
		for range n(1, 4) {
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, %d)", n(1, 13), val(), val(), n(0, 99)))
		}
		return "REPLACE INTO churn (id, a, b, v) VALUES " + strings.Join(rows, ",")
	case 3:
		return fmt.Sprintf("DELETE FROM churn WHERE id IN (%d, %d)", n(1, 13), n(1, 13))
	case 4:
		return fmt.Sprintf("INSERT INTO churn (id, a, b, v) VALUES (%d, %s, %s, 0) ON DUPLICATE KEY UPDATE a = %s, v = v + 1", n(1, 13), val(), val(), val())
	case 5:
		return fmt.Sprintf("UPDATE churn SET b = %s, v = v + 1 WHERE id = %d", val(), n(1, 13))
	}
	return fmt.Sprintf("UPDATE churn SET a = NULL WHERE id = %d", n(1, 13))
}

package atprop

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/atcc-go/atcc/internal/testdb"
)

// Case is a self-contained reproduction: the schema, the rows (and
// auto-increment counters) before the global transaction, and the global
// transaction.
type Case struct {
	Seed    uint64
	TxIndex int // which global transaction of the seed's run
	Schema  *Schema
	Before  *State
	Tx      *GlobalTx
	Failure *Failure
	// Permissive: the statements ran with an empty sql_mode (see
	// permissiveSeed).
	Permissive bool
}

// permissiveSeed reports whether a seed's statements run with an empty
// sql_mode rather than the server's strict default: one seed in four.
func permissiveSeed(seed uint64) bool { return seed%4 == 3 }

// RerunCommand is the command that reruns the first txs global
// transactions of one seed.
func RerunCommand(seed uint64, txs int) string {
	return fmt.Sprintf("ATPROP_SEED=%d ATPROP_TXS=%d go test -race -count=1 -run TestATRollbackFidelity -v ./internal/atprop", seed, txs)
}

// String prints the case as SQL a person can run in a mysql client.
func (c *Case) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- atprop %s\n", c.Failure.Class)
	for _, l := range strings.Split(strings.TrimRight(c.Failure.Detail, "\n"), "\n") {
		fmt.Fprintf(&b, "--   %s\n", l)
	}
	fmt.Fprintf(&b, "-- seed %d, global transaction #%d; rerun: %s\n", c.Seed, c.TxIndex, RerunCommand(c.Seed, c.TxIndex+1))
	fmt.Fprintf(&b, "-- {db0} and {db1} are two databases, each with its own AT connector and undo_log.\n")
	if c.Permissive {
		fmt.Fprintf(&b, "-- every connection runs with an empty sql_mode (not strict)\nSET SESSION sql_mode = '';\n")
	}
	for db := 0; db < 2; db++ {
		if len(c.Schema.tablesOf(db)) == 0 {
			continue
		}
		fmt.Fprintf(&b, "USE {db%d};\n", db)
		for _, t := range c.Schema.tablesOf(db) {
			for _, s := range loadSQL(t, c.Before) {
				if strings.HasPrefix(s, "DROP") {
					continue
				}
				b.WriteString(s + ";\n")
			}
		}
	}
	end := "ROLLBACK"
	if c.Tx.Commit {
		end = "COMMIT"
	}
	fmt.Fprintf(&b, "-- global transaction, ended with global %s\n", end)
	for i, br := range c.Tx.Branches {
		mode := "local transaction"
		switch {
		case br.Auto:
			mode = "autocommit statements"
		case br.LocalRollback:
			mode = "local transaction, rolled back locally"
		}
		fmt.Fprintf(&b, "--  branch %d through the {db%d} connector (%s)\n", i+1, br.DB, mode)
		for _, s := range br.Stmts {
			text, args := s.SQL()
			fmt.Fprintf(&b, "%s;", text)
			var notes []string
			if s.Via != ViaExec {
				notes = append(notes, s.Via.String())
			}
			if len(args) > 0 {
				fa := make([]string, len(args))
				for i, a := range args {
					fa[i] = formatArg(a)
				}
				notes = append(notes, "args: "+strings.Join(fa, ", "))
			}
			if len(notes) > 0 {
				fmt.Fprintf(&b, " -- %s", strings.Join(notes, "; "))
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Signature groups failures that are likely the same bug: the class and
// the kinds of the statements left after shrinking.
func (c *Case) Signature() string {
	var kinds []string
	seen := map[string]bool{}
	for _, b := range c.Tx.Branches {
		for _, s := range b.Stmts {
			if !seen[s.Kind] {
				seen[s.Kind] = true
				kinds = append(kinds, s.Kind)
			}
		}
	}
	sort.Strings(kinds)
	return c.Failure.Class + " / " + strings.Join(kinds, ",") + " / " + c.Failure.Reason
}

// Replay runs c from a fresh coordinator and freshly loaded tables.
func (e *Env) Replay(ctx context.Context, c *Case) (*Failure, error) {
	e.permissive = c.Permissive
	e.Restart()
	if err := e.dropAll(ctx); err != nil {
		return nil, err
	}
	if err := e.load(ctx, false, c.Schema, c.Before); err != nil {
		return nil, err
	}
	if err := e.load(ctx, true, c.Schema, c.Before); err != nil {
		return nil, err
	}
	for _, mirror := range []bool{false, true} {
		if err := e.checkLoaded(ctx, mirror, c.Schema, c.Before); err != nil {
			return nil, err
		}
	}
	_, f, err := e.RunTx(ctx, c.Schema, c.Tx)
	return f, err
}

// dropAll drops every table but undo_log on both sides.
func (e *Env) dropAll(ctx context.Context) error {
	for _, d := range []*testdb.Database{e.at[0], e.at[1], e.mirror[0], e.mirror[1]} {
		rows, err := d.DB.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> 'undo_log'", d.Name)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			if _, err := d.DB.ExecContext(ctx, "DROP TABLE "+q(n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// clone returns a deep enough copy of c for the shrinker to edit.
func (c *Case) clone() *Case {
	n := *c
	n.Tx = &GlobalTx{Commit: c.Tx.Commit}
	for _, b := range c.Tx.Branches {
		nb := *b
		nb.Stmts = make([]*Stmt, len(b.Stmts))
		for i, s := range b.Stmts {
			ns := *s
			ns.Rows = append([]Frag(nil), s.Rows...)
			nb.Stmts[i] = &ns
		}
		n.Tx.Branches = append(n.Tx.Branches, &nb)
	}
	n.Schema = &Schema{Tables: append([]*Table(nil), c.Schema.Tables...)}
	n.Before = &State{Tables: map[string]Rows{}, AutoInc: c.Before.AutoInc}
	for k, v := range c.Before.Tables {
		n.Before.Tables[k] = v
	}
	return &n
}

// Shrink minimises c while it still fails with the same class and reason: it drops
// branches, statements, INSERT rows, tables and rows of the starting
// state, greedily, until nothing more can go or budget runs out.
func (e *Env) Shrink(ctx context.Context, c *Case, budget time.Duration) (*Case, error) {
	// a transaction that does not settle fails after Settle: wait less
	defer func(d time.Duration) { e.Settle = d }(e.Settle)
	e.Settle = min(e.Settle, 2*time.Second)
	return shrink(c, budget, func(c *Case) (*Failure, error) { return e.Replay(ctx, c) })
}

// shrink is Shrink with the replay as a function.
func shrink(c *Case, budget time.Duration, replay func(*Case) (*Failure, error)) (*Case, error) {
	deadline := time.Now().Add(budget)
	class, reason := c.Failure.Class, c.Failure.Reason
	try := func(cand *Case) (bool, error) {
		if time.Now().After(deadline) {
			return false, nil
		}
		f, err := replay(cand)
		if err != nil {
			return false, err
		}
		if f != nil && f.Class == class && f.Reason == reason {
			cand.Failure = f
			return true, nil
		}
		return false, nil
	}
	for progress := true; progress && time.Now().Before(deadline); {
		progress = false
		// tables
		for ti := 0; ti < len(c.Schema.Tables); ti++ {
			cand := c.clone()
			cand.Schema.Tables = append(cand.Schema.Tables[:ti], cand.Schema.Tables[ti+1:]...)
			ok, err := try(cand)
			if err != nil {
				return c, err
			}
			if ok {
				c, progress, ti = cand, true, ti-1
			}
		}
		// branches
		for i := 0; i < len(c.Tx.Branches) && len(c.Tx.Branches) > 1; i++ {
			cand := c.clone()
			cand.Tx.Branches = append(cand.Tx.Branches[:i], cand.Tx.Branches[i+1:]...)
			ok, err := try(cand)
			if err != nil {
				return c, err
			}
			if ok {
				c, progress, i = cand, true, i-1
			}
		}
		// statements
		for bi := 0; bi < len(c.Tx.Branches); bi++ {
			for si := 0; si < len(c.Tx.Branches[bi].Stmts) && (len(c.Tx.Branches[bi].Stmts) > 1 || len(c.Tx.Branches) > 1); si++ {
				if hasUse(c.Tx.Branches[bi].Stmts[si].Head.SQL) {
					// the statements after a USE were generated for its
					// database: without it they name other tables
					continue
				}
				cand := c.clone()
				b := cand.Tx.Branches[bi]
				b.Stmts = append(b.Stmts[:si], b.Stmts[si+1:]...)
				if len(b.Stmts) == 0 {
					cand.Tx.Branches = append(cand.Tx.Branches[:bi], cand.Tx.Branches[bi+1:]...)
				}
				ok, err := try(cand)
				if err != nil {
					return c, err
				}
				if ok {
					c, progress = cand, true
					if len(b.Stmts) == 0 {
						bi--
						break
					}
					si--
				}
			}
		}
		// INSERT rows
		for bi, b := range c.Tx.Branches {
			for si, s := range b.Stmts {
				for ri := 0; ri < len(s.Rows) && len(s.Rows) > 1; ri++ {
					cand := c.clone()
					cs := cand.Tx.Branches[bi].Stmts[si]
					cs.Rows = append(cs.Rows[:ri], cs.Rows[ri+1:]...)
					ok, err := try(cand)
					if err != nil {
						return c, err
					}
					if ok {
						c, progress, ri = cand, true, ri-1
						s = c.Tx.Branches[bi].Stmts[si]
					}
				}
			}
		}
		// simpler forms: local transaction instead of autocommit, exec
		// instead of prepared, commit instead of local rollback
		for bi := range c.Tx.Branches {
			for si, s := range c.Tx.Branches[bi].Stmts {
				if s.Via == ViaPrepared {
					cand := c.clone()
					cand.Tx.Branches[bi].Stmts[si].Via = ViaExec
					if ok, err := try(cand); err != nil {
						return c, err
					} else if ok {
						c, progress = cand, true
					}
				}
			}
		}
		// starting rows: halves, then one by one
		for _, t := range c.Schema.Tables {
			k := key(t)
			for chunk := (len(c.Before.Tables[k]) + 1) / 2; chunk >= 1; chunk /= 2 {
				for start := 0; start < len(c.Before.Tables[k]); {
					rows := c.Before.Tables[k]
					end := min(start+chunk, len(rows))
					cand := c.clone()
					cand.Before.Tables[k] = append(append(Rows(nil), rows[:start]...), rows[end:]...)
					ok, err := try(cand)
					if err != nil {
						return c, err
					}
					if ok {
						c, progress = cand, true
					} else {
						start = end
					}
				}
			}
		}
	}
	return c, nil
}

// Run is one seed's run: a schema, its starting rows, then n global
// transactions, each checked. Failures are returned unshrunk, each with
// the state before it; after a failure the coordinator is replaced and
// the mirror resynchronised, and the run goes on.
func (e *Env) Run(ctx context.Context, seed uint64, n int) ([]*Case, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := genSchema(rng)
	g := newGen(rng, s)
	var seedStmts []*Stmt
	var seedTables []*Table
	for _, t := range s.Tables {
		for _, st := range g.seedRows(t) {
			seedStmts = append(seedStmts, st)
			seedTables = append(seedTables, t)
		}
	}
	e.permissive = permissiveSeed(seed)
	e.Restart()
	if err := e.Setup(ctx, s, seedStmts, seedTables); err != nil {
		return nil, err
	}
	if st, err := e.dump(ctx, false, s); err != nil {
		return nil, err
	} else if err := e.checkLoaded(ctx, true, s, st); err != nil {
		return nil, err
	}
	var cases []*Case
	for i := 0; i < n; i++ {
		gt := g.globalTx()
		before, f, err := e.RunTx(ctx, s, gt)
		if err != nil {
			return cases, fmt.Errorf("seed %d, global transaction #%d: %w", seed, i, err)
		}
		if f == nil {
			continue
		}
		cases = append(cases, &Case{Seed: seed, TxIndex: i, Schema: s, Before: before, Tx: gt, Failure: f, Permissive: e.permissive})
		t0 := time.Now()
		e.Restart()
		e.Stats.Phases["restart"] += time.Since(t0)
		if err := e.Resync(ctx, s); err != nil {
			return cases, err
		}
	}
	return cases, nil
}

package atprop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/internal/testdb"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

// Failure is a property that did not hold.
type Failure struct {
	Class  string // rollback-mismatch, commit-mismatch, error-mismatch, ...
	Detail string
	Reason string // the error behind it with names and numbers blanked, to group failures
}

func (f *Failure) Error() string { return f.Class + ": " + f.Detail }

func fail(class, format string, args ...any) *Failure {
	return &Failure{Class: class, Detail: fmt.Sprintf(format, args...)}
}

var (
	quotedRE = regexp.MustCompile("`[^`]*`|'[^']*'|\"[^\"]*\"")
	numberRE = regexp.MustCompile(`[0-9]+`)
	nameRE   = regexp.MustCompile(`atcc_[a-z0-9_]+|[0-9.]+:[0-9]+:[0-9]+`) // databases, XIDs
)

// because sets f.Reason from err (an error or a message).
func (f *Failure) because(err any) *Failure {
	r := fmt.Sprint(err)
	r = nameRE.ReplaceAllString(r, "?")
	r = quotedRE.ReplaceAllString(r, "?")
	r = numberRE.ReplaceAllString(r, "#")
	if len(r) > 100 {
		r = r[:100]
	}
	f.Reason = r
	return f
}

// Stats counts what the runs did.
type Stats struct {
	GlobalTxs, Commits, Rollbacks, Branches, Stmts int
	RefusedAsListed                                int                      // statements README lists as refused, refused
	Refused                                        map[string]int           // other refusals, by statement kind and reason
	StmtErrors                                     int                      // statements that failed through AT and as plain SQL
	OtherError                                     int                      // of which with another error number
	Documented                                     int                      // statements that differ as README documents (strict-mode 1292; keys generated around a given one)
	Uncompared                                     int                      // statements whose rows affected / RETURNING were not compared: nondeterministic, or after a divergence
	Phases                                         map[string]time.Duration // time spent, by phase
}

// Env is the world the properties are checked in: two AT databases, their
// two mirrors, and a coordinator with the MySQL store in a fifth database.
// It is used by one goroutine.
type Env struct {
	tb       testing.TB
	at       [2]*testdb.Database
	mirror   [2]*testdb.Database
	tcdb     *testdb.Database
	mirrorDB *sql.DB // multiStatements pool on mirror[0]

	srv    *tc.Server
	client *atcc.Client
	pools  [2]*sql.DB // AT pools; the second with datasource.Config.MultiStatements

	// Settle bounds the wait for phase two to finish.
	Settle time.Duration
	// diverged is set when a statement of the global transaction being
	// run differed from plain SQL as README documents, or may have picked
	// other rows (Stmt.Nondet): the results of its later statements and
	// its commit are then not compared with the mirror, which is
	// resynchronised instead.
	diverged bool
	// useLost is set when a USE of the branch being run did not take
	// effect through AT (refused or failed): the generator's current
	// database, and with it the refusals it expects of the statements
	// after it, are no longer known. They are still compared with the
	// mirror, which did not run the USE either.
	useLost bool
	// aborted is set when a statement of the branch being run failed
	// through AT after it ran, as README documents (abortDocumented): the
	// branch's local transaction can only roll back, on both sides.
	aborted bool
	// permissive runs the statements of both sides with an empty
	// sql_mode (no strict mode: invalid values are converted with a
	// warning, zero dates pass); set by Restart's caller.
	permissive bool
	Stats      Stats
}

// NewEnv creates the databases (dropped when tb ends) and starts a
// coordinator and the AT pools.
func NewEnv(tb testing.TB) *Env {
	tb.Helper()
	e := &Env{tb: tb, Settle: 5 * time.Second, Stats: Stats{Refused: map[string]int{}, Phases: map[string]time.Duration{}}}
	for i := 0; i < 2; i++ {
		e.at[i] = testdb.Create(tb)
		e.mirror[i] = testdb.Create(tb)
		if err := undo.CreateTable(context.Background(), e.at[i].DB, ""); err != nil {
			tb.Fatalf("atprop: undo table: %v", err)
		}
	}
	e.tcdb = testdb.Create(tb)
	if err := tc.CreateTables(context.Background(), e.tcdb.DB); err != nil {
		tb.Fatalf("atprop: %v", err)
	}
	tb.Cleanup(e.stop)
	e.Restart()
	return e
}

// sessionConfig returns d's driver configuration with multiStatements,
// the sql_mode of the run, and a fixed session timestamp, so that
// CURRENT_TIMESTAMP (ON UPDATE, DEFAULT) gives the same value on both
// sides.
func (e *Env) sessionConfig(d *testdb.Database) *mysql.Config {
	cfg := d.Config()
	cfg.MultiStatements = true
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["timestamp"] = fixedTimestamp
	if e.permissive {
		cfg.Params["sql_mode"] = "''"
	}
	return cfg
}

// fixedTimestamp is the sessions' time, 2024-04-01 12:00:00.123456 UTC.
const fixedTimestamp = "1711972800.123456"

// dbName returns the name {db<i>} stands for on the AT or mirror side.
func (e *Env) dbName(mirror bool, i int) string {
	if mirror {
		return e.mirror[i].Name
	}
	return e.at[i].Name
}

func (e *Env) subst(mirror bool, sql string) string {
	return strings.NewReplacer("{db0}", q(e.dbName(mirror, 0)), "{db1}", q(e.dbName(mirror, 1))).Replace(sql)
}

func (e *Env) stop() {
	if e.mirrorDB != nil {
		e.mirrorDB.Close()
		e.mirrorDB = nil
	}
	for i, p := range e.pools {
		if p != nil {
			p.Close()
			e.pools[i] = nil
		}
	}
	if e.client != nil {
		e.client.Close()
		e.client = nil
	}
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

// Restart replaces the coordinator (forgetting every transaction, so that
// a rollback that retries for ever stops holding its locks), the client
// and the AT pools (with cold metadata caches), and empties the undo logs.
func (e *Env) Restart() {
	tb := e.tb
	tb.Helper()
	e.stop()
	ctx := context.Background()
	for _, tbl := range []string{"global_table", "branch_table", "lock_table"} {
		if _, err := e.tcdb.DB.ExecContext(ctx, "DELETE FROM "+tbl); err != nil {
			tb.Fatalf("atprop: %v", err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := e.at[i].DB.ExecContext(ctx, "DELETE FROM undo_log"); err != nil {
			tb.Fatalf("atprop: %v", err)
		}
	}
	srv, err := tc.New(tc.Config{DB: e.tcdb.DB, RetryPeriod: 20 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond})
	if err != nil {
		tb.Fatalf("atprop: %v", err)
	}
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		tb.Fatalf("atprop: start coordinator: %v", err)
	}
	e.srv = srv
	client, err := atcc.New(atcc.Config{
		ApplicationID:  "atprop",
		Coordinators:   []string{srv.Addr().String()},
		RetryBackoff:   10 * time.Millisecond,
		RequestTimeout: 10 * time.Second,
		HandlerTimeout: 5 * time.Second,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatalf("atprop: %v", err)
	}
	e.client = client
	mconn, err := mysql.NewConnector(e.sessionConfig(e.mirror[0]))
	if err != nil {
		tb.Fatalf("atprop: %v", err)
	}
	e.mirrorDB = sql.OpenDB(mconn)
	for i := 0; i < 2; i++ {
		target, err := mysql.NewConnector(e.sessionConfig(e.at[i]))
		if err != nil {
			tb.Fatalf("atprop: %v", err)
		}
		c, err := datasource.NewConnector(target, client, datasource.Config{
			ResourceID: "atprop/" + e.at[i].Name,
			Undo:       undo.Config{DeleteMaxDelay: 5 * time.Millisecond},
			// The second database's branches send their undo log INSERT
			// and COMMIT in one query; the first's, one after the other.
			MultiStatements: i == 1,
		})
		if err != nil {
			tb.Fatalf("atprop: %v", err)
		}
		e.pools[i] = sql.OpenDB(c)
	}
	if err := client.Ping(ctx); err != nil {
		tb.Fatalf("atprop: ping coordinator: %v", err)
	}
}

// Rows is a table's content: cells as bytes, nil for NULL.
type Rows [][]*string

// State is the content of every table, keyed "db<i>.<table>", and their
// auto-increment counters.
type State struct {
	Tables  map[string]Rows
	AutoInc map[string]string
}

func key(t *Table) string { return fmt.Sprintf("db%d.%s", t.DB, t.Name) }

// dump reads every table of s on one side, through the binary protocol
// (exact FLOAT / DOUBLE), ordered by primary key.
func (e *Env) dump(ctx context.Context, mirror bool, s *Schema) (*State, error) {
	st := &State{Tables: map[string]Rows{}, AutoInc: map[string]string{}}
	for _, t := range s.Tables {
		db := e.at[t.DB].DB
		if mirror {
			db = e.mirror[t.DB].DB
		}
		rows, err := readTable(ctx, db, q(t.Name), t)
		if err != nil {
			return nil, err
		}
		st.Tables[key(t)] = rows
	}
	var err error
	st.AutoInc, err = e.autoIncs(ctx, mirror)
	return st, err
}

// autoIncs reads the auto-increment counters of every table on one side,
// keyed "db<i>.<table>".
func (e *Env) autoIncs(ctx context.Context, mirror bool) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < 2; i++ {
		d := e.at[i]
		if mirror {
			d = e.mirror[i]
		}
		rows, err := d.DB.QueryContext(ctx, "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND AUTO_INCREMENT IS NOT NULL", d.Name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name, n string
			if err := rows.Scan(&name, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[fmt.Sprintf("db%d.%s", i, name)] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// syncAutoInc sets the mirror's auto-increment counters of the tables of s
// to the AT side's, want, where they differ, and describes the
// differences ("" if none). The counters are not rolled back, by AT or by
// InnoDB; when the sides ran different statements (a divergence) they
// differ, and left so the keys generated by every later transaction
// would differ (seed 3009).
func (e *Env) syncAutoInc(ctx context.Context, s *Schema, want map[string]string) (string, error) {
	got, err := e.autoIncs(ctx, true)
	if err != nil {
		return "", err
	}
	var diffs []string
	for _, t := range s.Tables {
		k := key(t)
		if want[k] == got[k] || want[k] == "" {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: AT %s, plain %s", k, want[k], got[k]))
		if _, err := e.mirror[t.DB].DB.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %s", q(t.Name), want[k])); err != nil {
			return "", err
		}
	}
	return strings.Join(diffs, "; "), nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readTable reads every row of t, named name, through the binary protocol
// (exact FLOAT / DOUBLE), ordered by primary key.
func readTable(ctx context.Context, db queryer, name string, t *Table) (Rows, error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+name+" WHERE ? ORDER BY "+t.orderBy(), 1)
	if err != nil {
		return nil, fmt.Errorf("dump %s: %w", key(t), err)
	}
	defer rows.Close()
	var out Rows
	for rows.Next() {
		raw := make([]sql.RawBytes, len(t.Cols))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(raw))
		for i, b := range raw {
			if b != nil {
				s := string(b)
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// readAll reads every table of s on the AT side through db, which may be a
// local transaction of the global one (plain SELECTs pass through AT).
func (e *Env) readAll(ctx context.Context, db queryer, s *Schema) (*State, error) {
	st := &State{Tables: map[string]Rows{}}
	for _, t := range s.Tables {
		rows, err := readTable(ctx, db, q(e.dbName(false, t.DB))+"."+q(t.Name), t)
		if err != nil {
			return nil, err
		}
		st.Tables[key(t)] = rows
	}
	return st, nil
}

// cellLiteral renders a dumped cell as a literal that stores it again.
func cellLiteral(t colType, c *string) string {
	if c == nil {
		return "NULL"
	}
	switch t.kind {
	case kBinary, kBit:
		return hexLit(*c)
	case kFloat:
		// the driver prints a FLOAT's shortest float32 form, which read
		// back as a double may not be the same float (or in range)
		if f, err := strconv.ParseFloat(*c, 32); err == nil {
			return plainQuote(strconv.FormatFloat(float64(float32(f)), 'g', -1, 64))
		}
	case kYear:
		return *c // '0' would be 2000, 0 is 0000
	case kString, kJSON:
		if *c == "" {
			return "''"
		}
		return "_utf8mb4 " + hexLit(*c)
	}
	return plainQuote(*c)
}

// load recreates the tables of s on one side with the rows of st.
func (e *Env) load(ctx context.Context, mirror bool, s *Schema, st *State) error {
	for _, t := range s.Tables {
		for _, sql := range loadSQL(t, st) {
			db := e.at[t.DB].DB
			if mirror {
				db = e.mirror[t.DB].DB
			}
			if _, err := db.ExecContext(ctx, sql); err != nil {
				return fmt.Errorf("load %s: %s: %w", key(t), sql, err)
			}
		}
	}
	return nil
}

// loadSQL returns the statements that recreate t with its rows in st.
func loadSQL(t *Table, st *State) []string {
	out := []string{"DROP TABLE IF EXISTS " + q(t.Name), t.DDL()}
	if st == nil {
		return out
	}
	var names []string
	for _, c := range t.Cols {
		if c.Gen == "" {
			names = append(names, q(c.Name))
		}
	}
	for _, row := range st.Tables[key(t)] {
		vals := make([]string, 0, len(row))
		for i, c := range row {
			if t.Cols[i].Gen == "" { // a generated column's value follows
				vals = append(vals, cellLiteral(t.Cols[i].Type, c))
			}
		}
		out = append(out, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", q(t.Name), strings.Join(names, ", "), strings.Join(vals, ", ")))
	}
	if n := st.AutoInc[key(t)]; n != "" {
		out = append(out, fmt.Sprintf("ALTER TABLE %s AUTO_INCREMENT = %s", q(t.Name), n))
	}
	return out
}

// Setup creates the tables of s on both sides and runs the seed
// statements on both, outside any global transaction.
func (e *Env) Setup(ctx context.Context, s *Schema, seed []*Stmt, seedTables []*Table) error {
	if err := e.load(ctx, false, s, nil); err != nil {
		return err
	}
	if err := e.load(ctx, true, s, nil); err != nil {
		return err
	}
	for i, st := range seed {
		t := seedTables[i]
		text, _ := st.SQL()
		for _, db := range []*sql.DB{e.at[t.DB].DB, e.mirror[t.DB].DB} {
			if _, err := db.ExecContext(ctx, text); err != nil {
				// a seed row the server rejects (out of range) is skipped on both sides
				var me *mysql.MySQLError
				if !errors.As(err, &me) {
					return err
				}
			}
		}
	}
	return nil
}

// Resync makes the mirror equal to the AT side.
func (e *Env) Resync(ctx context.Context, s *Schema) error {
	st, err := e.dump(ctx, false, s)
	if err != nil {
		return err
	}
	if err := e.load(ctx, true, s, st); err != nil {
		return err
	}
	return e.checkLoaded(ctx, true, s, st)
}

// checkLoaded verifies that side holds st: a value that does not survive
// a dump and a load is a fault of this package, not of AT.
func (e *Env) checkLoaded(ctx context.Context, mirror bool, s *Schema, st *State) error {
	got, err := e.dump(ctx, mirror, s)
	if err != nil {
		return err
	}
	if d := diff(s, st, got); d != "" {
		return fmt.Errorf("atprop: a dumped state does not load back (mirror %v):\n%s", mirror, d)
	}
	return nil
}

// outcome is what one statement did on one side.
type outcome struct {
	err          error
	rows, lastID int64
	returned     []string // rows of a RETURNING clause
}

type execer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func run(ctx context.Context, x execer, via Via, text string, args []any) outcome {
	var res sql.Result
	var err error
	switch via {
	case ViaQuery:
		rows, err := x.QueryContext(ctx, text, args...)
		if err != nil {
			return outcome{err: err}
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return outcome{err: err}
		}
		types, err := rows.ColumnTypes()
		if err != nil {
			return outcome{err: err}
		}
		var o outcome
		for rows.Next() {
			raw := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(raw))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return outcome{err: err}
			}
			row := make([]string, len(raw))
			for i, b := range raw {
				row[i] = fmt.Sprintf("%q", b)
				if b == nil {
					row[i] = "NULL"
				} else if types[i].DatabaseTypeName() == "FLOAT" {
					// The text protocol sends a FLOAT with 6 significant
					// digits, the binary one (a statement with bound
					// keys, as AT runs DELETE ... RETURNING) exactly:
					// compare at the text protocol's precision.
					if f, err := strconv.ParseFloat(string(b), 32); err == nil {
						row[i] = strconv.FormatFloat(f, 'g', 6, 32)
					}
				}
			}
			o.returned = append(o.returned, "("+strings.Join(row, ", ")+")")
		}
		if err := rows.Err(); err != nil {
			return outcome{err: err}
		}
		o.rows = int64(len(o.returned))
		return o
	case ViaPrepared:
		var st *sql.Stmt
		st, err = x.PrepareContext(ctx, text)
		if err == nil {
			res, err = st.ExecContext(ctx, args...)
			st.Close()
		}
	default:
		res, err = x.ExecContext(ctx, text, args...)
	}
	if err != nil {
		return outcome{err: err}
	}
	o := outcome{}
	o.rows, _ = res.RowsAffected()
	o.lastID, _ = res.LastInsertId()
	return o
}

func errNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// step runs one statement on the AT side, then (unless AT refused it) on
// the mirror, and compares.
func (e *Env) step(gctx context.Context, sc *Schema, at, mirror execer, s *Stmt) *Failure {
	e.Stats.Stmts++
	text, args := s.SQL()
	var before *State
	refuse := s.Refuse && !e.useLost
	if refuse {
		// a statement that must be refused is checked to change nothing
		// right away; for the others the mirror, which skips a refused
		// statement, shows any change later
		var err error
		if before, err = e.readAll(gctx, at, sc); err != nil {
			return fail("infrastructure", "read before %s: %v", text, err)
		}
	}
	a := run(gctx, at, s.Via, e.subst(false, text), args)
	if a.err != nil && hasUse(text) {
		e.useLost = true
	}
	if a.err != nil && errors.Is(a.err, datasource.ErrUnsupported) {
		if !refuse {
			e.Stats.Refused[s.Kind+": "+refusalReason(a.err)]++
			return nil
		}
		e.Stats.RefusedAsListed++
		after, err := e.readAll(gctx, at, sc)
		if err != nil {
			return fail("infrastructure", "read after %s: %v", text, err)
		}
		if d := diff(sc, before, after); d != "" {
			return fail("refused-but-changed", "%s was refused (%v) but changed rows:\n%s", text, a.err, d)
		}
		return nil
	}
	if refuse && a.err == nil {
		return fail("refusal-not-enforced", "%s ran in a global transaction; README lists it as refused", text)
	}
	if errors.Is(a.err, datasource.ErrLockConflict) {
		return fail("lock-conflict", "%s: %v (a lock left by an earlier transaction?)", text, a.err)
	}
	m := run(context.Background(), mirror, s.Via, e.subst(true, text), args)
	if refuse && m.err == nil {
		// an invalid statement may fail through AT with another error;
		// a valid one must be refused
		return fail("refusal-not-enforced", "%s failed with %v instead of datasource.ErrUnsupported, and ran as plain SQL", text, a.err).because(a.err)
	}
	switch {
	case a.err != nil && m.err == nil && abortDocumented(a.err):
		e.Stats.Documented++
		e.diverged = true
		e.aborted = true
	case (a.err == nil) != (m.err == nil) && (s.Nondet || e.diverged) && !errors.Is(a.err, datasource.ErrTxAborted):
		// AT's image and plain SQL may legitimately have picked other
		// rows (here or in an earlier statement), of which only one
		// meets a duplicate key (seed 5026: ORDER BY a tied column
		// LIMIT 1): the rollback is still compared
		e.Stats.Uncompared++
		e.diverged = true
	case a.err == nil && m.err != nil && documentedDifference(text, m.err):
		e.Stats.Documented++
		e.diverged = true
	case a.err == nil && m.err != nil:
		return fail("error-mismatch", "%s: succeeded through AT, failed as plain SQL: %v", text, m.err).because(m.err)
	case a.err != nil && m.err == nil && errors.Is(a.err, datasource.ErrTxAborted):
		return fail("aborted", "%s: aborted the local transaction through AT (%v), succeeded as plain SQL", text, a.err).because(a.err)
	case a.err != nil && m.err == nil:
		return fail("error-mismatch", "%s: failed through AT (%v), succeeded as plain SQL", text, a.err).because(a.err)
	case a.err != nil:
		// both failed: fine for the properties, though the errors may
		// differ (AT's image query can fail first, on another error)
		e.Stats.StmtErrors++
		if errNumber(a.err) != errNumber(m.err) {
			e.Stats.OtherError++
		}
		if s.Via == ViaMulti {
			// plain MySQL ran the statements before the failing one,
			// AT may have refused the whole text before running any
			// (it checks every statement first): the commit is not
			// comparable, the rollback still is
			e.diverged = true
		}
	case s.Nondet || e.diverged:
		// AT's image and plain SQL may legitimately have picked other
		// rows (here or in an earlier statement): the results are not
		// comparable, the rollback still is
		e.Stats.Uncompared++
		e.diverged = true
	case s.Via == ViaQuery && !sameReturned(text, a.returned, m.returned):
		return fail("result-mismatch", "%s: RETURNING gave through AT:\n  %s\nas plain SQL:\n  %s", text,
			strings.Join(a.returned, "\n  "), strings.Join(m.returned, "\n  ")).because("returning")
	case s.Via != ViaMulti && (a.rows != m.rows || a.lastID != m.lastID):
		return fail("result-mismatch", "%s: AT rows affected %d, last insert id %d; plain %d, %d", text, a.rows, a.lastID, m.rows, m.lastID)
	}
	return nil
}

// sameReturned reports whether the rows a RETURNING clause gave through AT
// and as plain SQL are the same. A DELETE without ORDER BY returns its rows
// in the order it deletes them, which SQL leaves open: plain SQL in the
// order of the index it scans, AT in primary key order (it deletes the
// imaged keys; seed 7339, a range over a unique column), so they are
// compared as sets.
func sameReturned(text string, at, plain []string) bool {
	if strings.Contains(strings.ToUpper(text), " ORDER BY ") || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(text)), "DELETE") {
		return reflect.DeepEqual(at, plain)
	}
	return reflect.DeepEqual(sortedCopy(at), sortedCopy(plain))
}

func sortedCopy(rows []string) []string {
	out := slices.Clone(rows)
	slices.Sort(out)
	return out
}

// hasUse reports whether text, one or several statements, has a USE.
func hasUse(text string) bool {
	for _, st := range strings.Split(strings.ToUpper(text), ";") {
		if strings.HasPrefix(strings.TrimSpace(st), "USE ") {
			return true
		}
	}
	return false
}

// documentedDifference reports whether plain SQL failing with err where AT
// succeeded is README's "known difference": an UPDATE or DELETE whose
// predicate cannot convert a value fails in a strict sql_mode with error
// 1292, while AT's imaging SELECT only warns and the write by primary key
// succeeds (on exactly the imaged rows, so its rollback is still checked).
func documentedDifference(text string, err error) bool {
	if errNumber(err) != 1292 {
		return false
	}
	for _, st := range strings.Split(strings.ToUpper(text), ";") {
		st = strings.TrimSpace(st)
		if strings.HasPrefix(st, "UPDATE ") || strings.HasPrefix(st, "DELETE ") {
			return true
		}
	}
	return false
}

// abortDocumented reports whether err is README's failure of a statement
// after it ran: an INSERT giving an auto-increment key between rows that
// generate it, not below the first generated key, may have moved the
// counter between them (TestInsertGeneratedKeysMoved in datasource), so
// the generated keys are not known exactly and the local transaction can
// only roll back. Plain SQL succeeds; the statement is in no undo log.
func abortDocumented(err error) bool {
	return strings.Contains(err.Error(), "may have moved the auto-increment counter")
}

func refusalReason(err error) string {
	var ue *datasource.UnsupportedError
	if errors.As(err, &ue) {
		return ue.Reason
	}
	return err.Error()
}

// RunTx runs gt through AT and, as one local transaction with a savepoint
// per branch, on the mirror; then checks every property. A non-nil
// Failure means the mirror may no longer equal the AT side.
func (e *Env) RunTx(ctx context.Context, s *Schema, gt *GlobalTx) (*State, *Failure, error) {
	t0 := time.Now()
	phase := func(name string) {
		now := time.Now()
		e.Stats.Phases[name] += now.Sub(t0)
		t0 = now
	}
	before, err := e.dump(ctx, false, s)
	phase("dump")
	if err != nil {
		return nil, nil, err
	}
	e.diverged = false
	e.Stats.GlobalTxs++
	gctx, gtx, err := e.client.TM().Begin(ctx, tm.TxOptions{Name: "atprop", Timeout: time.Minute})
	if err != nil {
		return before, nil, err
	}
	mconn, err := e.mirrorDB.Conn(ctx)
	if err != nil {
		return before, nil, err
	}
	defer mconn.Close()
	mtx, err := mconn.BeginTx(ctx, nil)
	if err != nil {
		return before, nil, err
	}
	defer mtx.Rollback()
	abort := func(f *Failure) (*State, *Failure, error) {
		mtx.Rollback()
		if err := gtx.Rollback(context.Background()); err != nil {
			f.Detail += fmt.Sprintf(" (global rollback after it: %v)", err)
		}
		return before, f, nil
	}
	for i, b := range gt.Branches {
		e.Stats.Branches++
		e.useLost = false
		sp := fmt.Sprintf("sp%d", i)
		if _, err := mtx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
			return before, nil, err
		}
		if _, err := mtx.ExecContext(ctx, "USE "+q(e.dbName(true, b.DB))); err != nil {
			return before, nil, err
		}
		if b.Auto {
			for _, st := range b.Stmts {
				if f := e.step(gctx, s, e.pools[b.DB], mtx, st); f != nil {
					return abort(f)
				}
			}
			continue
		}
		f, err := e.runBranch(ctx, gctx, s, b, mtx, sp)
		if err != nil {
			return before, nil, err
		}
		if f != nil {
			return abort(f)
		}
	}
	if gt.Commit {
		e.Stats.Commits++
		if err := gtx.Commit(ctx); err != nil {
			mtx.Rollback()
			return before, fail("global-end", "global commit: %v", err).because(err), nil
		}
		if err := mtx.Commit(); err != nil {
			return before, nil, err
		}
	} else {
		e.Stats.Rollbacks++
		if err := gtx.Rollback(ctx); err != nil {
			mtx.Rollback()
			return before, fail("global-end", "global rollback: %v", err).because(err), nil
		}
		mtx.Rollback()
	}
	phase("run")
	if f := e.settle(ctx, gtx, gt.Commit); f != nil {
		return before, f, nil
	}
	phase("settle")
	after, err := e.dump(ctx, false, s)
	defer phase("dump")
	if err != nil {
		return before, nil, err
	}
	if !gt.Commit {
		if d := diff(s, before, after); d != "" {
			return before, fail("rollback-mismatch", "after global rollback the tables differ from before:\n%s", d), nil
		}
	}
	if gt.Commit && (gt.nondet() || e.diverged) {
		// plain MySQL may legitimately have picked other rows, or failed
		// a statement as README documents
		return before, nil, e.Resync(ctx, s)
	}
	// Neither side rolls its auto-increment counters back: they must
	// still be equal, unless the sides ran different statements.
	d, err := e.syncAutoInc(ctx, s, after.AutoInc)
	if err != nil {
		return before, nil, err
	}
	if d != "" && !e.diverged {
		return before, fail("autoinc-mismatch", "auto-increment counters differ from the same statements run as plain SQL: %s", d), nil
	}
	if !gt.Commit {
		return before, nil, nil
	}
	m, err := e.dump(ctx, true, s)
	if err != nil {
		return before, nil, err
	}
	if d := diff(s, m, after); d != "" {
		return before, fail("commit-mismatch", "after global commit the tables differ from the same statements run as plain SQL (want = plain, got = AT):\n%s", d), nil
	}
	return before, nil, nil
}

// runBranch runs a local transaction of the global transaction.
func (e *Env) runBranch(ctx, gctx context.Context, s *Schema, b *Branch, mtx *sql.Tx, sp string) (*Failure, error) {
	conn, err := e.pools[b.DB].Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		// back to the connector's database after a USE (outside the
		// global transaction, so the statement passes through)
		conn.ExecContext(context.Background(), "USE "+q(e.dbName(false, b.DB)))
		conn.Close()
	}()
	tx, err := conn.BeginTx(gctx, nil)
	if err != nil {
		return nil, err
	}
	e.aborted = false
	for _, st := range b.Stmts {
		if f := e.step(gctx, s, tx, mtx, st); f != nil {
			tx.Rollback()
			return f, nil
		}
		if e.aborted {
			break
		}
	}
	if b.LocalRollback || e.aborted {
		tx.Rollback()
		_, err := mtx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp)
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		mtx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+sp)
		return fail("commit-failed", "local COMMIT of a branch failed through AT, succeeds as plain SQL: %v", err).because(err), nil
	}
	return nil, nil
}

// settle waits until phase two has finished and checks what it leaves.
func (e *Env) settle(ctx context.Context, gtx *tm.GlobalTx, commit bool) *Failure {
	xid := gtx.XID()
	deadline := time.Now().Add(e.Settle)
	var last string
	for {
		var ok bool
		ok, last = e.settled(ctx, gtx, commit)
		if ok {
			return nil
		}
		if strings.HasPrefix(last, "failed:") {
			return fail("phase-two-failed", "%s: %s", xid, last).because(last)
		}
		if time.Now().After(deadline) {
			return fail("settle", "%s not settled after %v: %s", xid, e.Settle, last).because(last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *Env) settled(ctx context.Context, gtx *tm.GlobalTx, commit bool) (bool, string) {
	xid := gtx.XID()
	status, err := gtx.Status(ctx)
	if err != nil {
		return false, err.Error()
	}
	switch status {
	case protocol.GlobalCommitted, protocol.GlobalRollbacked, protocol.GlobalFinished:
	case protocol.GlobalCommitFailed, protocol.GlobalRollbackFailed, protocol.GlobalTimeoutRollbackFailed,
		protocol.GlobalCommitRetryTimeout, protocol.GlobalRollbackRetryTimeout:
		return false, fmt.Sprintf("failed: global status %v", status)
	default:
		return false, fmt.Sprintf("global status %v", status)
	}
	for i := 0; i < 2; i++ {
		cond := " AND log_status = 0"
		if commit {
			cond = ""
		}
		var n int
		if err := e.at[i].DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM undo_log WHERE xid = ?"+cond, xid).Scan(&n); err != nil {
			return false, err.Error()
		}
		if n > 0 {
			return false, fmt.Sprintf("global status %v, %d undo_log rows left in db%d (commit %v)", status, n, i, commit)
		}
	}
	for _, tbl := range []string{"branch_table", "lock_table"} {
		var n int
		if err := e.tcdb.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl+" WHERE xid = ?", xid).Scan(&n); err != nil {
			return false, err.Error()
		}
		if n > 0 {
			return false, fmt.Sprintf("global status %v, %d rows left in the coordinator's %s", status, n, tbl)
		}
	}
	return true, ""
}

// diff describes how got differs from want, or returns "".
func diff(s *Schema, want, got *State) string {
	var b strings.Builder
	for _, t := range s.Tables {
		k := key(t)
		w, g := want.Tables[k], got.Tables[k]
		if reflect.DeepEqual(w, g) {
			continue
		}
		ws, gs := rowSet(t, w), rowSet(t, g)
		var lines []string
		for r := range ws {
			if !gs[r] {
				lines = append(lines, "  - "+r)
			}
		}
		for r := range gs {
			if !ws[r] {
				lines = append(lines, "  + "+r)
			}
		}
		sort.Strings(lines)
		if len(lines) == 0 {
			lines = append(lines, "  (same rows, other order or multiplicity)")
		}
		fmt.Fprintf(&b, " table %s (- wanted, + got):\n%s\n", k, strings.Join(lines, "\n"))
	}
	return b.String()
}

func rowSet(t *Table, rows Rows) map[string]bool {
	out := map[string]bool{}
	for _, r := range rows {
		out[formatRow(t, r)] = true
	}
	return out
}

// formatRow prints a row with binary cells in hex.
func formatRow(t *Table, r []*string) string {
	parts := make([]string, len(r))
	for i, c := range r {
		if c == nil {
			parts[i] = t.Cols[i].Name + "=NULL"
			continue
		}
		switch t.Cols[i].Type.kind {
		case kBinary, kBit:
			parts[i] = t.Cols[i].Name + "=" + hexLit(*c)
		default:
			parts[i] = t.Cols[i].Name + "=" + fmt.Sprintf("%q", *c)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

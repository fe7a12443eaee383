// Command atcc-bench compares an AT global transaction with a plain local
// transaction doing the same work: a transfer between two distinct random
// rows of one accounts table (two UPDATEs, then COMMIT).
//
//	go run ./cmd/atcc-bench [-dsn root@tcp(127.0.0.1:3306)/] [-duration 5s] [-accounts 1000] [-concurrency 1,8] [-multi] [-db-delay 250us]
//	go run ./cmd/atcc-bench -hot [-accounts 5] [-concurrency 32] [-duration 20s] [-abort 0.05]
//
// It creates (or resets) the database atcc_bench (-db) with an accounts table
// and an undo_log table, runs an embedded coordinator with the memory store in
// the same process, and measures each mode at concurrency 1 and 8: throughput,
// latency percentiles, and heap allocations per transaction (the whole
// process's, coordinator included). The AT rows show their ratio to the local
// rows of the same concurrency. Beside its own CPU per transaction it reports
// that of the database server (-watch: processes by command name, Linux), so
// that the whole cost of a transaction on the machine shows; with
// -coordinator it uses a coordinator run apart (atcc-tc, also watched), and
// its own Go CPU column is then the client's alone. -modes measures one mode
// alone, for profiling. -db-delay puts the database one network hop away:
// both pools reach it through a proxy in the process that delays every
// chunk of bytes each way (the proxy's CPU then counts in the Go column),
// and the bench first prints the SELECT 1 round trip it adds.
//
// With -hot it measures hot rows instead: many workers transferring among a
// few accounts, as plain local transactions and as AT global transactions
// run with tm.Manager.WithGlobalTx and its default options (a transfer that
// loses a conflict is rolled back and run again). It reports, for each mode,
// the transfers attempted and committed, the retries inside them, the
// goodput (committed transfers per second), and whether the balances still
// sum to their initial total. The two modes run in alternating 2 s slices,
// so that both see the same load from the rest of the machine.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/atcc-go/atcc"
	"github.com/atcc-go/atcc/datasource"
	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/tc"
	"github.com/atcc-go/atcc/tm"
	"github.com/atcc-go/atcc/undo"
)

const (
	initialBalance = 1_000_000
	warmup         = 300 * time.Millisecond
)

// Targets issue 18 sets for AT against local.
const (
	minThroughputRatio = 0.65 // at concurrency 8
	maxLatencyRatio    = 2.0  // p50, at concurrency 1
)

func main() {
	exit := 0
	defer func() { os.Exit(exit) }()
	dsn := flag.String("dsn", "root@tcp(127.0.0.1:3306)/", "MySQL/MariaDB server (go-sql-driver/mysql DSN; the database name is ignored)")
	duration := flag.Duration("duration", 5*time.Second, "measuring time of each mode and concurrency")
	accounts := flag.Int("accounts", 1000, "rows in the accounts table")
	levels := flag.String("concurrency", "1,8", "comma-separated concurrency levels to measure")
	flag.StringVar(&modes, "modes", "local,at", "comma-separated modes to measure: local, at (without -hot)")
	coordinator := flag.String("coordinator", "", "address of a coordinator to use instead of the embedded one (e.g. atcc-tc run apart,\n"+
		"so that the Go CPU column is the client's alone)")
	watch := flag.String("watch", "mariadbd,mysqld,atcc-tc", "comma-separated command names of other processes whose CPU per transaction\n"+
		"gets a column each (Linux: /proc); names without a running process are skipped")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file (every allocation sampled: slower)")
	hot := flag.Bool("hot", false, "hot rows: many workers on few accounts, AT (WithGlobalTx) vs local, with retries and a sum check;\n"+
		"defaults then become -accounts 5 -concurrency 32 -duration 20s")
	flag.StringVar(&dbName, "db", "atcc_bench", "the database to create (or reset) and use")
	flag.Float64Var(&abortRate, "abort", 0, "with -hot: the fraction of transfers that fail on purpose after their updates (AT: after the branch\n"+
		"committed locally, so that the global rollback undoes it); they are counted apart")
	flag.IntVar(&lockRetries, "lock-retries", 0, "datasource.Config.LockRetries (0: its default)")
	flag.DurationVar(&lockRetryInterval, "lock-retry-interval", 0, "datasource.Config.LockRetryInterval (0: its default)")
	flag.BoolVar(&multiStatements, "multi", false, "open the AT pool with multiStatements=true and datasource.Config.MultiStatements: each branch's\n"+
		"undo log INSERT and COMMIT in one query (the local pool is unchanged)")
	flag.DurationVar(&dbDelay, "db-delay", 0, "put the database one network hop away: a proxy in front of -dsn's address delays every chunk of bytes\n"+
		"by this much each way (round trip twice that), for both pools; the coordinator stays on loopback (0: no proxy)")
	flag.Parse()
	if *hot {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["accounts"] {
			*accounts = 5
		}
		if !set["concurrency"] {
			*levels = "32"
		}
		if !set["duration"] {
			*duration = 20 * time.Second
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "atcc-bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "atcc-bench:", err)
			os.Exit(1)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		defer func() {
			if err := writeAllocs(*memProfile); err != nil {
				fmt.Fprintln(os.Stderr, "atcc-bench:", err)
				exit = 1
			}
		}()
	}
	var concs []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "atcc-bench: bad -concurrency %q\n", *levels)
			exit = 2
			return
		}
		concs = append(concs, n)
	}
	if *hot && len(concs) != 1 {
		fmt.Fprintln(os.Stderr, "atcc-bench: -hot takes one -concurrency level")
		exit = 2
		return
	}
	others = findProcesses(strings.Split(*watch, ","))
	if err := run(*dsn, *coordinator, *duration, *accounts, concs, *hot); err != nil {
		fmt.Fprintln(os.Stderr, "atcc-bench:", err)
		exit = 1
	}
}

// writeAllocs writes the allocation profile (go tool pprof
// -sample_index=alloc_objects) to path. The profile holds the allocations as
// of the last completed collection, so it collects first: without that the
// allocations since then were missing (a 5s AT run: 102 -> 129 per tx in the
// profile). It still counts fewer than allocs/tx: tiny pointer-free
// allocations packed into an existing 16-byte block are never profiled.
func writeAllocs(path string) error {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The data source's global lock settings, from the flags.
var (
	lockRetries       int
	lockRetryInterval time.Duration
	abortRate         float64
	modes             string
	others            []watched // processes whose CPU is reported beside the bench's own
	dbName            string
	multiStatements   bool
	dbDelay           time.Duration
)

// result is one measured run.
type result struct {
	mode        string
	concurrency int
	txs         int
	errors      int
	elapsed     time.Duration
	p50, p99    time.Duration
	allocs      float64
	cpu         time.Duration   // the process's CPU time (Go: client and coordinator) per transaction
	othersCPU   []time.Duration // per transaction, of each of others; -1 if unreadable
}

func (r result) tps() float64 { return float64(r.txs) / r.elapsed.Seconds() }

// transferFunc moves amount from one account to another.
type transferFunc func(ctx context.Context, from, to int) error

func run(dsn, coordinator string, duration time.Duration, accounts int, concs []int, hot bool) error {
	if accounts < 2 {
		return errors.New("-accounts must be at least 2")
	}
	rpc.SetGettyLogger(slog.New(slog.DiscardHandler))
	ctx := context.Background()
	mcfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	if dbDelay > 0 {
		proxy, err := delayDatabase(ctx, mcfg)
		if err != nil {
			return err
		}
		defer proxy.Close()
	}
	local, target, err := setup(ctx, mcfg, accounts)
	if err != nil {
		return err
	}
	defer local.Close()

	if coordinator == "" {
		srv, err := tc.New(tc.Config{})
		if err != nil {
			return err
		}
		if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
			return err
		}
		defer srv.Close()
		coordinator = srv.Addr().String()
	}
	client, err := atcc.New(atcc.Config{ApplicationID: "atcc-bench", Coordinators: []string{coordinator}})
	if err != nil {
		return err
	}
	defer client.Close()
	if multiStatements {
		target = target.Clone()
		target.MultiStatements = true
	}
	mc, err := mysql.NewConnector(target)
	if err != nil {
		return err
	}
	conn, err := datasource.NewConnector(mc, client, datasource.Config{
		ResourceID: "atcc-bench/" + dbName, LockRetries: lockRetries, LockRetryInterval: lockRetryInterval,
		MultiStatements: multiStatements,
	})
	if err != nil {
		return err
	}
	at := sql.OpenDB(conn)
	defer at.Close()
	if err := client.Ping(ctx); err != nil {
		return err
	}
	for _, db := range []*sql.DB{local, at} {
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	}

	if hot {
		return runHotRows(ctx, local, at, client, concs[0], accounts, abortRate, duration)
	}

	localTransfer := func(ctx context.Context, from, to int) error { return transfer(ctx, local, from, to) }
	atTransfer := func(ctx context.Context, from, to int) error {
		gctx, gtx, err := client.TM().Begin(ctx, tm.TxOptions{Name: "transfer"})
		if err != nil {
			return err
		}
		if err := transfer(gctx, at, from, to); err != nil {
			return errors.Join(err, gtx.Rollback(ctx))
		}
		return gtx.Commit(ctx)
	}

	var results []result
	steps, step := len(strings.Split(modes, ","))*len(concs), 0
	for _, conc := range concs {
		for _, m := range []struct {
			name string
			fn   transferFunc
		}{{"local", localTransfer}, {"at", atTransfer}} {
			if !slices.Contains(strings.Split(modes, ","), m.name) {
				continue
			}
			step++
			left := time.Duration(steps-step+1) * (warmup + duration)
			fmt.Fprintf(os.Stderr, "atcc-bench: %d/%d: %s, concurrency %d, %v (about %v left)\n", step, steps, m.name, conc, duration, left)
			measure(ctx, m.fn, conc, accounts, warmup, nil) // fill caches and pools
			r := measure(ctx, m.fn, conc, accounts, duration, os.Stderr)
			r.mode = m.name
			results = append(results, r)
		}
	}
	report(results)

	var sum, n int64
	if err := local.QueryRowContext(ctx, "SELECT SUM(balance), COUNT(*) FROM accounts").Scan(&sum, &n); err != nil {
		return err
	}
	if sum != n*initialBalance {
		return fmt.Errorf("balances sum to %d, want %d: money was created or lost", sum, n*initialBalance)
	}
	fmt.Printf("\nbalances check: %d accounts sum to %d (unchanged)\n", n, sum)
	return nil
}

// delayDatabase starts a delayProxy of dbDelay in front of cfg's server,
// points cfg at it, and prints the round trip of SELECT 1 without and
// with it: the delay the proxy actually adds.
func delayDatabase(ctx context.Context, cfg *mysql.Config) (*delayProxy, error) {
	if cfg.Net != "tcp" {
		return nil, fmt.Errorf("-db-delay needs a tcp -dsn, not %q", cfg.Net)
	}
	const n = 1000
	direct, err := roundTrip(ctx, cfg, n)
	if err != nil {
		return nil, err
	}
	proxy, err := startDelayProxy(cfg.Addr, dbDelay)
	if err != nil {
		return nil, err
	}
	cfg.Addr = proxy.Addr()
	delayed, err := roundTrip(ctx, cfg, n)
	if err != nil {
		proxy.Close()
		return nil, err
	}
	fmt.Printf("db-delay %v (round trip %v): SELECT 1, median of %d: %v direct, %v through the proxy (+%v)\n\n",
		dbDelay, 2*dbDelay, n, direct.Round(time.Microsecond), delayed.Round(time.Microsecond), (delayed - direct).Round(time.Microsecond))
	return proxy, nil
}

// setup creates or resets the bench database and returns a raw pool and a
// connector on it.
func setup(ctx context.Context, mcfg *mysql.Config, accounts int) (*sql.DB, *mysql.Config, error) {
	admin := mcfg.Clone()
	admin.DBName = ""
	adb, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		return nil, nil, err
	}
	defer adb.Close()
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+dbName+"`"); err != nil {
		return nil, nil, err
	}
	cfg := mcfg.Clone()
	cfg.DBName = dbName
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, nil, err
	}
	stmts := []string{
		"DROP TABLE IF EXISTS accounts",
		"CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)",
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	if err := undo.CreateTable(ctx, db, ""); err != nil {
		db.Close()
		return nil, nil, err
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM undo_log"); err != nil {
		db.Close()
		return nil, nil, err
	}
	for lo := 1; lo <= accounts; lo += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO accounts VALUES ")
		for id := lo; id < lo+1000 && id <= accounts; id++ {
			if id > lo {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d,%d)", id, initialBalance)
		}
		if _, err := db.ExecContext(ctx, b.String()); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	return db, cfg, nil
}

// transfer moves 1 from one account to another in a local transaction of
// db (a branch when ctx carries an XID). Rows are updated in key order, so
// that concurrent transfers cannot deadlock.
func transfer(ctx context.Context, db *sql.DB, from, to int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := transferUpdates(ctx, tx, from, to); err != nil {
		return err
	}
	return tx.Commit()
}

// transferUpdates moves 1 from one account to another in tx, updating the
// rows in key order.
func transferUpdates(ctx context.Context, tx *sql.Tx, from, to int) error {
	first, second, amount := from, to, -1
	if first > second {
		first, second, amount = second, first, 1
	}
	if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + ? WHERE id = ?", amount, first); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + ? WHERE id = ?", -amount, second)
	return err
}

// measure runs fn from conc goroutines for d, writing a progress line to
// progress (when not nil) every progressEvery.
func measure(ctx context.Context, fn transferFunc, conc, accounts int, d time.Duration, progress io.Writer) result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		firstErr  atomic.Pointer[error] // the first failure, reported on progress
		wg        sync.WaitGroup
	)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := processCPU()
	others0 := make([]time.Duration, len(others))
	for i, w := range others {
		others0[i] = w.cpu()
	}
	start := time.Now()
	deadline := start.Add(d)
	var done atomic.Int64
	if progress != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(progressEvery)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					fmt.Fprintf(progress, "atcc-bench:   %v of %v: %d transactions\n",
						time.Since(start).Round(time.Second), d, done.Load())
				}
			}
		}()
	}
	for range conc {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				from := rand.IntN(accounts) + 1
				to := rand.IntN(accounts-1) + 1
				if to >= from {
					to++
				}
				t0 := time.Now()
				if err := fn(ctx, from, to); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				mine = append(mine, time.Since(t0))
				done.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil && progress != nil {
		fmt.Fprintf(progress, "atcc-bench:   %d failed transactions; the first: %v\n", failures.Load(), *e)
	}
	runtime.ReadMemStats(&after)
	cpu := processCPU() - cpu0
	slices.Sort(latencies)
	r := result{concurrency: conc, txs: len(latencies), errors: int(failures.Load()), elapsed: elapsed}
	if n := len(latencies); n > 0 {
		r.p50 = latencies[n/2]
		r.p99 = latencies[min(n-1, n*99/100)]
		r.allocs = float64(after.Mallocs-before.Mallocs) / float64(n)
		r.cpu = cpu / time.Duration(n)
		for i, w := range others {
			c := w.cpu()
			if c < 0 || others0[i] < 0 {
				r.othersCPU = append(r.othersCPU, -1)
				continue
			}
			r.othersCPU = append(r.othersCPU, (c-others0[i])/time.Duration(n))
		}
	}
	return r
}

func report(results []result) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "mode\tconcurrency\ttx/s\tp50\tp99\tallocs/tx\tGo CPU/tx\t"
	for _, o := range others {
		head += o.name + " CPU/tx\t"
	}
	fmt.Fprintln(w, head+"errors\ttx/s b/a\tp50 b/a\t")
	base := map[int]result{}
	for _, r := range results {
		ratioT, ratioL := "", ""
		if r.mode == "local" {
			base[r.concurrency] = r
		} else if b, ok := base[r.concurrency]; ok && b.txs > 0 && r.txs > 0 {
			ratioT = fmt.Sprintf("%.2f", r.tps()/b.tps())
			ratioL = fmt.Sprintf("%.2f", float64(r.p50)/float64(b.p50))
		}
		fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t%s\t%.0f\t%s\t", r.mode, r.concurrency, r.tps(),
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.allocs, r.cpu.Round(time.Microsecond))
		for _, c := range r.othersCPU {
			if c < 0 {
				fmt.Fprint(w, "-\t")
			} else {
				fmt.Fprintf(w, "%s\t", c.Round(time.Microsecond))
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t\n", r.errors, ratioT, ratioL)
	}
	w.Flush()
	for _, r := range results {
		b := base[r.concurrency]
		if r.mode != "at" || b.txs == 0 || r.txs == 0 {
			continue
		}
		switch r.concurrency {
		case 8:
			verdict(fmt.Sprintf("throughput b/a at concurrency 8 = %.2f (target >= %.2f)", r.tps()/b.tps(), minThroughputRatio), r.tps()/b.tps() >= minThroughputRatio)
		case 1:
			l := float64(r.p50) / float64(b.p50)
			verdict(fmt.Sprintf("p50 latency b/a at concurrency 1 = %.2f (target <= %.1f)", l, maxLatencyRatio), l <= maxLatencyRatio)
		}
	}
}

func verdict(what string, ok bool) {
	if ok {
		fmt.Println("met:    ", what)
	} else {
		fmt.Println("missed: ", what)
	}
}

// progressEvery is the period of the progress lines of a long measurement.
const progressEvery = 5 * time.Second

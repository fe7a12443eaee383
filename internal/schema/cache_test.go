package schema

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/atcc-go/atcc/internal/testdb"
)

func TestCacheLoadsMetadata(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE `Order Lines` ("+
		" id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,"+
		" `Line` INT NOT NULL,"+
		" sku VARCHAR(32) NULL,"+
		" qty INT NOT NULL DEFAULT 1,"+
		" total INT AS (qty * 2) VIRTUAL,"+
		" stored_total INT AS (qty * 3) STORED,"+
		" changed TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),"+
		" PRIMARY KEY (`Line`, id), UNIQUE KEY uk_sku (sku, qty), UNIQUE KEY a_single (qty, changed), KEY k_sku (sku), KEY k_id (id))")
	c := NewCache(d.DB)
	tb, err := c.Table(context.Background(), "", "Order Lines")
	if err != nil {
		t.Fatal(err)
	}
	if tb.Schema != d.Name || tb.Name != "Order Lines" {
		t.Fatalf("names: %q.%q", tb.Schema, tb.Name)
	}
	want := []Column{
		{Name: "id", Position: 1, DataType: "bigint", ColumnType: "bigint(20) unsigned", Unsigned: true, AutoIncrement: true},
		{Name: "Line", Position: 2, DataType: "int", ColumnType: "int(11)"},
		{Name: "sku", Position: 3, DataType: "varchar", ColumnType: "varchar(32)", Nullable: true},
		{Name: "qty", Position: 4, DataType: "int", ColumnType: "int(11)"},
		{Name: "total", Position: 5, DataType: "int", ColumnType: "int(11)", Nullable: true, Generated: true},
		{Name: "stored_total", Position: 6, DataType: "int", ColumnType: "int(11)", Nullable: true, Generated: true},
		{Name: "changed", Position: 7, DataType: "timestamp", ColumnType: "timestamp(6)", OnUpdate: true},
	}
	if !slices.Equal(tb.Columns, want) {
		t.Fatalf("columns:\n got %+v\nwant %+v", tb.Columns, want)
	}
	if !slices.Equal(tb.PrimaryKey, []string{"Line", "id"}) {
		t.Fatalf("primary key %v", tb.PrimaryKey)
	}
	if len(tb.UniqueKeys) != 2 || tb.UniqueKeys[0].Name != "a_single" || tb.UniqueKeys[1].Name != "uk_sku" ||
		!slices.Equal(tb.UniqueKeys[1].Columns, []string{"sku", "qty"}) {
		t.Fatalf("unique keys %+v", tb.UniqueKeys)
	}
	if tb.Column("LINE") == nil || tb.Column("Sku").Name != "sku" {
		t.Fatal("case-insensitive column lookup")
	}
	// Explicit schema and cache hit return the same metadata.
	tb2, err := c.Table(context.Background(), d.Name, "Order Lines")
	if err != nil || tb2.Name != tb.Name {
		t.Fatal(tb2, err)
	}
	if again, _ := c.Table(context.Background(), "", "Order Lines"); again != tb {
		t.Fatal("cache hit returned a different table")
	}
}

func TestCacheTableNotFound(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE account (id INT PRIMARY KEY)")
	c := NewCache(d.DB)
	_, err := c.Table(context.Background(), "", "missing")
	var nf *TableNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrTableNotFound) || nf.Name != "missing" || nf.Schema != d.Name {
		t.Fatalf("got %v", err)
	}
	// Failed loads are not cached.
	d.Exec(t, "CREATE TABLE missing (id INT PRIMARY KEY)")
	if _, err := c.Table(context.Background(), "", "missing"); err != nil {
		t.Fatal(err)
	}
}

func TestCacheTableNameCase(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE account (id INT PRIMARY KEY)")
	c := NewCache(d.DB)
	var lctn int
	if err := d.DB.QueryRow("SELECT @@lower_case_table_names").Scan(&lctn); err != nil {
		t.Fatal(err)
	}
	_, err := c.Table(context.Background(), "", "ACCOUNT")
	if lctn == 0 && !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("case-sensitive server: ACCOUNT resolved: %v", err)
	}
	if lctn != 0 && err != nil {
		t.Fatalf("case-folding server: %v", err)
	}

	// On a server that folds names, the case-insensitive fallback finds the
	// stored name. Pretend this server does.
	folding := NewCache(d.DB)
	yes := true
	folding.foldNames.Store(&yes)
	tb, err := folding.Table(context.Background(), "", "ACCOUNT")
	if err != nil || tb.Name != "account" {
		t.Fatalf("folded lookup: %v %v", tb, err)
	}
	if lctn == 0 {
		// Two tables differing only in case: ambiguous, not found.
		d.Exec(t, "CREATE TABLE Account (id INT PRIMARY KEY)")
		folding.Invalidate("", "ACCOUNT")
		if _, err := folding.Table(context.Background(), "", "ACCOUNT"); !errors.Is(err, ErrTableNotFound) {
			t.Fatalf("ambiguous: %v", err)
		}
		// Exact names still win.
		if tb, err := folding.Table(context.Background(), "", "Account"); err != nil || tb.Name != "Account" {
			t.Fatalf("exact: %v %v", tb, err)
		}
	}
}

func TestCacheConcurrentMissLoadsOnce(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	c := NewCache(d.DB)
	if _, err := c.defaultSchema(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 32
	var wg sync.WaitGroup
	tables := make([]*Table, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			tables[i], errs[i] = c.Table(context.Background(), "", "t")
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || tables[i] != tables[0] {
			t.Fatalf("goroutine %d: %v %p %p", i, errs[i], tables[i], tables[0])
		}
	}
	if got := c.loads.Load(); got != 1 {
		t.Fatalf("%d loads, want 1", got)
	}
}

func TestCacheRefreshAndInvalidate(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	c := NewCache(d.DB)
	ctx := context.Background()
	old, err := c.Table(ctx, "", "t")
	if err != nil {
		t.Fatal(err)
	}
	d.Exec(t, "ALTER TABLE t ADD COLUMN v INT")
	if tb, _ := c.Table(ctx, "", "t"); tb.Column("v") != nil {
		t.Fatal("cache saw DDL without refresh")
	}
	tb, err := c.Refresh(ctx, "", "t")
	if err != nil || tb.Column("v") == nil || tb == old {
		t.Fatalf("refresh: %v %v", tb, err)
	}
	if got, _ := c.Table(ctx, "", "t"); got != tb {
		t.Fatal("refresh not cached")
	}
	d.Exec(t, "ALTER TABLE t ADD COLUMN w INT")
	c.Invalidate(d.Name, "T") // other case, explicit schema: still drops the "" entry
	if tb, _ := c.Table(ctx, "", "t"); tb.Column("w") == nil {
		t.Fatal("invalidate did not drop the entry")
	}
}

func TestCacheCanceledLoadNotCached(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	c := NewCache(d.DB)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Table(ctx, "", "t"); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if _, err := c.Table(context.Background(), "", "t"); err != nil {
		t.Fatal(err)
	}
}

func TestSelectByPrimaryKeyRuns(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE `we``ird` (`a``b` INT, `c d` VARCHAR(8), v INT, PRIMARY KEY (`a``b`, `c d`))")
	for i := range 10 {
		d.Exec(t, fmt.Sprintf("INSERT INTO `we``ird` VALUES (%d, 'k%d', %d)", i, i, i*10))
	}
	c := NewCache(d.DB)
	tb, err := c.Table(context.Background(), "", "we`ird")
	if err != nil {
		t.Fatal(err)
	}
	q, err := tb.SelectByPrimaryKey([]string{"V"}, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(q, 1, "k1", 5, "k5", 7, "nope")
	if err != nil {
		t.Fatal(q, err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{10, 50}) {
		t.Fatalf("got %v", got)
	}
}

// TestPrimaryKeyInUsesTheKey guards against plans that scan (and lock) the
// whole table: MariaDB does so for DELETE with a one-element row IN.
func TestPrimaryKeyInUsesTheKey(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE one (id BIGINT PRIMARY KEY, v INT)",
		"CREATE TABLE two (a VARCHAR(16), b BIGINT, v INT, PRIMARY KEY (a, b))",
		"INSERT INTO one SELECT seq, seq FROM seq_1_to_2000",
		"INSERT INTO two SELECT CONCAT('k', seq), seq, seq FROM seq_1_to_2000",
		"ANALYZE TABLE one, two")
	c := NewCache(d.DB)
	for _, name := range []string{"one", "two"} {
		tb, err := c.Table(context.Background(), "", name)
		if err != nil {
			t.Fatal(err)
		}
		for _, keys := range []int{1, 3} {
			pred, err := tb.PrimaryKeyIn(keys)
			if err != nil {
				t.Fatal(err)
			}
			sel, _ := tb.SelectByPrimaryKey(nil, keys, true)
			for _, q := range []string{"DELETE FROM " + tb.QuotedName() + " WHERE " + pred, sel} {
				args := make([]any, 0, keys*2)
				for i := range keys {
					if name == "two" {
						args = append(args, fmt.Sprintf("k%d", i+1))
					}
					args = append(args, i+1)
				}
				var id, selectType, table string
				var typ, possible, key, keyLen, ref, rows, extra any
				if err := d.DB.QueryRow("EXPLAIN "+q, args...).Scan(&id, &selectType, &table, &typ, &possible, &key, &keyLen, &ref, &rows, &extra); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if fmt.Sprintf("%s", typ) == "ALL" {
					t.Errorf("full table scan: %s", q)
				}
			}
		}
	}
}

// SetMaxAge expires entries: a lookup after the age reloads the table and
// sees a column added since; before it, the cached copy is served.
func TestCacheMaxAge(t *testing.T) {
	d := testdb.Create(t)
	d.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	c := NewCache(d.DB)
	ctx := context.Background()
	if _, err := c.Table(ctx, "", "t"); err != nil {
		t.Fatal(err)
	}
	d.Exec(t, "ALTER TABLE t ADD COLUMN h INT INVISIBLE")
	tb, err := c.Table(ctx, "", "t")
	if err != nil || len(tb.Columns) != 1 || c.loads.Load() != 1 {
		t.Fatalf("no max age: %v columns, %d loads, %v", tb, c.loads.Load(), err)
	}
	c.SetMaxAge(1) // a nanosecond: every lookup reloads
	tb, err = c.Table(ctx, "", "t")
	if err != nil || len(tb.Columns) != 2 || !tb.Columns[1].Invisible || c.loads.Load() != 2 {
		t.Fatalf("after max age: %+v, %d loads, %v", tb, c.loads.Load(), err)
	}
	c.SetMaxAge(0)
	if _, err := c.Table(ctx, "", "t"); err != nil || c.loads.Load() != 2 {
		t.Fatalf("max age off: %d loads, %v", c.loads.Load(), err)
	}
}

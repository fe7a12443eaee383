package schema

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func testTable(pk ...string) *Table {
	t := &Table{
		Schema: "shop",
		Name:   "order`items",
		Columns: []Column{
			{Name: "order_id", Position: 1, DataType: "bigint"},
			{Name: "Line", Position: 2, DataType: "int"},
			{Name: "sku", Position: 3, DataType: "varchar"},
		},
		PrimaryKey: pk,
	}
	t.index()
	return t
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"a":          "`a`",
		"":           "``",
		"a`b":        "`a``b`",
		"``":         "``````",
		"select":     "`select`",
		"x`; DROP t": "`x``; DROP t`",
		"😀 col":      "`😀 col`",
	} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPrimaryKeyIn(t *testing.T) {
	got, err := testTable("order_id").PrimaryKeyIn(3)
	if err != nil || got != "`order_id` IN (?,?,?)" {
		t.Fatalf("single: %q, %v", got, err)
	}
	got, err = testTable("order_id", "Line").PrimaryKeyIn(2)
	if err != nil || got != "((`order_id`=? AND `Line`=?) OR (`order_id`=? AND `Line`=?))" {
		t.Fatalf("composite: %q, %v", got, err)
	}
	got, err = testTable("order_id", "Line").PrimaryKeyIn(1)
	if err != nil || got != "(`order_id`=? AND `Line`=?)" {
		t.Fatalf("composite, one key: %q, %v", got, err)
	}
	if _, err := testTable().PrimaryKeyIn(1); !errors.Is(err, ErrNoPrimaryKey) {
		t.Fatalf("no pk: %v", err)
	}
	for _, n := range []int{0, -1, MaxKeysPerStatement + 1} {
		if _, err := testTable("order_id").PrimaryKeyIn(n); err == nil {
			t.Fatalf("keys=%d: no error", n)
		}
	}
	got, _ = testTable("order_id").PrimaryKeyIn(MaxKeysPerStatement)
	if strings.Count(got, "?") != MaxKeysPerStatement {
		t.Fatalf("max keys: %d placeholders", strings.Count(got, "?"))
	}
}

func TestSelectByPrimaryKey(t *testing.T) {
	tb := testTable("order_id", "Line")
	got, err := tb.SelectByPrimaryKey([]string{"SKU", "line", "order_id"}, 1, true)
	want := "SELECT `sku`,`Line`,`order_id` FROM `shop`.`order``items` WHERE (`order_id`=? AND `Line`=?) FOR UPDATE"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	got, err = tb.SelectByPrimaryKey(nil, 2, false)
	want = "SELECT `order_id`,`Line`,`sku` FROM `shop`.`order``items` WHERE ((`order_id`=? AND `Line`=?) OR (`order_id`=? AND `Line`=?))"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	_, err = tb.SelectByPrimaryKey([]string{"sku", "nope`"}, 1, false)
	var ce *ColumnNotFoundError
	if !errors.As(err, &ce) || !errors.Is(err, ErrColumnNotFound) || ce.Column != "nope`" {
		t.Fatalf("unknown column: %v", err)
	}
	if _, err := tb.SelectByPrimaryKey([]string{}, 1, false); err == nil {
		t.Fatal("empty column list accepted")
	}
	if _, err := testTable().SelectByPrimaryKey(nil, 1, false); !errors.Is(err, ErrNoPrimaryKey) {
		t.Fatalf("no pk: %v", err)
	}
}

func TestColumnLookup(t *testing.T) {
	tb := testTable("order_id")
	if c := tb.Column("line"); c == nil || c.Name != "Line" {
		t.Fatalf("case-insensitive lookup: %+v", c)
	}
	if c := tb.Column("Line"); c == nil || c.Position != 2 {
		t.Fatalf("exact lookup: %+v", c)
	}
	if tb.Column("missing") != nil || tb.ColumnIndex("missing") != -1 {
		t.Fatal("missing column found")
	}
	if tb.QuotedName() != "`shop`.`order``items`" {
		t.Fatal(tb.QuotedName())
	}
}

func BenchmarkCacheHit(b *testing.B) {
	c := NewCache(nil) // never queried: the entry is already loaded
	e := &entry{ready: make(chan struct{}), table: testTable("order_id")}
	close(e.ready)
	c.entries.Store(cacheKey{"", "order_items"}, e)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Table(ctx, "", "order_items"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSelectByPrimaryKey(b *testing.B) {
	tb := testTable("order_id", "Line")
	cols := []string{"order_id", "Line", "sku"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.SelectByPrimaryKey(cols, 1, true); err != nil {
			b.Fatal(err)
		}
	}
}

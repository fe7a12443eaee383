package sqlparse

import "testing"

const (
	benchUpdate      = "UPDATE account SET balance = balance - ? WHERE id = ?"
	benchInsert3     = "INSERT INTO account (id, name, balance) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)"
	benchMultiUpdate = "UPDATE orders o JOIN account a ON a.id = o.account_id SET o.status = ?, a.balance = a.balance - o.amount WHERE o.id = ? AND a.region = ?"
)

func benchParse(b *testing.B, q string) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUpdateCold parses the typical AT statement without a cache.
func BenchmarkParseUpdateCold(b *testing.B) { benchParse(b, benchUpdate) }

// BenchmarkParseInsert3Rows parses a 3-row INSERT without a cache.
func BenchmarkParseInsert3Rows(b *testing.B) { benchParse(b, benchInsert3) }

// BenchmarkParseMultiTableUpdate parses an UPDATE ... JOIN without a cache.
func BenchmarkParseMultiTableUpdate(b *testing.B) { benchParse(b, benchMultiUpdate) }

// BenchmarkParseUpdateCached is a cache hit.
func BenchmarkParseUpdateCached(b *testing.B) {
	p := New(Config{})
	if _, err := p.Parse(benchUpdate); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(benchUpdate); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUpdateCachedParallel is cache hits from all Ps at once.
func BenchmarkParseUpdateCachedParallel(b *testing.B) {
	p := New(Config{})
	if _, err := p.Parse(benchUpdate); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Parse(benchUpdate); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

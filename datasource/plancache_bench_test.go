package datasource

import (
	"strconv"
	"testing"
)

// BenchmarkPlanCacheHit measures a plan cache hit from parallel goroutines
// (the hot path of every statement in a global transaction) with a full
// cache.
func BenchmarkPlanCacheHit(b *testing.B) {
	var c planCache
	texts := make([]string, planCacheSize)
	for i := range texts {
		texts[i] = "SELECT * FROM t WHERE id IN (" + strconv.Itoa(i) + ")"
		c.put(texts[i], &plan{})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if c.get(texts[i%64]) == nil {
				b.Fatal("miss")
			}
			i++
		}
	})
}

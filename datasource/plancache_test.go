package datasource

import (
	"strconv"
	"sync"
	"testing"
)

func planText(i int) string { return "SELECT * FROM t WHERE id IN (" + strconv.Itoa(i) + ")" }

// TestPlanCacheEvictsOneAtATime fills the cache past its size with texts
// used once (an ORM's IN lists) while a working set keeps being used: the
// cache stays full, and the working set stays in it. The old cache dropped
// every plan when it was full.
func TestPlanCacheEvictsOneAtATime(t *testing.T) {
	var c planCache
	hot := make([]*plan, 16)
	for i := range hot {
		hot[i] = &plan{}
		c.put("hot "+strconv.Itoa(i), hot[i])
	}
	for i := range 10 * planCacheSize {
		for j := range hot {
			if got := c.get("hot " + strconv.Itoa(j)); got != hot[j] {
				t.Fatalf("after %d one-off texts, hot plan %d is gone", i, j)
			}
		}
		c.put(planText(i), &plan{})
		if n := c.len(); n != min(len(hot)+i+1, planCacheSize) {
			t.Fatalf("after %d one-off texts the cache holds %d plans", i+1, n)
		}
	}
	// The most recent one-off texts are still there.
	if c.get(planText(10*planCacheSize-1)) == nil {
		t.Fatal("the newest plan was evicted")
	}
	c.clear()
	if c.len() != 0 || c.get("hot 0") != nil {
		t.Fatal("clear kept plans")
	}
}

// TestPlanCacheConcurrent runs gets and puts from several goroutines, for
// -race, and checks the bound.
func TestPlanCacheConcurrent(t *testing.T) {
	var c planCache
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * planCacheSize {
				q := planText(g*10*planCacheSize + i)
				c.put(q, &plan{})
				c.get(q)
				c.get(planText(i % 64))
				if i%64 == 0 {
					c.put(planText(i%64), &plan{})
				}
			}
		})
	}
	wg.Wait()
	if n := c.len(); n != planCacheSize {
		t.Fatalf("cache holds %d plans, want %d", n, planCacheSize)
	}
}

// BenchmarkPlanCacheHit measures a plan cache hit from parallel goroutines
// (the hot path of every statement in a global transaction) with a full
// cache.
func BenchmarkPlanCacheHit(b *testing.B) {
	var c planCache
	texts := make([]string, planCacheSize)
	for i := range texts {
		texts[i] = planText(i)
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

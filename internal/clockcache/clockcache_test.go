package clockcache

import (
	"strconv"
	"sync"
	"testing"
)

const size = 1024

func text(i int) string { return "SELECT * FROM t WHERE id IN (" + strconv.Itoa(i) + ")" }

// TestEvictsOneAtATime fills the cache past its size with keys used once
// (an ORM's IN lists) while a working set keeps being used: the cache
// stays full, and the working set stays in it. (The plan cache this
// replaces dropped every entry when it was full.)
func TestEvictsOneAtATime(t *testing.T) {
	c := New[int](size)
	const hot = 16
	for i := range hot {
		c.Put("hot "+strconv.Itoa(i), i)
	}
	for i := range 10 * size {
		for j := range hot {
			if got, ok := c.Get("hot " + strconv.Itoa(j)); !ok || got != j {
				t.Fatalf("after %d one-off keys, hot entry %d is gone", i, j)
			}
		}
		c.Put(text(i), i)
		if n := c.Len(); n != min(hot+i+1, size) {
			t.Fatalf("after %d one-off keys the cache holds %d entries", i+1, n)
		}
	}
	if _, ok := c.Get(text(10*size - 1)); !ok {
		t.Fatal("the newest entry was evicted")
	}
	c.Put("hot 0", -1)
	if got, _ := c.Get("hot 0"); got != -1 {
		t.Fatal("Put did not replace the value")
	}
	c.Clear()
	if _, ok := c.Get("hot 1"); c.Len() != 0 || ok {
		t.Fatal("Clear kept entries")
	}
	c.Put("after", 1)
	if got, ok := c.Get("after"); !ok || got != 1 || c.Size() != size {
		t.Fatal("the cache does not work after Clear")
	}
}

// TestConcurrent runs gets and puts from several goroutines, for -race,
// and checks the bound.
func TestConcurrent(t *testing.T) {
	c := New[int](size)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * size {
				k := text(g*10*size + i)
				c.Put(k, i)
				c.Get(k)
				c.Get(text(i % 64))
				if i%64 == 0 {
					c.Put(text(i%64), i)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n != size {
		t.Fatalf("cache holds %d entries, want %d", n, size)
	}
}

// BenchmarkGetHit measures a hit from parallel goroutines with a full
// cache: the hot path of every statement in a global transaction.
func BenchmarkGetHit(b *testing.B) {
	c := New[int](size)
	keys := make([]string, size)
	for i := range keys {
		keys[i] = text(i)
		c.Put(keys[i], i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%size]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

package sqlparse

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestParserCacheSharesResults(t *testing.T) {
	p := New(Config{CacheSize: 8})
	q := "UPDATE account SET balance = balance - ? WHERE id = ?"
	a, err := p.Parse(q)
	noErr(t, err)
	b, err := p.Parse(strings.Clone(q))
	noErr(t, err)
	is(t, &a[0] == &b[0], "second parse did not come from the cache")
	eq(t, 1, p.cache.Len())

	// Errors are not cached, and a failing query does not disturb others.
	_, err = p.Parse("UPDATE")
	errAs[*ParseError](t, err)
	eq(t, 1, p.cache.Len())
}

func TestParserCacheBounded(t *testing.T) {
	const size = 16
	p := New(Config{CacheSize: size})
	hot := "SELECT * FROM hot WHERE id = ? FOR UPDATE"
	first, err := p.Parse(hot)
	noErr(t, err)
	for i := range 10 * size {
		_, err := p.Parse(fmt.Sprintf("UPDATE t SET a = ? WHERE id = %d", i))
		noErr(t, err)
		// Keep hot referenced so CLOCK gives it second chances.
		got, err := p.Parse(hot)
		noErr(t, err)
		is(t, &got[0] == &first[0], "hot entry evicted after %d inserts", i)
		is(t, p.cache.Len() <= size, "cache holds %d > %d", p.cache.Len(), size)
	}
	eq(t, size, p.cache.Len())
}

func TestParserCacheDisabledAndLongQueries(t *testing.T) {
	p := New(Config{CacheSize: -1})
	is(t, p.cache == nil, "cache not disabled")
	got, err := p.Parse("SELECT 1")
	noErr(t, err)
	eq(t, 1, len(got))

	p = New(Config{})
	eq(t, DefaultCacheSize, p.cache.Size())
	long := "SELECT 1 FROM t WHERE a IN (" + strings.Repeat("1,", maxCachedQuery/2) + "1)"
	_, err = p.Parse(long)
	noErr(t, err)
	eq(t, 0, p.cache.Len())
}

// Run with -race: many goroutines parse overlapping queries through one
// Parser, hitting, missing and evicting concurrently, and each gets the
// right result.
func TestParserConcurrent(t *testing.T) {
	p := New(Config{CacheSize: 32})
	const goroutines, rounds, distinct = 8, 300, 64
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				i := (g*rounds + r) % distinct
				q := fmt.Sprintf("UPDATE t%d SET a = ? WHERE id = ?; DELETE FROM u WHERE k = %d", i, i)
				got, err := p.Parse(q)
				if err != nil {
					errs <- err.Error()
					return
				}
				u, ok := got[0].(*Update)
				if !ok || len(got) != 2 || u.Tables[0].Name != fmt.Sprintf("t%d", i) || got[1].(*Delete).Where.SQL != fmt.Sprintf("k = %d", i) {
					errs <- fmt.Sprintf("%q: wrong result %s", q, dump(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

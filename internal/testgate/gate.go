// Package testgate holds the gate a test's blocked fake waits on.
package testgate

import (
	"sync"
	"testing"
)

// Gate is a channel that fakes block on until the test opens it. It is
// opened at the latest when the test ends, so that a failing assertion
// (t.Fatal) does not leave the fake blocked, and with it the cleanup that
// waits for the fake (a server's or coordinator's shutdown), until the
// test binary times out with the failure message never printed.
//
// Open may be called any number of times, from any goroutine.
type Gate struct {
	c    chan struct{}
	once sync.Once
}

// New returns a closed gate and registers its opening with t.Cleanup.
// Cleanups run last-registered first: create the gate after whatever waits
// for the blocked fake in its own cleanup, so that it opens first.
func New(t testing.TB) *Gate {
	g := &Gate{c: make(chan struct{})}
	t.Cleanup(g.Open)
	return g
}

// Open lets every waiter through, now and later.
func (g *Gate) Open() { g.once.Do(func() { close(g.c) }) }

// Wait blocks until the gate is open.
func (g *Gate) Wait() { <-g.c }

// C is closed when the gate opens, for select.
func (g *Gate) C() <-chan struct{} { return g.c }

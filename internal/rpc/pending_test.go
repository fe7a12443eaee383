package rpc

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestIDsSkipZeroAndWrap(t *testing.T) {
	p := newPendingTable(false)
	if id := p.nextID(); id != 1 {
		t.Errorf("first client id = %d, want 1", id)
	}
	p.seq.Store(0x7ffffffe)
	if a, b := p.nextID(), p.nextID(); a != 0x7fffffff || b != 1 {
		t.Errorf("client ids around the wrap: %d, %d; want 2147483647, 1", a, b)
	}

	s := newPendingTable(true)
	if id := s.nextID(); id != -1 {
		t.Errorf("first server id = %d, want -1", id)
	}
	s.seq.Store(0x7ffffffe)
	if a, b := s.nextID(), s.nextID(); a != -0x7fffffff || b != -1 {
		t.Errorf("server ids around the wrap: %d, %d; want -2147483647, -1", a, b)
	}
}

func TestIDsNeverReusedWhilePending(t *testing.T) {
	p := newPendingTable(false)
	cn := &conn{addr: "a"}
	first := getCall(cn, protocol.TypeGlobalBegin)
	if id := p.add(first); id != 1 {
		t.Fatalf("id = %d", id)
	}
	p.seq.Store(0) // the counter comes round to 1 again
	second := getCall(cn, protocol.TypeGlobalBegin)
	if id := p.add(second); id != 2 {
		t.Errorf("id = %d, want 2: 1 is still pending", id)
	}
	if !p.takeCall(first) || !p.takeCall(second) || p.len() != 0 {
		t.Error("entries not removed")
	}
	if p.takeCall(first) {
		t.Error("an entry was removed twice")
	}
}

// Every entry is completed exactly once whichever of the three removal
// paths wins.
func TestPendingRemovedExactlyOnce(t *testing.T) {
	p := newPendingTable(false)
	cn := &conn{addr: "a"}
	const n = 500
	calls := make([]*call, n)
	for i := range calls {
		calls[i] = getCall(cn, protocol.TypeGlobalBegin)
		p.add(calls[i])
	}
	var wg sync.WaitGroup
	var byCaller atomic.Int32
	for _, c := range calls {
		wg.Go(func() { // the answer
			if e := p.takeFrom(c.id, cn); e != nil {
				e.complete(callResult{msg: &protocol.GlobalBeginResponse{}})
			}
		})
		wg.Go(func() { // the caller giving up
			if p.takeCall(c) {
				byCaller.Add(1)
				c.done <- callResult{err: errors.New("gave up")} // stands in for the caller's own result
			}
		})
	}
	wg.Go(func() { p.failConn(cn, ErrConnectionLost) })
	wg.Wait()
	for i, c := range calls {
		select {
		case <-c.done:
		default:
			t.Fatalf("call %d never completed", i)
		}
		select {
		case r := <-c.done:
			t.Fatalf("call %d completed twice (%v)", i, r)
		default:
		}
	}
	if p.len() != 0 {
		t.Errorf("len = %d", p.len())
	}
	late := p.late.Load()
	if late > n {
		t.Errorf("late = %d", late)
	}
}

// A client accepts an answer on another session to the same coordinator
// (J13); a server only on the session it asked.
func TestTakeFromMatching(t *testing.T) {
	client := newPendingTable(false)
	a1, a2, b := &conn{addr: "a", anyConnToAddr: true}, &conn{addr: "a", anyConnToAddr: true}, &conn{addr: "b", anyConnToAddr: true}
	c := getCall(a1, protocol.TypeGlobalBegin)
	id := client.add(c)
	if client.takeFrom(id, b) != nil {
		t.Error("answer from another coordinator accepted")
	}
	if client.takeFrom(id, a2) != c {
		t.Error("answer on a sibling session refused")
	}

	server := newPendingTable(true)
	s1, s2 := &conn{addr: "c"}, &conn{addr: "c"}
	c = getCall(s1, protocol.TypeBranchCommit)
	id = server.add(c)
	if server.takeFrom(id, s2) != nil {
		t.Error("server accepted an answer from another session")
	}
	if server.takeFrom(id, s1) != c {
		t.Error("server refused the answer")
	}
	if client.late.Load() != 1 || server.late.Load() != 1 {
		t.Errorf("late = %d, %d", client.late.Load(), server.late.Load())
	}
}

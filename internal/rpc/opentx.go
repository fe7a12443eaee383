package rpc

import (
	"sync"
	"time"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// openTxs remembers, for a client with a Resolver, the global transactions
// it began and has not ended, by the address of the coordinator that began
// them. A coordinator removed by the resolver is drained only once none of
// them is left (or their timeouts have passed): its commit or rollback goes
// to the coordinator that holds the transaction, which, when coordinators
// do not share a store, is the only one that knows it. It is safe for
// concurrent use.
type openTxs struct {
	mu      sync.Mutex
	m       map[string]openTx // by XID; guarded by mu
	inserts int               // since the last sweep; guarded by mu
}

type openTx struct {
	addr     string
	deadline time.Time // the transaction's timeout at the coordinator
}

// sweepEvery is how many begins pass between two sweeps of the
// transactions whose timeout has passed (ended by the coordinator without
// the client saying so).
const sweepEvery = 1024

// track records what a call tells about open transactions: a begin's XID,
// or the end of a transaction (any answer to its commit or rollback).
func (o *openTxs) track(addr string, req, resp protocol.Message) {
	switch r := req.(type) {
	case *protocol.GlobalBeginRequest:
		b, ok := resp.(*protocol.GlobalBeginResponse)
		if !ok || b.XID == "" {
			return
		}
		now := time.Now()
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.m == nil {
			o.m = make(map[string]openTx)
		}
		o.m[b.XID] = openTx{addr: addr, deadline: now.Add(time.Duration(r.TimeoutMillis) * time.Millisecond)}
		if o.inserts++; o.inserts >= sweepEvery {
			o.inserts = 0
			for x, tx := range o.m {
				if now.After(tx.deadline) {
					delete(o.m, x)
				}
			}
		}
	case *protocol.GlobalCommitRequest:
		if resp != nil {
			o.end(r.XID)
		}
	case *protocol.GlobalRollbackRequest:
		if resp != nil {
			o.end(r.XID)
		}
	}
}

func (o *openTxs) end(xid string) {
	o.mu.Lock()
	delete(o.m, xid)
	o.mu.Unlock()
}

// addrOf returns the address of the coordinator that began xid, if the
// transaction is open.
func (o *openTxs) addrOf(xid string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	tx, ok := o.m[xid]
	return tx.addr, ok
}

// anyOpen reports whether a transaction begun at addr is open and within
// its timeout.
func (o *openTxs) anyOpen(addr string) bool {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	for x, tx := range o.m {
		if tx.addr != addr {
			continue
		}
		if now.After(tx.deadline) {
			delete(o.m, x)
			continue
		}
		return true
	}
	return false
}

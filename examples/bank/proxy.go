package main

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// phaseTwoProxy is a TCP proxy between the clients and the coordinator
// that reads the Seata frames going through it and, at random, drops a
// BranchCommit or BranchRollback request (the RM never sees it: the
// coordinator times the call out and resends it), drops its response (the
// RM did the work but the coordinator does not know: it resends it, so the
// RM runs phase two of the branch again), or delivers the request twice
// (the RM runs both, possibly at the same time; the coordinator takes the
// first answer and drops the second as late). Every other frame goes
// through unchanged.
//
// A proxied connection ends when either side closes, so a coordinator
// restart looks to the clients like the loss of their connections, as it
// would without the proxy. A phaseTwoProxy is safe for concurrent use.
type phaseTwoProxy struct {
	upstream string  // the coordinator's address
	p        float64 // probability of each fault per phase-two frame
	ln       net.Listener

	mu     sync.Mutex
	rng    *rand.Rand
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup

	droppedRequests  atomic.Int64
	droppedResponses atomic.Int64
	duplicated       atomic.Int64
}

// startPhaseTwoProxy listens on a free loopback port and forwards to
// upstream.
func startPhaseTwoProxy(upstream string, p float64, seed uint64) (*phaseTwoProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	x := &phaseTwoProxy{
		upstream: upstream,
		p:        p,
		ln:       ln,
		rng:      rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		conns:    make(map[net.Conn]struct{}),
	}
	x.wg.Add(1)
	go x.accept()
	return x, nil
}

// Addr is the address clients connect to.
func (x *phaseTwoProxy) Addr() string { return x.ln.Addr().String() }

// Close stops listening, closes every proxied connection and waits for
// the proxy's goroutines.
func (x *phaseTwoProxy) Close() error {
	err := x.ln.Close()
	x.mu.Lock()
	x.closed = true
	for c := range x.conns {
		c.Close()
	}
	x.mu.Unlock()
	x.wg.Wait()
	return err
}

func (x *phaseTwoProxy) accept() {
	defer x.wg.Done()
	for {
		down, err := x.ln.Accept()
		if err != nil {
			return
		}
		up, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", x.upstream)
		if err != nil { // coordinator down (restarting): the client reconnects
			down.Close()
			continue
		}
		if !x.track(down, up) {
			return
		}
		x.wg.Add(2)
		go x.pipe(down, up)
		go x.pipe(up, down)
	}
}

// track records a proxied pair of connections, or closes them and
// reports false when the proxy is closing.
func (x *phaseTwoProxy) track(cs ...net.Conn) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		x.conns[c] = struct{}{}
	}
	return true
}

// roll reports whether a fault of probability p happens now.
func (x *phaseTwoProxy) roll() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rng.Float64() < x.p
}

// pipe copies frames from src to dst, applying faults to phase-two
// frames. It closes both connections when either fails.
func (x *phaseTwoProxy) pipe(src, dst net.Conn) {
	defer x.wg.Done()
	defer func() {
		src.Close()
		dst.Close()
		x.mu.Lock()
		delete(x.conns, src)
		delete(x.conns, dst)
		x.mu.Unlock()
	}()
	buf := make([]byte, 0, 64<<10)
	chunk := make([]byte, 32<<10)
	for {
		n, err := src.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			size, ferr := protocol.FrameLength(buf)
			if ferr != nil {
				return // lost sync: drop the connection as a peer would
			}
			if size == 0 || len(buf) < size {
				break
			}
			frame := buf[:size]
			if werr := x.forward(dst, frame); werr != nil {
				return
			}
			buf = append(buf[:0], buf[size:]...)
		}
		if err != nil { // io.EOF or a closed connection: the pair ends
			return
		}
	}
}

// forward writes one frame to dst, or drops or duplicates it when it is a
// phase-two frame and the dice say so.
func (x *phaseTwoProxy) forward(dst net.Conn, frame []byte) error {
	switch x.kind(frame) {
	case phaseTwoRequest:
		if x.roll() {
			x.droppedRequests.Add(1)
			return nil
		}
		if x.roll() {
			x.duplicated.Add(1)
			if _, err := dst.Write(frame); err != nil {
				return err
			}
		}
	case phaseTwoResponse:
		if x.roll() {
			x.droppedResponses.Add(1)
			return nil
		}
	}
	_, err := dst.Write(frame)
	return err
}

// frameKind classifies frames for the proxy.
type frameKind uint8

const (
	otherFrame frameKind = iota
	phaseTwoRequest
	phaseTwoResponse
)

func (x *phaseTwoProxy) kind(frame []byte) frameKind {
	f, err := protocol.DecodeFrame(frame)
	if err != nil {
		return otherFrame
	}
	switch f.Body.(type) {
	case *protocol.BranchCommitRequest, *protocol.BranchRollbackRequest:
		return phaseTwoRequest
	case *protocol.BranchCommitResponse, *protocol.BranchRollbackResponse:
		return phaseTwoResponse
	}
	return otherFrame
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// delayProxy is a TCP proxy that stands for a network hop: every chunk of
// bytes it reads from one side reaches the other side delay later (one-way
// delay, so a round trip costs twice that). Chunks keep their order in each
// direction, and each waits from its own arrival: a chunk read at t is
// written at t+delay however many chunks before it still wait. Close stops
// it and closes every connection it holds; it is safe for concurrent use.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// chunkSize is the most one read takes; a MySQL command or answer of the
// bench fits in one.
const chunkSize = 32 << 10

// chunks recycles the proxy's read buffers: the bench counts the process's
// allocations per transaction, and the proxy should add none.
var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// chunk is the bytes of one read and the time they are due at the other side.
type chunk struct {
	buf *[]byte
	n   int
	due time.Time
}

// startDelayProxy listens on 127.0.0.1:0 and forwards each connection it
// accepts to target (host:port) with the one-way delay d.
func startDelayProxy(target string, d time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, delay: d, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr returns the address the proxy listens on.
func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every proxied connection and waits for
// the proxy's goroutines to end.
func (p *delayProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

// track adds c to the connections Close closes, or closes it and reports
// false when the proxy is closed.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *delayProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve forwards one connection both ways until both directions have ended.
func (p *delayProxy) serve(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(client, server) })
	p.pipe(server, client)
	wg.Wait()
}

// pipe reads chunks from src and has a writer goroutine deliver each to
// dst at its due time. When src ends, dst gets what was read before and
// then an end of stream (its write side is shut); when a write fails,
// both connections are closed, which ends the other direction too.
func (p *delayProxy) pipe(src, dst net.Conn) {
	sl, err := newSleeper()
	if err != nil {
		src.Close()
		dst.Close()
		return
	}
	defer sl.close()
	queue := make(chan chunk, 1024)
	var wg sync.WaitGroup
	wg.Go(func() {
		failed := false
		for c := range queue {
			if !failed {
				err := sl.until(c.due)
				if err == nil {
					_, err = dst.Write((*c.buf)[:c.n])
				}
				if err != nil {
					failed = true
					src.Close()
					dst.Close()
				}
			}
			chunks.Put(c.buf)
		}
		if tc, ok := dst.(*net.TCPConn); ok && !failed {
			tc.CloseWrite()
		}
	})
	for {
		buf := chunks.Get().(*[]byte)
		n, err := src.Read(*buf)
		if n > 0 {
			queue <- chunk{buf: buf, n: n, due: time.Now().Add(p.delay)}
		} else {
			chunks.Put(buf)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close() // src broke: so does the hop
			}
			break
		}
	}
	close(queue)
	wg.Wait()
}

// roundTrip returns the median time of n SELECT 1 queries on one
// connection of the server cfg names.
func roundTrip(ctx context.Context, cfg *mysql.Config, n int) (time.Duration, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		return 0, err
	}
	times := make([]time.Duration, n)
	for i := range times {
		var one int
		t0 := time.Now()
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return 0, err
		}
		times[i] = time.Since(t0)
	}
	slices.Sort(times)
	return times[n/2], nil
}

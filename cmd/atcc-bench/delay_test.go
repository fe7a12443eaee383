package main

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"
)

// echoServer accepts connections and echoes what it reads until EOF, then
// closes the connection. arrived gets the time each first read of a
// connection returned.
func echoServer(t *testing.T) (addr string, arrived <-chan time.Time) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan time.Time, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				first := true
				for {
					n, err := c.Read(buf)
					if first && n > 0 {
						ch <- time.Now()
						first = false
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func TestDelayProxyDelaysEachWay(t *testing.T) {
	const d = 30 * time.Millisecond
	addr, arrived := echoServer(t)
	p, err := startDelayProxy(addr, d)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	back := time.Since(sent)
	there := (<-arrived).Sub(sent)
	if string(buf) != "ping" {
		t.Fatalf("echoed %q, want ping", buf)
	}
	if there < d {
		t.Errorf("reached the server after %v, want at least %v", there, d)
	}
	if back-there < d {
		t.Errorf("came back %v after reaching the server, want at least %v", back-there, d)
	}
	if back > 2*d+200*time.Millisecond {
		t.Errorf("round trip %v, want about %v", back, 2*d)
	}
}

// TestDelayProxyDoesNotQueueDelays writes chunks in quick succession: each
// must wait its own delay from its arrival, not behind the delays of the
// chunks before it.
func TestDelayProxyDoesNotQueueDelays(t *testing.T) {
	const d, chunks, gap = 50 * time.Millisecond, 10, 5 * time.Millisecond
	addr, _ := echoServer(t)
	p, err := startDelayProxy(addr, d)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	go func() {
		for i := range chunks {
			c.Write([]byte{byte(i)})
			time.Sleep(gap)
		}
	}()
	got := make([]byte, chunks)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	for i, b := range got {
		if int(b) != i {
			t.Fatalf("echoed %v, want 0..%d in order", got, chunks-1)
		}
	}
	// Serialised delays would take at least chunks*d = 500 ms.
	if took < 2*d || took > 2*d+chunks*gap+150*time.Millisecond {
		t.Errorf("all %d chunks back after %v, want about %v", chunks, took, 2*d+chunks*gap)
	}
}

// TestDelayProxyKeepsBytes sends 4 MiB of random bytes in writes of
// random sizes while reading the echo: every byte comes back, in order.
func TestDelayProxyKeepsBytes(t *testing.T) {
	addr, _ := echoServer(t)
	p, err := startDelayProxy(addr, 200*time.Microsecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	written := make(chan error, 1)
	go func() {
		rest := want
		for len(rest) > 0 {
			n := min(len(rest), 1+r.IntN(100_000))
			if _, err := c.Write(rest[:n]); err != nil {
				written <- err
				return
			}
			rest = rest[n:]
		}
		written <- c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c) // to the EOF the server's close sends back through the proxy
	if err != nil {
		t.Fatal(err)
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want the %d sent, in order", len(got), len(want))
	}
}

// TestDelayProxyCloses closes the proxy with a connection open: the
// connection ends, the proxy's goroutines return, and it accepts no more.
func TestDelayProxyCloses(t *testing.T) {
	addr, _ := echoServer(t)
	before := runtime.NumGoroutine()
	p, err := startDelayProxy(addr, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("read on a connection of a closed proxy: %v, want EOF or a reset", err)
	}
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Error("a closed proxy accepted a connection")
	}
	// Close waited for the proxy's goroutines; the echo server's may take
	// a moment to see its connection end.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before the proxy", n, before)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

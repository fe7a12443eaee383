package rpc

import (
	"net"
	"runtime"
	"sync"
	"time"

	getty "github.com/apache/dubbo-getty"
)

// getty's accept loop and its Close share the listener without a lock
// (dubbo-getty v1.5.0, server.go): the loop checks IsClosed, then reads
// s.streamListener to call Accept (accept, line 261); stop closes the
// listener and sets s.streamListener to nil (line 163). A Close that runs
// while the loop is between the two, which happens when Close follows Start
// before the loop's goroutine ran, or follows an accepted connection, is a
// data race, and a read after the nil store would call Accept on a nil
// listener.
//
// So Close first stops the loop where it is known to be: it connects to the
// listener; the loop accepts the connection and hands it to newSession,
// which, the server closing, parks the loop there (parkAcceptLoop) until
// getty reports itself closed, then refuses the connection. The loop's last
// read of the listener happened before it parked, and back in the loop it
// sees IsClosed and returns without reading it again.

// acceptGate is where Close learns that getty's accept loop is parked.
type acceptGate struct {
	once   sync.Once
	parked chan struct{} // closed when the accept loop parks
}

// acceptParkWait bounds how long Close waits for the accept loop to take
// its connection; past it (a listener that cannot be reached from this
// host), Close closes the getty server without parking the loop.
const acceptParkWait = 5 * time.Second

// parkAcceptLoop is called by newSession, on getty's accept goroutine,
// once the server is closing: it tells Close that the loop is parked and
// returns once the getty server is closed.
func (s *Server) parkAcceptLoop() {
	s.gate.once.Do(func() { close(s.gate.parked) })
	s.mu.Lock()
	gs := s.gs // set by Start before Close could begin closing
	s.mu.Unlock()
	if gs == nil {
		return
	}
	// getty offers no signal for its stop; Close calls it at once, so
	// this polls, yielding at first, then sleeping.
	for i := 0; !gs.IsClosed(); i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(time.Millisecond)
		}
	}
}

// closeGetty closes gs, whose listener is at addr, after parking its accept
// loop.
func (s *Server) closeGetty(gs getty.Server, addr net.Addr) {
	if a, ok := addr.(*net.TCPAddr); ok {
		wake := *a
		if wake.IP.IsUnspecified() {
			wake.IP = net.IPv6loopback
			if a.IP.To4() != nil {
				wake.IP = net.IPv4(127, 0, 0, 1)
			}
		}
		d := net.Dialer{Timeout: acceptParkWait}
		if conn, err := d.Dial("tcp", wake.String()); err == nil {
			t := time.NewTimer(acceptParkWait)
			select {
			case <-s.gate.parked:
			case <-t.C:
			}
			t.Stop()
			defer conn.Close()
		}
	}
	gs.Close() // waits for the accept loop
}

package rpc

import (
	"net"
	"testing"
)

// Close right after Start, often before getty's accept loop has run, and
// Close with a connection waiting to be accepted: the loop must not read
// getty's listener while getty's Close clears it. Before Close parked the
// loop, -race reported that pair (getty server.go:261 against :163) about
// once in a thousand runs of this loop on two cores; a read after the clear
// calls Accept on a nil listener.
func TestServerCloseRacesAcceptLoop(t *testing.T) {
	checkLeaks(t)
	n := 1000
	if testing.Short() {
		n = 100
	}
	for i := range n {
		s := NewServer(ServerConfig{}, &tc{})
		if err := s.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			c, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

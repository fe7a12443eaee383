package protocol_test

import (
	"fmt"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// A reader cuts frames from a byte stream with FrameLength and decodes them
// with DecodeFrame; a writer appends frames to a reused buffer.
func Example() {
	// Writer side.
	var out []byte
	out, err := protocol.AppendFrame(out, &protocol.Frame{
		Type:      protocol.RequestSync,
		Codec:     protocol.CodecSeata,
		RequestID: 5,
		Body:      &protocol.GlobalBeginRequest{TimeoutMillis: 60000, TransactionName: "purchase"},
	})
	if err != nil {
		panic(err)
	}
	out, _ = protocol.AppendFrame(out, &protocol.Frame{Type: protocol.HeartbeatRequest, Codec: protocol.CodecSeata, RequestID: 6})

	// Reader side: buf holds what has arrived so far.
	buf := out
	for {
		n, err := protocol.FrameLength(buf)
		if err != nil {
			panic(err) // the stream is out of sync: close the connection
		}
		if n == 0 || n > len(buf) {
			break // read more bytes
		}
		f, err := protocol.DecodeFrame(buf[:n])
		if err != nil {
			panic(err) // close the connection
		}
		buf = buf[n:]
		switch m := f.Body.(type) {
		case nil:
			fmt.Println(f.Type, f.RequestID)
		case *protocol.GlobalBeginRequest:
			fmt.Println(f.Type, f.RequestID, m.TypeCode(), m.TimeoutMillis, m.TransactionName)
		}
	}
	// Output:
	// REQUEST_SYNC 5 GlobalBeginRequest 60000 purchase
	// HEARTBEAT_REQUEST 6
}

// A client maps the exception code of a failed result with the version the
// TC reported in its Register response.
func ExampleExceptionCodeFromPeer() {
	raw := uint8(19) // from a TC that registered us with version "1.6.1"
	fmt.Println(protocol.ExceptionCodeFromPeer(raw, "1.6.1"))
	fmt.Println(protocol.ExceptionCodeFromPeer(raw, "2.2.0"))
	// Output:
	// LockKeyConflictFailFast
	// NotRaftLeader
}

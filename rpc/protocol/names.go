package protocol

// Names interns the strings a connection's frames repeat: transaction
// names, resource ids, application ids, transaction service groups,
// versions and short application data. Decoding through a Names, such a
// field is looked up without allocating, and a GlobalBegin request decodes
// with one allocation instead of two (TestNamesDecodeAllocations). XIDs and
// lock keys, which do not repeat, are decoded as by DecodeFrame.
//
// A Names is bounded: it keeps up to 64 strings of up to 128 bytes and
// starts over when full, so a peer that sends ever new names costs a map
// clear now and then, never memory. The zero value is ready to use. A Names
// is not safe for concurrent use: give each connection's reader its own.
// The strings it returns are ordinary immutable strings, which may be kept
// and shared freely.
type Names struct {
	m map[string]string
}

// Bounds of a Names.
const (
	maxNames   = 64
	maxNameLen = 128
)

// DecodeFrame is the package's DecodeFrame, with the names of the frame
// interned in n.
func (n *Names) DecodeFrame(b []byte) (*Frame, error) { return decodeFrame(b, n) }

// intern returns b as a string, the one n holds if any.
func (n *Names) intern(b []byte) string {
	if s, ok := n.m[string(b)]; ok { // the lookup does not allocate
		return s
	}
	s := string(b)
	if n.m == nil {
		n.m = make(map[string]string, maxNames)
	} else if len(n.m) >= maxNames {
		clear(n.m)
	}
	n.m[s] = s
	return s
}

package tc

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
)

// xidPermutation turns the store's transaction ids, which follow the clock
// (timeIDs, tc_sequence), into the ids XIDs carry, which do not: a keyed
// pseudo-random permutation of the positive int64s. Distinct ids stay
// distinct, so an XID is as unique as the store's id under one key: the
// MySQL store keeps its key in tc_sequence, shared by every coordinator on
// the tables and across restarts; the memory store draws one per server
// (a restart forgets every transaction anyway, and two lives collide on
// an id with probability about 2^-63 per pair). Without the key, an XID
// says nothing about the others: they cannot be guessed from the clock.
//
// The permutation is a 4-round Feistel network over 64 bits whose round
// function is AES-128 under the key, restricted to [0, 2^63) by cycle
// walking. It is safe for concurrent use.
type xidPermutation struct {
	block cipher.Block

	// The round function's blocks escape through the cipher.Block
	// interface, so they live here rather than on the stack: 4 allocations
	// per AT transaction fewer (atcc-bench).
	mu      sync.Mutex
	in, out [aes.BlockSize]byte // guarded by mu
}

func newXIDPermutation(key [16]byte) *xidPermutation {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return &xidPermutation{block: b}
}

// randomXIDKey draws a key.
func randomXIDKey() [16]byte {
	var k [16]byte
	_, _ = rand.Read(k[:]) // never fails (crypto/rand)
	return k
}

// permute maps v in [0, 2^63) to a distinct value in [0, 2^63).
func (p *xidPermutation) permute(v int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	x := uint64(v)
	for {
		x = p.feistel(x)
		if x>>63 == 0 {
			return int64(x)
		}
	}
}

// feistel is one pass of the network; the caller holds p.mu.
func (p *xidPermutation) feistel(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	in, out := p.in[:], p.out[:]
	clear(in)
	for round := byte(0); round < 4; round++ {
		in[0] = round
		binary.BigEndian.PutUint32(in[12:], r)
		p.block.Encrypt(out, in)
		l, r = r, l^binary.BigEndian.Uint32(out[:4])
	}
	return uint64(l)<<32 | uint64(r)
}

// txID allocates the id of a new global transaction.
func (c *coordinator) txID(ctx context.Context) (int64, error) {
	for {
		id, err := c.st.nextID(ctx)
		if err != nil {
			return 0, err
		}
		if p := c.xidKey.Load(); p != nil {
			id = p.permute(id)
		}
		if id > 0 {
			return id, nil
		}
	}
}

// loadXIDKey returns the MySQL store's XID key, creating it on first use
// in two rows of tc_sequence ('xid_key_0', 'xid_key_1'), so that every
// coordinator sharing the tables, and every restart, uses the same one.
func (s *mysqlStore) loadXIDKey(ctx context.Context) ([16]byte, error) {
	var key [16]byte
	fresh := randomXIDKey()
	for i := range 2 {
		name := fmt.Sprintf("xid_key_%d", i)
		v := int64(binary.BigEndian.Uint64(fresh[8*i:]))
		if _, err := s.db.ExecContext(ctx, "INSERT IGNORE INTO tc_sequence (name, value) VALUES (?, ?)", name, v); err != nil {
			return key, fmt.Errorf("atcc/tc: create xid key: %w", err)
		}
		if err := s.db.QueryRowContext(ctx, "SELECT value FROM tc_sequence WHERE name = ?", name).Scan(&v); err != nil {
			return key, fmt.Errorf("atcc/tc: read xid key: %w", err)
		}
		binary.BigEndian.PutUint64(key[8*i:], uint64(v))
	}
	return key, nil
}

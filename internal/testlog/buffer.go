// Package testlog holds what tests need to read the logs of the code under
// test.
package testlog

import (
	"bytes"
	"sync"
)

// Buffer is a log sink that a test may read while the code under test
// still writes to it. The zero value is ready to use; it is safe for
// concurrent use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

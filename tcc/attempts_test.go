package tcc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAttemptsForgetOldest(t *testing.T) {
	a := newAttempts()
	k := func(i int) attemptKey { return attemptKey{"xid", int64(i), true} }
	require.False(t, a.mark(k(0)))
	require.True(t, a.mark(k(0)))
	require.False(t, a.mark(attemptKey{"xid", 0, false}), "the other phase is another call")
	for i := 1; i < attemptsKept; i++ {
		require.False(t, a.mark(k(i)))
	}
	// k(0) and the rollback of 0 fill the ring past its size: k(0) goes.
	require.False(t, a.mark(k(0)), "the oldest was forgotten")
	require.True(t, a.mark(k(attemptsKept-1)), "the newest is kept")
	require.Len(t, a.seen, attemptsKept)
}

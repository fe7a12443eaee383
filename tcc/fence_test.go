package tcc

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuoteTable(t *testing.T) {
	q, err := quoteTable("")
	require.NoError(t, err)
	require.Equal(t, "`tcc_fence_log`", q)
	q, err = quoteTable("db1.fence$2")
	require.NoError(t, err)
	require.Equal(t, "`db1`.`fence$2`", q)
	for _, bad := range []string{"a.b.c", "a b", "x`y", ".t", "t;drop"} {
		_, err := quoteTable(bad)
		require.ErrorIs(t, err, ErrInvalidAction, bad)
	}
}

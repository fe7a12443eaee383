package tcc

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestPhaseStatus(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		commit bool
		err    error
		want   protocol.BranchStatus
	}{
		{true, nil, protocol.PhaseTwoCommitted},
		{false, nil, protocol.PhaseTwoRollbacked},
		{true, boom, protocol.PhaseTwoCommitFailedRetryable},
		{false, boom, protocol.PhaseTwoRollbackFailedRetryable},
		{true, Unretryable(boom), protocol.PhaseTwoCommitFailedUnretryable},
		{false, Unretryable(boom), protocol.PhaseTwoRollbackFailedUnretryable},
	} {
		st, err := phaseStatus(tc.commit, tc.err)
		require.Equal(t, tc.want, st)
		require.Equal(t, tc.err, err)
	}
	u := Unretryable(boom)
	require.ErrorIs(t, u, ErrUnretryable)
	require.ErrorIs(t, u, boom)
	require.Equal(t, "boom", u.Error())
	require.NoError(t, Unretryable(nil))
}

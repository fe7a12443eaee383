package protocol

import "testing"

func TestExceptionCodeFromPeer(t *testing.T) {
	cases := []struct {
		raw     uint8
		version string
		want    ExceptionCode
	}{
		{0, "1.5.0", CodeUnknown},
		{18, "1.6.1", CodeFailedStore},
		{19, "1.5.2", CodeLockKeyConflictFailFast},
		{19, "1.1.0", CodeLockKeyConflictFailFast}, // seata-go registers its TM as 1.1.0
		{20, "1.7.0", CodeTransactionTimeout},
		{21, "1.8.0-SNAPSHOT", CodeCommitHeuristic},
		{22, "v1.8.0", CodeBroken},
		{23, "1.8.0", CodeUnknown}, // past the 1.x table
		{19, "2.0.0", CodeNotRaftLeader},
		{20, "2.2.0", CodeLockKeyConflictFailFast},
		{23, "2.3.0-SNAPSHOT", CodeBroken},
		{20, "3.0", CodeLockKeyConflictFailFast},
		{19, "", CodeNotRaftLeader},
		{19, "unknown", CodeNotRaftLeader},
		{19, "1", CodeNotRaftLeader},
		{19, "1.", CodeNotRaftLeader},
		{19, "1234567.0", CodeNotRaftLeader},
		{5, "", CodeBranchRollbackFailedUnretriable},
	}
	for _, c := range cases {
		if got := ExceptionCodeFromPeer(c.raw, c.version); got != c.want {
			t.Errorf("ExceptionCodeFromPeer(%d, %q) = %v, want %v", c.raw, c.version, got, c.want)
		}
	}
}

func TestExceptionCodeForPeer(t *testing.T) {
	cases := []struct {
		code    ExceptionCode
		version string
		want    uint8
	}{
		{CodeFailedStore, "1.4.2", 18},
		{CodeLockKeyConflictFailFast, "2.2.0", 20},
		{CodeBroken, "2.0.0", 23},
		{CodeNotRaftLeader, "2.1.0", 19},
		{CodeNotRaftLeader, "1.8.0", 0},
		{CodeLockKeyConflictFailFast, "1.8.0", 19},
		{CodeTransactionTimeout, "1.7.1", 20},
		{CodeCommitHeuristic, "1.7.0", 21},
		{CodeBroken, "1.7.0", 22},
		{CodeLockKeyConflictFailFast, "1.5.0", 19},
		{CodeTransactionTimeout, "1.6.1", 0},
		{CodeBroken, "1.5.2", 0},
		{CodeLockKeyConflictFailFast, "1.4.2", uint8(CodeLockKeyConflict)},
		{CodeLockKeyConflictFailFast, "1.1.0", uint8(CodeLockKeyConflict)},
		{CodeTransactionTimeout, "0.9.0", 0},
		{CodeLockKeyConflictFailFast, "", uint8(CodeLockKeyConflict)},
		{CodeNotRaftLeader, "garbage", 0},
		{CodeGlobalTransactionNotExist, "", 10},
		{ExceptionCode(200), "2.2.0", 0},
	}
	for _, c := range cases {
		if got := ExceptionCodeForPeer(c.code, c.version); got != c.want {
			t.Errorf("ExceptionCodeForPeer(%v, %q) = %d, want %d", c.code, c.version, got, c.want)
		}
	}
}

// tableSize is the number of TransactionExceptionCode values a Java peer of
// the version knows (§7.7).
func tableSize(major, minor int) int {
	switch {
	case major >= 2:
		return 24
	case major == 1 && minor >= 7:
		return 23
	case major == 1 && minor >= 5:
		return 20
	}
	return 19
}

// TestExceptionCodeMappingConsistent: what we send a peer is in its table,
// and reading it back with the same version gives the code we meant whenever
// the peer has that code.
func TestExceptionCodeMappingConsistent(t *testing.T) {
	for _, v := range []string{"0.7.0", "1.4.2", "1.5.0", "1.6.1", "1.7.0", "1.8.0", "2.0.0", "2.3.0"} {
		major, minor, _ := parseVersion(v)
		size := tableSize(major, minor)
		for c := CodeUnknown; c <= maxExceptionCode; c++ {
			raw := ExceptionCodeForPeer(c, v)
			if int(raw) >= size {
				t.Errorf("%s: %v sent as %d, past the peer's %d codes", v, c, raw, size)
			}
			back := ExceptionCodeFromPeer(raw, v)
			if raw != 0 && c != CodeLockKeyConflictFailFast && back != c {
				t.Errorf("%s: %v -> %d -> %v", v, c, raw, back)
			}
		}
	}
}

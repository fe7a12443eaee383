package protocol

// Java 2.0 inserted NotRaftLeader at ordinal 19 of TransactionExceptionCode,
// so the byte for codes from 19 up means different things to 1.x and 2.x
// peers (§7.7). ExceptionCode uses the 2.x numbering; these two functions
// translate at the edge, given the peer's version string (from its Register
// request, or from the TC's Register response).

// ExceptionCodeFromPeer maps the transactionExceptionCode byte raw, received
// from a peer of version peerVersion, to the 2.x numbering.
//
//   - 2.x and later, or a version that does not parse (including ""):
//     identity.
//   - 1.x and 0.x: codes 0-18 are the same; 19-22 (LockKeyConflictFailFast,
//     TransactionTimeout, CommitHeuristic, Broken) become 20-23. Higher
//     values do not exist in 1.x and become CodeUnknown. seata-go v1.2.0
//     numbers its codes like Java 1.5-1.8 whatever version it registers
//     with, so it is covered by this rule too.
//
// It is safe for concurrent use.
func ExceptionCodeFromPeer(raw uint8, peerVersion string) ExceptionCode {
	major, _, ok := parseVersion(peerVersion)
	if !ok || major >= 2 || raw <= uint8(CodeFailedStore) {
		return ExceptionCode(raw)
	}
	if raw <= uint8(CodeBroken)-1 {
		return ExceptionCode(raw + 1)
	}
	return CodeUnknown
}

// ExceptionCodeForPeer maps c (2.x numbering) to the byte a peer of version
// peerVersion understands. The result never exceeds the peer's table, since
// Java decodes the byte by array index and an unknown value breaks the whole
// frame (§11 J5). Put it in Result.ExceptionCode just before encoding, as
// ExceptionCode(b).
//
//   - 2.x and later: identity (values above CodeBroken become CodeUnknown).
//   - 1.7.x-1.8.x: 0-18 unchanged; NotRaftLeader becomes Unknown (0);
//     20-23 become 19-22.
//   - 1.5.x-1.6.x: as 1.7, except that TransactionTimeout, CommitHeuristic
//     and Broken, which they lack, become Unknown (0).
//   - before 1.5, or a version that does not parse (including ""): only
//     0-18, which every version shares: LockKeyConflictFailFast becomes its
//     nearest older meaning LockKeyConflict (2), every other code from 19
//     up becomes Unknown (0).
//
// It is safe for concurrent use.
func ExceptionCodeForPeer(c ExceptionCode, peerVersion string) uint8 {
	if c > maxExceptionCode {
		return uint8(CodeUnknown)
	}
	if c <= CodeFailedStore {
		return uint8(c)
	}
	major, minor, ok := parseVersion(peerVersion)
	switch {
	case ok && major >= 2:
		return uint8(c)
	case ok && major == 1 && minor >= 7:
		if c == CodeNotRaftLeader {
			return uint8(CodeUnknown)
		}
		return uint8(c) - 1
	case ok && major == 1 && minor >= 5:
		if c == CodeLockKeyConflictFailFast {
			return uint8(c) - 1
		}
		return uint8(CodeUnknown)
	default:
		if c == CodeLockKeyConflictFailFast {
			return uint8(CodeLockKeyConflict)
		}
		return uint8(CodeUnknown)
	}
}

// parseVersion reads "major.minor" from the start of a Seata version string
// such as "2.2.0", "1.8.0-SNAPSHOT" or "v1.5.2". ok is false when there is
// no such prefix.
func parseVersion(v string) (major, minor int, ok bool) {
	if len(v) > 0 && (v[0] == 'v' || v[0] == 'V') {
		v = v[1:]
	}
	major, v, ok = leadingInt(v)
	if !ok || len(v) == 0 || v[0] != '.' {
		return 0, 0, false
	}
	minor, _, ok = leadingInt(v[1:])
	if !ok {
		return 0, 0, false
	}
	return major, minor, true
}

// leadingInt parses the decimal digits at the start of s (at most 6 of
// them, which is plenty for a version number and cannot overflow).
func leadingInt(s string) (n int, rest string, ok bool) {
	i := 0
	for ; i < len(s) && i < 6 && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
	}
	if i == 0 || i < len(s) && '0' <= s[i] && s[i] <= '9' {
		return 0, s, false
	}
	return n, s[i:], true
}

package protocol

import "strconv"

// MessageType is header byte 9: how the frame is to be handled.
type MessageType uint8

// Message types. Java dispatches on the body's type code, not on this byte,
// except for heartbeats, which have no body.
const (
	RequestSync       MessageType = 0
	Response          MessageType = 1
	RequestOneway     MessageType = 2
	HeartbeatRequest  MessageType = 3
	HeartbeatResponse MessageType = 4
)

// Codec is header byte 10: the serializer of the body. Only CodecSeata is
// implemented.
type Codec uint8

// Body codecs.
const (
	CodecSeata    Codec = 0x01
	CodecProtobuf Codec = 0x02
	CodecKryo     Codec = 0x04
	CodecFST      Codec = 0x08
	CodecHessian  Codec = 0x16
	CodecJackson  Codec = 0x32
)

// Compressor is header byte 11: the compression of the body. NONE and GZIP are
// implemented; the others are refused with ErrUnsupportedCompressor.
type Compressor uint8

// Body compressors.
const (
	CompressNone     Compressor = 0
	CompressGzip     Compressor = 1
	CompressZip      Compressor = 2
	CompressSevenZ   Compressor = 3
	CompressBzip2    Compressor = 4
	CompressLZ4      Compressor = 5
	CompressDeflater Compressor = 6
	CompressZstd     Compressor = 7
)

// TypeCode is the i16 that starts every seata-codec body.
type TypeCode int16

// Body type codes (§4 of the spec).
const (
	TypeGlobalBegin           TypeCode = 1
	TypeGlobalBeginResult     TypeCode = 2
	TypeBranchCommit          TypeCode = 3
	TypeBranchCommitResult    TypeCode = 4
	TypeBranchRollback        TypeCode = 5
	TypeBranchRollbackResult  TypeCode = 6
	TypeGlobalCommit          TypeCode = 7
	TypeGlobalCommitResult    TypeCode = 8
	TypeGlobalRollback        TypeCode = 9
	TypeGlobalRollbackResult  TypeCode = 10
	TypeBranchRegister        TypeCode = 11
	TypeBranchRegisterResult  TypeCode = 12
	TypeBranchReport          TypeCode = 13
	TypeBranchReportResult    TypeCode = 14
	TypeGlobalStatus          TypeCode = 15
	TypeGlobalStatusResult    TypeCode = 16
	TypeGlobalReport          TypeCode = 17
	TypeGlobalReportResult    TypeCode = 18
	TypeGlobalLockQuery       TypeCode = 21
	TypeGlobalLockQueryResult TypeCode = 22
	TypeMergedWarp            TypeCode = 59
	TypeMergeResult           TypeCode = 60
	TypeRegisterTM            TypeCode = 101
	TypeRegisterTMResult      TypeCode = 102
	TypeRegisterRM            TypeCode = 103
	TypeRegisterRMResult      TypeCode = 104
	TypeUndoLogDelete         TypeCode = 111
	TypeHeartbeat             TypeCode = 120
	TypeBatchResult           TypeCode = 121
)

// BranchType is written as the Java ordinal.
type BranchType uint8

// Branch types.
const (
	BranchAT   BranchType = 0
	BranchTCC  BranchType = 1
	BranchSAGA BranchType = 2
	BranchXA   BranchType = 3
)

// String returns the Java name of the branch type.
func (t BranchType) String() string {
	switch t {
	case BranchAT:
		return "AT"
	case BranchTCC:
		return "TCC"
	case BranchSAGA:
		return "SAGA"
	case BranchXA:
		return "XA"
	}
	return "BranchType(" + strconv.Itoa(int(t)) + ")"
}

// ResultCode is the first byte of every transaction response.
type ResultCode uint8

// Result codes.
const (
	ResultFailed  ResultCode = 0
	ResultSuccess ResultCode = 1
)

// BranchStatus is written as its code, which equals the Java ordinal.
type BranchStatus uint8

// Branch statuses (§7.4).
const (
	BranchUnknown                           BranchStatus = 0
	BranchRegistered                        BranchStatus = 1
	PhaseOneDone                            BranchStatus = 2
	PhaseOneFailed                          BranchStatus = 3
	PhaseOneTimeout                         BranchStatus = 4
	PhaseTwoCommitted                       BranchStatus = 5
	PhaseTwoCommitFailedRetryable           BranchStatus = 6
	PhaseTwoCommitFailedUnretryable         BranchStatus = 7
	PhaseTwoRollbacked                      BranchStatus = 8
	PhaseTwoRollbackFailedRetryable         BranchStatus = 9
	PhaseTwoRollbackFailedUnretryable       BranchStatus = 10
	PhaseTwoCommitFailedXAERNotaRetryable   BranchStatus = 11
	PhaseTwoRollbackFailedXAERNotaRetryable BranchStatus = 12
	PhaseOneRDOnly                          BranchStatus = 13
)

var branchStatusNames = [...]string{
	"Unknown", "Registered", "PhaseOne_Done", "PhaseOne_Failed", "PhaseOne_Timeout",
	"PhaseTwo_Committed", "PhaseTwo_CommitFailed_Retryable", "PhaseTwo_CommitFailed_Unretryable",
	"PhaseTwo_Rollbacked", "PhaseTwo_RollbackFailed_Retryable", "PhaseTwo_RollbackFailed_Unretryable",
	"PhaseTwo_CommitFailed_XAER_NOTA_Retryable", "PhaseTwo_RollbackFailed_XAER_NOTA_Retryable",
	"PhaseOne_RDONLY",
}

// String returns the Java name of the status.
func (s BranchStatus) String() string {
	if int(s) < len(branchStatusNames) {
		return branchStatusNames[s]
	}
	return "BranchStatus(" + strconv.Itoa(int(s)) + ")"
}

// GlobalStatus is written as its code, which equals the Java ordinal.
type GlobalStatus uint8

// Global statuses (§7.5).
const (
	GlobalUnknown                 GlobalStatus = 0
	GlobalBegin                   GlobalStatus = 1
	GlobalCommitting              GlobalStatus = 2
	GlobalCommitRetrying          GlobalStatus = 3
	GlobalRollbacking             GlobalStatus = 4
	GlobalRollbackRetrying        GlobalStatus = 5
	GlobalTimeoutRollbacking      GlobalStatus = 6
	GlobalTimeoutRollbackRetrying GlobalStatus = 7
	GlobalAsyncCommitting         GlobalStatus = 8
	GlobalCommitted               GlobalStatus = 9
	GlobalCommitFailed            GlobalStatus = 10
	GlobalRollbacked              GlobalStatus = 11
	GlobalRollbackFailed          GlobalStatus = 12
	GlobalTimeoutRollbacked       GlobalStatus = 13
	GlobalTimeoutRollbackFailed   GlobalStatus = 14
	GlobalFinished                GlobalStatus = 15
	GlobalCommitRetryTimeout      GlobalStatus = 16
	GlobalRollbackRetryTimeout    GlobalStatus = 17

	// GlobalStatusUnset is the wire value 0xFF (-1) that GlobalReportRequest
	// uses for a null status. It is never a real status.
	GlobalStatusUnset GlobalStatus = 0xFF
)

var globalStatusNames = [...]string{
	"UnKnown", "Begin", "Committing", "CommitRetrying", "Rollbacking", "RollbackRetrying",
	"TimeoutRollbacking", "TimeoutRollbackRetrying", "AsyncCommitting", "Committed",
	"CommitFailed", "Rollbacked", "RollbackFailed", "TimeoutRollbacked", "TimeoutRollbackFailed",
	"Finished", "CommitRetryTimeout", "RollbackRetryTimeout",
}

// String returns the Java name of the status.
func (s GlobalStatus) String() string {
	if int(s) < len(globalStatusNames) {
		return globalStatusNames[s]
	}
	if s == GlobalStatusUnset {
		return "Unset"
	}
	return "GlobalStatus(" + strconv.Itoa(int(s)) + ")"
}

// ExceptionCode is Java's TransactionExceptionCode, written as its ordinal in
// the Seata 2.x numbering (§7.7). Peers older than 2.0 number the codes from
// 19 upwards differently; see ExceptionCodeFromPeer.
type ExceptionCode uint8

// Transaction exception codes, 2.x numbering.
const (
	CodeUnknown                         ExceptionCode = 0
	CodeBeginFailed                     ExceptionCode = 1
	CodeLockKeyConflict                 ExceptionCode = 2
	CodeIO                              ExceptionCode = 3
	CodeBranchRollbackFailedRetriable   ExceptionCode = 4
	CodeBranchRollbackFailedUnretriable ExceptionCode = 5
	CodeBranchRegisterFailed            ExceptionCode = 6
	CodeBranchReportFailed              ExceptionCode = 7
	CodeLockableCheckFailed             ExceptionCode = 8
	CodeBranchTransactionNotExist       ExceptionCode = 9
	CodeGlobalTransactionNotExist       ExceptionCode = 10
	CodeGlobalTransactionNotActive      ExceptionCode = 11
	CodeGlobalTransactionStatusInvalid  ExceptionCode = 12
	CodeFailedToSendBranchCommit        ExceptionCode = 13
	CodeFailedToSendBranchRollback      ExceptionCode = 14
	CodeFailedToAddBranch               ExceptionCode = 15
	CodeFailedLockGlobalTransaction     ExceptionCode = 16
	CodeFailedWriteSession              ExceptionCode = 17
	CodeFailedStore                     ExceptionCode = 18
	CodeNotRaftLeader                   ExceptionCode = 19
	CodeLockKeyConflictFailFast         ExceptionCode = 20
	CodeTransactionTimeout              ExceptionCode = 21
	CodeCommitHeuristic                 ExceptionCode = 22
	CodeBroken                          ExceptionCode = 23
)

var exceptionCodeNames = [...]string{
	"Unknown", "BeginFailed", "LockKeyConflict", "IO", "BranchRollbackFailed_Retriable",
	"BranchRollbackFailed_Unretriable", "BranchRegisterFailed", "BranchReportFailed",
	"LockableCheckFailed", "BranchTransactionNotExist", "GlobalTransactionNotExist",
	"GlobalTransactionNotActive", "GlobalTransactionStatusInvalid", "FailedToSendBranchCommitRequest",
	"FailedToSendBranchRollbackRequest", "FailedToAddBranch", "FailedLockGlobalTranscation",
	"FailedWriteSession", "FailedStore", "NotRaftLeader", "LockKeyConflictFailFast",
	"TransactionTimeout", "CommitHeuristic", "Broken",
}

// String returns the Java name of the code.
func (c ExceptionCode) String() string {
	if int(c) < len(exceptionCodeNames) {
		return exceptionCodeNames[c]
	}
	return "ExceptionCode(" + strconv.Itoa(int(c)) + ")"
}

// Largest valid value of each strictly decoded enum (Java 2.x tables, §7).
const (
	maxBranchType    = BranchXA
	maxResultCode    = ResultSuccess
	maxBranchStatus  = PhaseOneRDOnly
	maxGlobalStatus  = GlobalRollbackRetryTimeout
	maxExceptionCode = CodeBroken
	maxMessageType   = HeartbeatResponse
)

var messageTypeNames = [...]string{
	"REQUEST_SYNC", "RESPONSE", "REQUEST_ONEWAY", "HEARTBEAT_REQUEST", "HEARTBEAT_RESPONSE",
}

// String returns the Java name of the message type.
func (t MessageType) String() string {
	if int(t) < len(messageTypeNames) {
		return messageTypeNames[t]
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// isHeartbeat reports whether frames of this type have no body.
func (t MessageType) isHeartbeat() bool {
	return t == HeartbeatRequest || t == HeartbeatResponse
}

// String returns the Java name of the codec.
func (c Codec) String() string {
	switch c {
	case CodecSeata:
		return "SEATA"
	case CodecProtobuf:
		return "PROTOBUF"
	case CodecKryo:
		return "KRYO"
	case CodecFST:
		return "FST"
	case CodecHessian:
		return "HESSIAN"
	case CodecJackson:
		return "JACKSON"
	}
	return "Codec(" + strconv.Itoa(int(c)) + ")"
}

var compressorNames = [...]string{"NONE", "GZIP", "ZIP", "SEVENZ", "BZIP2", "LZ4", "DEFLATER", "ZSTD"}

// String returns the Java name of the compressor.
func (c Compressor) String() string {
	if int(c) < len(compressorNames) {
		return compressorNames[c]
	}
	return "Compressor(" + strconv.Itoa(int(c)) + ")"
}

// String returns the name of the message type the code stands for, e.g.
// "GlobalBeginRequest", or "TypeCode(n)" for an undefined code.
func (c TypeCode) String() string {
	switch c {
	case TypeGlobalBegin:
		return "GlobalBeginRequest"
	case TypeGlobalBeginResult:
		return "GlobalBeginResponse"
	case TypeBranchCommit:
		return "BranchCommitRequest"
	case TypeBranchCommitResult:
		return "BranchCommitResponse"
	case TypeBranchRollback:
		return "BranchRollbackRequest"
	case TypeBranchRollbackResult:
		return "BranchRollbackResponse"
	case TypeGlobalCommit:
		return "GlobalCommitRequest"
	case TypeGlobalCommitResult:
		return "GlobalCommitResponse"
	case TypeGlobalRollback:
		return "GlobalRollbackRequest"
	case TypeGlobalRollbackResult:
		return "GlobalRollbackResponse"
	case TypeBranchRegister:
		return "BranchRegisterRequest"
	case TypeBranchRegisterResult:
		return "BranchRegisterResponse"
	case TypeBranchReport:
		return "BranchReportRequest"
	case TypeBranchReportResult:
		return "BranchReportResponse"
	case TypeGlobalStatus:
		return "GlobalStatusRequest"
	case TypeGlobalStatusResult:
		return "GlobalStatusResponse"
	case TypeGlobalReport:
		return "GlobalReportRequest"
	case TypeGlobalReportResult:
		return "GlobalReportResponse"
	case TypeGlobalLockQuery:
		return "GlobalLockQueryRequest"
	case TypeGlobalLockQueryResult:
		return "GlobalLockQueryResponse"
	case TypeMergedWarp:
		return "MergedWarpMessage"
	case TypeMergeResult:
		return "MergeResultMessage"
	case TypeRegisterTM:
		return "RegisterTMRequest"
	case TypeRegisterTMResult:
		return "RegisterTMResponse"
	case TypeRegisterRM:
		return "RegisterRMRequest"
	case TypeRegisterRMResult:
		return "RegisterRMResponse"
	case TypeUndoLogDelete:
		return "UndoLogDeleteRequest"
	case TypeHeartbeat:
		return "HeartbeatMessage"
	case TypeBatchResult:
		return "BatchResultMessage"
	}
	return "TypeCode(" + strconv.Itoa(int(c)) + ")"
}

// String returns the Java name of the result code.
func (c ResultCode) String() string {
	switch c {
	case ResultFailed:
		return "Failed"
	case ResultSuccess:
		return "Success"
	}
	return "ResultCode(" + strconv.Itoa(int(c)) + ")"
}

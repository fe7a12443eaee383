package protocol

// A Message is the decoded body of a frame. The set of messages is closed:
// only the types in this package implement it. Messages travel as pointers
// (*GlobalBeginRequest, ...).
//
// Encoding and decoding only read or fill a message; a message that is not
// being written to may be encoded from several goroutines at once.
type Message interface {
	// TypeCode is the body type code written before the message's fields.
	TypeCode() TypeCode

	encode(e *encoder) // appends the fields (not the type code)
	decode(d *decoder) // reads the fields (not the type code)
}

// Result is the prefix of every transaction response (§5, "TxResultPrefix").
// Msg is only on the wire when Code is ResultFailed.
type Result struct {
	Code          ResultCode
	Msg           string
	ExceptionCode ExceptionCode
}

// Frame is one v1 frame: the 16-byte header, the optional head map and the
// body. Body is nil for heartbeats and only for them.
type Frame struct {
	// Type is header byte 9. Java dispatches on the body type, but a frame
	// should still carry the right type (§2.2).
	Type MessageType
	// Codec must be CodecSeata, except on heartbeats, which have no body and
	// carry whatever codec byte the sender uses (Java: its configured codec,
	// CodecSeata by default; a PONG echoes the PING's).
	Codec Codec
	// Compressor says how the body is compressed: CompressNone (the default)
	// or CompressGzip. A response uses its request's compressor (§11 J9).
	Compressor Compressor
	// RequestID correlates a response with its request (§8.4).
	RequestID int32
	// HeadMap holds the optional head map; nil when the frame has none.
	// A null value on the wire (length -1) decodes as "".
	HeadMap map[string]string
	Body    Message
}

// RegisterTMRequest (101) registers a TM connection.
type RegisterTMRequest struct {
	Version        string
	ApplicationID  string
	TxServiceGroup string
	ExtraData      string
}

// RegisterTMResponse (102) has no result prefix on the wire.
type RegisterTMResponse struct {
	Identified bool
	Version    string
}

// RegisterRMRequest (103) registers an RM connection and its resources.
// ResourceIDs is the comma-separated list as sent on the wire.
type RegisterRMRequest struct {
	Version        string
	ApplicationID  string
	TxServiceGroup string
	ExtraData      string
	ResourceIDs    string
}

// RegisterRMResponse (104) has no result prefix on the wire.
type RegisterRMResponse struct {
	Identified bool
	Version    string
}

// GlobalBeginRequest (1) asks the TC for a new global transaction.
type GlobalBeginRequest struct {
	TimeoutMillis   int32
	TransactionName string
}

// GlobalBeginResponse (2) carries the new XID.
type GlobalBeginResponse struct {
	Result
	XID       string
	ExtraData string
}

// GlobalCommitRequest (7).
type GlobalCommitRequest struct {
	XID       string
	ExtraData string
}

// GlobalCommitResponse (8).
type GlobalCommitResponse struct {
	Result
	GlobalStatus GlobalStatus
}

// GlobalRollbackRequest (9).
type GlobalRollbackRequest struct {
	XID       string
	ExtraData string
}

// GlobalRollbackResponse (10).
type GlobalRollbackResponse struct {
	Result
	GlobalStatus GlobalStatus
}

// GlobalStatusRequest (15).
type GlobalStatusRequest struct {
	XID       string
	ExtraData string
}

// GlobalStatusResponse (16).
type GlobalStatusResponse struct {
	Result
	GlobalStatus GlobalStatus
}

// GlobalReportRequest (17). GlobalStatus may be GlobalStatusUnset.
type GlobalReportRequest struct {
	XID          string
	ExtraData    string
	GlobalStatus GlobalStatus
}

// GlobalReportResponse (18).
type GlobalReportResponse struct {
	Result
	GlobalStatus GlobalStatus
}

// BranchRegisterRequest (11) registers a branch; for AT it carries the lock
// keys ("table:pk1,pk2;table2:pk").
type BranchRegisterRequest struct {
	XID             string
	BranchType      BranchType
	ResourceID      string
	LockKey         string
	ApplicationData string
}

// BranchRegisterResponse (12).
type BranchRegisterResponse struct {
	Result
	BranchID int64
}

// BranchReportRequest (13). On the wire BranchType comes last.
type BranchReportRequest struct {
	XID             string
	BranchID        int64
	Status          BranchStatus
	ResourceID      string
	ApplicationData string
	BranchType      BranchType
}

// BranchReportResponse (14).
type BranchReportResponse struct {
	Result
}

// GlobalLockQueryRequest (21) has the layout of BranchRegisterRequest.
type GlobalLockQueryRequest struct {
	XID             string
	BranchType      BranchType
	ResourceID      string
	LockKey         string
	ApplicationData string
}

// GlobalLockQueryResponse (22). Lockable is an i16 on the wire.
type GlobalLockQueryResponse struct {
	Result
	Lockable bool
}

// BranchCommitRequest (3) is sent by the TC to an RM.
type BranchCommitRequest struct {
	XID             string
	BranchID        int64
	BranchType      BranchType
	ResourceID      string
	ApplicationData string
}

// BranchCommitResponse (4). BranchStatus is the only field the TC acts on.
type BranchCommitResponse struct {
	Result
	XID          string
	BranchID     int64
	BranchStatus BranchStatus
}

// BranchRollbackRequest (5) is sent by the TC to an RM.
type BranchRollbackRequest struct {
	XID             string
	BranchID        int64
	BranchType      BranchType
	ResourceID      string
	ApplicationData string
}

// BranchRollbackResponse (6).
type BranchRollbackResponse struct {
	Result
	XID          string
	BranchID     int64
	BranchStatus BranchStatus
}

// UndoLogDeleteRequest (111) is sent by the TC as a oneway request: delete
// undo logs older than SaveDays days.
type UndoLogDeleteRequest struct {
	BranchType BranchType
	ResourceID string
	SaveDays   int16
}

// MergedWarpMessage (59) batches TC-bound requests. MsgIDs holds the inner
// request ids (Java >= 1.5.0); it is nil when the sender omitted them.
type MergedWarpMessage struct {
	Messages []Message
	MsgIDs   []int32
}

// MergeResultMessage (60) answers a MergedWarpMessage with results in request
// order. Its frame carries the outer request id.
type MergeResultMessage struct {
	Results []Message
}

// BatchResultMessage (121) answers a MergedWarpMessage with results matched by
// MsgIDs.
type BatchResultMessage struct {
	Results []Message
	MsgIDs  []int32
}

// TypeCode returns TypeRegisterTM.
func (*RegisterTMRequest) TypeCode() TypeCode { return TypeRegisterTM }

// TypeCode returns TypeRegisterTMResult.
func (*RegisterTMResponse) TypeCode() TypeCode { return TypeRegisterTMResult }

// TypeCode returns TypeRegisterRM.
func (*RegisterRMRequest) TypeCode() TypeCode { return TypeRegisterRM }

// TypeCode returns TypeRegisterRMResult.
func (*RegisterRMResponse) TypeCode() TypeCode { return TypeRegisterRMResult }

// TypeCode returns TypeGlobalBegin.
func (*GlobalBeginRequest) TypeCode() TypeCode { return TypeGlobalBegin }

// TypeCode returns TypeGlobalBeginResult.
func (*GlobalBeginResponse) TypeCode() TypeCode { return TypeGlobalBeginResult }

// TypeCode returns TypeGlobalCommit.
func (*GlobalCommitRequest) TypeCode() TypeCode { return TypeGlobalCommit }

// TypeCode returns TypeGlobalCommitResult.
func (*GlobalCommitResponse) TypeCode() TypeCode { return TypeGlobalCommitResult }

// TypeCode returns TypeGlobalRollback.
func (*GlobalRollbackRequest) TypeCode() TypeCode { return TypeGlobalRollback }

// TypeCode returns TypeGlobalRollbackResult.
func (*GlobalRollbackResponse) TypeCode() TypeCode { return TypeGlobalRollbackResult }

// TypeCode returns TypeGlobalStatus.
func (*GlobalStatusRequest) TypeCode() TypeCode { return TypeGlobalStatus }

// TypeCode returns TypeGlobalStatusResult.
func (*GlobalStatusResponse) TypeCode() TypeCode { return TypeGlobalStatusResult }

// TypeCode returns TypeGlobalReport.
func (*GlobalReportRequest) TypeCode() TypeCode { return TypeGlobalReport }

// TypeCode returns TypeGlobalReportResult.
func (*GlobalReportResponse) TypeCode() TypeCode { return TypeGlobalReportResult }

// TypeCode returns TypeBranchRegister.
func (*BranchRegisterRequest) TypeCode() TypeCode { return TypeBranchRegister }

// TypeCode returns TypeBranchRegisterResult.
func (*BranchRegisterResponse) TypeCode() TypeCode { return TypeBranchRegisterResult }

// TypeCode returns TypeBranchReport.
func (*BranchReportRequest) TypeCode() TypeCode { return TypeBranchReport }

// TypeCode returns TypeBranchReportResult.
func (*BranchReportResponse) TypeCode() TypeCode { return TypeBranchReportResult }

// TypeCode returns TypeGlobalLockQuery.
func (*GlobalLockQueryRequest) TypeCode() TypeCode { return TypeGlobalLockQuery }

// TypeCode returns TypeGlobalLockQueryResult.
func (*GlobalLockQueryResponse) TypeCode() TypeCode { return TypeGlobalLockQueryResult }

// TypeCode returns TypeBranchCommit.
func (*BranchCommitRequest) TypeCode() TypeCode { return TypeBranchCommit }

// TypeCode returns TypeBranchCommitResult.
func (*BranchCommitResponse) TypeCode() TypeCode { return TypeBranchCommitResult }

// TypeCode returns TypeBranchRollback.
func (*BranchRollbackRequest) TypeCode() TypeCode { return TypeBranchRollback }

// TypeCode returns TypeBranchRollbackResult.
func (*BranchRollbackResponse) TypeCode() TypeCode { return TypeBranchRollbackResult }

// TypeCode returns TypeUndoLogDelete.
func (*UndoLogDeleteRequest) TypeCode() TypeCode { return TypeUndoLogDelete }

// TypeCode returns TypeMergedWarp.
func (*MergedWarpMessage) TypeCode() TypeCode { return TypeMergedWarp }

// TypeCode returns TypeMergeResult.
func (*MergeResultMessage) TypeCode() TypeCode { return TypeMergeResult }

// TypeCode returns TypeBatchResult.
func (*BatchResultMessage) TypeCode() TypeCode { return TypeBatchResult }

// ResultOf returns the Result prefix of a transaction response, and false for
// messages that have none (requests, Register responses, batches).
func ResultOf(m Message) (*Result, bool) {
	switch r := m.(type) {
	case *GlobalBeginResponse:
		return &r.Result, true
	case *GlobalCommitResponse:
		return &r.Result, true
	case *GlobalRollbackResponse:
		return &r.Result, true
	case *GlobalStatusResponse:
		return &r.Result, true
	case *GlobalReportResponse:
		return &r.Result, true
	case *BranchRegisterResponse:
		return &r.Result, true
	case *BranchReportResponse:
		return &r.Result, true
	case *GlobalLockQueryResponse:
		return &r.Result, true
	case *BranchCommitResponse:
		return &r.Result, true
	case *BranchRollbackResponse:
		return &r.Result, true
	}
	return nil, false
}

// XIDOf returns the XID a TM or RM request names (GlobalCommit,
// GlobalRollback, GlobalStatus, GlobalReport, BranchRegister,
// BranchReport, GlobalLockQuery), or "" for any other message.
func XIDOf(m Message) string {
	switch r := m.(type) {
	case *GlobalCommitRequest:
		return r.XID
	case *GlobalRollbackRequest:
		return r.XID
	case *GlobalStatusRequest:
		return r.XID
	case *GlobalReportRequest:
		return r.XID
	case *BranchRegisterRequest:
		return r.XID
	case *BranchReportRequest:
		return r.XID
	case *GlobalLockQueryRequest:
		return r.XID
	}
	return ""
}

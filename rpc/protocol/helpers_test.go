package protocol

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// vector is one entry of testdata/vectors/vectors.json: a frame produced by
// the Java reference encoder and the field values it carries.
type vector struct {
	Name        string            `json:"name"`
	Hex         string            `json:"hex"`
	Version     json.Number       `json:"version"`
	MessageType string            `json:"messageType"`
	Codec       json.Number       `json:"codec"`
	Compressor  json.Number       `json:"compressor"`
	RequestID   json.Number       `json:"requestId"`
	HeadMap     map[string]string `json:"headMap"`
	Body        map[string]any    `json:"body"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var vs []vector
	if err := dec.Decode(&vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 44 {
		t.Fatalf("vectors.json has %d vectors, want 44", len(vs))
	}
	return vs
}

// readHex reads a .hex file: lowercase hex on one line.
func readHex(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// allVectorFrames returns every valid vector frame by file name.
func allVectorFrames(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/vectors/*.hex")
	if err != nil || len(files) != 44 {
		t.Fatalf("want 44 vector files, got %d (%v)", len(files), err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".hex")] = readHex(t, f)
	}
	return out
}

// num renders an integer the way vectors.json (decoded with UseNumber) does.
func num[T ~int8 | ~int16 | ~int32 | ~int64 | ~uint8](v T) json.Number {
	return json.Number(strings.TrimSpace(jsonInt(int64(v))))
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// javaFields renders a message as vectors.json does: Java field names, enums
// by name, transactionExceptionCode as its number, msg only when failed.
func javaFields(m Message) map[string]any {
	out := map[string]any{"type": m.TypeCode().String(), "typeCode": num(int16(m.TypeCode()))}
	result := func(r *Result) {
		out["resultCode"] = r.Code.String()
		if r.Code == ResultFailed {
			out["msg"] = r.Msg
		}
		out["transactionExceptionCode"] = num(uint8(r.ExceptionCode))
	}
	switch m := m.(type) {
	case *RegisterTMRequest:
		out["version"], out["applicationId"], out["transactionServiceGroup"], out["extraData"] =
			m.Version, m.ApplicationID, m.TxServiceGroup, m.ExtraData
	case *RegisterRMRequest:
		out["version"], out["applicationId"], out["transactionServiceGroup"], out["extraData"], out["resourceIds"] =
			m.Version, m.ApplicationID, m.TxServiceGroup, m.ExtraData, m.ResourceIDs
	case *RegisterTMResponse:
		out["identified"], out["version"] = m.Identified, m.Version
	case *RegisterRMResponse:
		out["identified"], out["version"] = m.Identified, m.Version
	case *GlobalBeginRequest:
		out["timeout"], out["transactionName"] = num(m.TimeoutMillis), m.TransactionName
	case *GlobalBeginResponse:
		result(&m.Result)
		out["xid"], out["extraData"] = m.XID, m.ExtraData
	case *GlobalCommitRequest:
		out["xid"], out["extraData"] = m.XID, m.ExtraData
	case *GlobalRollbackRequest:
		out["xid"], out["extraData"] = m.XID, m.ExtraData
	case *GlobalStatusRequest:
		out["xid"], out["extraData"] = m.XID, m.ExtraData
	case *GlobalReportRequest:
		out["xid"], out["extraData"], out["globalStatus"] = m.XID, m.ExtraData, m.GlobalStatus.String()
	case *GlobalCommitResponse:
		result(&m.Result)
		out["globalStatus"] = m.GlobalStatus.String()
	case *GlobalRollbackResponse:
		result(&m.Result)
		out["globalStatus"] = m.GlobalStatus.String()
	case *GlobalStatusResponse:
		result(&m.Result)
		out["globalStatus"] = m.GlobalStatus.String()
	case *GlobalReportResponse:
		result(&m.Result)
		out["globalStatus"] = m.GlobalStatus.String()
	case *BranchRegisterRequest:
		out["xid"], out["branchType"], out["resourceId"], out["lockKey"], out["applicationData"] =
			m.XID, m.BranchType.String(), m.ResourceID, m.LockKey, m.ApplicationData
	case *GlobalLockQueryRequest:
		out["xid"], out["branchType"], out["resourceId"], out["lockKey"], out["applicationData"] =
			m.XID, m.BranchType.String(), m.ResourceID, m.LockKey, m.ApplicationData
	case *BranchRegisterResponse:
		result(&m.Result)
		out["branchId"] = num(m.BranchID)
	case *BranchReportRequest:
		out["xid"], out["branchId"], out["status"], out["resourceId"], out["applicationData"], out["branchType"] =
			m.XID, num(m.BranchID), m.Status.String(), m.ResourceID, m.ApplicationData, m.BranchType.String()
	case *BranchReportResponse:
		result(&m.Result)
	case *GlobalLockQueryResponse:
		result(&m.Result)
		out["lockable"] = m.Lockable
	case *BranchCommitRequest:
		out["xid"], out["branchId"], out["branchType"], out["resourceId"], out["applicationData"] =
			m.XID, num(m.BranchID), m.BranchType.String(), m.ResourceID, m.ApplicationData
	case *BranchRollbackRequest:
		out["xid"], out["branchId"], out["branchType"], out["resourceId"], out["applicationData"] =
			m.XID, num(m.BranchID), m.BranchType.String(), m.ResourceID, m.ApplicationData
	case *BranchCommitResponse:
		result(&m.Result)
		out["xid"], out["branchId"], out["branchStatus"] = m.XID, num(m.BranchID), m.BranchStatus.String()
	case *BranchRollbackResponse:
		result(&m.Result)
		out["xid"], out["branchId"], out["branchStatus"] = m.XID, num(m.BranchID), m.BranchStatus.String()
	case *UndoLogDeleteRequest:
		out["branchType"], out["resourceId"], out["saveDays"] = m.BranchType.String(), m.ResourceID, num(m.SaveDays)
	case *MergedWarpMessage:
		out["messages"] = javaList(m.Messages)
		if m.MsgIDs != nil {
			out["msgIds"] = idList(m.MsgIDs)
		}
	case *MergeResultMessage:
		out["messages"] = javaList(m.Results)
	case *BatchResultMessage:
		out["messages"] = javaList(m.Results)
		out["msgIds"] = idList(m.MsgIDs)
	default:
		panic("javaFields: unhandled " + m.TypeCode().String())
	}
	return out
}

func javaList(ms []Message) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = javaFields(m)
	}
	return out
}

func idList(ids []int32) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = num(id)
	}
	return out
}

// equalFrames compares two frames by value, treating a nil and an empty head
// map alike.
func equalFrames(a, b *Frame) bool {
	if len(a.HeadMap) == 0 && len(b.HeadMap) == 0 {
		a2, b2 := *a, *b
		a2.HeadMap, b2.HeadMap = nil, nil
		return reflect.DeepEqual(&a2, &b2)
	}
	return reflect.DeepEqual(a, b)
}

// mustAppendFrame encodes f or fails the test.
func mustAppendFrame(t testing.TB, f *Frame) []byte {
	t.Helper()
	b, err := AppendFrame(nil, f)
	if err != nil {
		t.Fatalf("AppendFrame(%v): %v", describe(f), err)
	}
	return b
}

func describe(f *Frame) string {
	if f.Body == nil {
		return f.Type.String()
	}
	return f.Type.String() + "/" + f.Body.TypeCode().String()
}

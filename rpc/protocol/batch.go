package protocol

import (
	"encoding/binary"
	"math"
)

// Batches (§6.17 - §6.19): MergedWarpMessage carries TC-bound requests,
// MergeResultMessage and BatchResultMessage carry their results. Each starts
// with an i32 contentLength (the bytes after it) and an i16 count; the items
// follow without per-item lengths.

// Smallest encoded size, type code included, of an item allowed in a batch.
// The decoder refuses counts that cannot fit in the bytes present before it
// allocates anything for them.
const (
	minBatchRequest = 6 // GlobalCommit/Rollback/StatusRequest with empty strings
	minBatchResult  = 4 // successful BranchReportResponse
)

// isBatchRequest reports whether t may travel inside a MergedWarpMessage:
// the requests a TC handles (§6.17), and BranchCommit, which an atcc
// coordinator merges for an atcc RM that announced it can answer
// (internal/rpc: ServerSession.CallMerged). Java never puts BranchCommit in
// a batch; a Java or seata-go RM is never sent one.
func isBatchRequest(t TypeCode) bool {
	switch t {
	case TypeGlobalBegin, TypeGlobalCommit, TypeGlobalRollback, TypeBranchRegister,
		TypeBranchReport, TypeGlobalStatus, TypeGlobalReport, TypeGlobalLockQuery,
		TypeBranchCommit:
		return true
	}
	return false
}

// isBatchResult reports whether t may travel inside a MergeResultMessage or
// BatchResultMessage: the responses to the batchable requests.
func isBatchResult(t TypeCode) bool {
	switch t {
	case TypeGlobalBeginResult, TypeGlobalCommitResult, TypeGlobalRollbackResult, TypeBranchRegisterResult,
		TypeBranchReportResult, TypeGlobalStatusResult, TypeGlobalReportResult, TypeGlobalLockQueryResult,
		TypeBranchCommitResult:
		return true
	}
	return false
}

func (m *MergedWarpMessage) encode(e *encoder) {
	if m.MsgIDs != nil && len(m.MsgIDs) != len(m.Messages) {
		e.fail("msgIds", errorf(ErrInvalidMessage, "%d ids for %d messages", len(m.MsgIDs), len(m.Messages)))
	}
	at := e.batchStart(len(m.Messages))
	e.items(m.Messages, isBatchRequest)
	for _, id := range m.MsgIDs {
		e.i32(id)
	}
	e.batchEnd(at)
}

// decode reads msgIds only if bytes remain after the messages: Java clients
// before 1.5.0 do not send them.
func (m *MergedWarpMessage) decode(d *decoder) {
	n := d.batchStart(minBatchRequest)
	m.Messages = d.items(n, isBatchRequest)
	if d.err == nil && d.left() > 0 {
		m.MsgIDs = d.ids(n)
	}
}

func (m *MergeResultMessage) encode(e *encoder) {
	at := e.batchStart(len(m.Results))
	e.items(m.Results, isBatchResult)
	e.batchEnd(at)
}

func (m *MergeResultMessage) decode(d *decoder) {
	n := d.batchStart(minBatchResult)
	m.Results = d.items(n, isBatchResult)
}

func (m *BatchResultMessage) encode(e *encoder) {
	if len(m.MsgIDs) != len(m.Results) {
		e.fail("msgIds", errorf(ErrInvalidMessage, "%d ids for %d results", len(m.MsgIDs), len(m.Results)))
	}
	at := e.batchStart(len(m.Results))
	e.items(m.Results, isBatchResult)
	for _, id := range m.MsgIDs {
		e.i32(id)
	}
	e.batchEnd(at)
}

func (m *BatchResultMessage) decode(d *decoder) {
	n := d.batchStart(minBatchResult)
	m.Results = d.items(n, isBatchResult)
	m.MsgIDs = d.ids(n)
}

// batchStart writes a placeholder contentLength and the count; it returns
// the offset of the placeholder for batchEnd.
func (e *encoder) batchStart(n int) int {
	if n > math.MaxInt16 {
		e.fail("messages", errorf(ErrFrameTooLarge, "%d messages, max %d", n, math.MaxInt16))
	}
	at := len(e.b)
	e.i32(0)
	e.i16(int16(n))
	return at
}

// batchEnd sets contentLength to the number of bytes after it.
func (e *encoder) batchEnd(at int) {
	n := len(e.b) - at - 4
	if n > MaxFrameLength {
		e.fail("contentLength", errorf(ErrFrameTooLarge, "%d bytes, max %d", n, MaxFrameLength))
		return
	}
	binary.BigEndian.PutUint32(e.b[at:], uint32(n))
}

func (e *encoder) items(ms []Message, allowed func(TypeCode) bool) {
	for i, m := range ms {
		if m == nil {
			e.fail(fieldAt("messages", i), errorf(ErrInvalidMessage, "nil message"))
			return
		}
		if tc := m.TypeCode(); !allowed(tc) {
			e.fail(fieldAt("messages", i), errorf(ErrInvalidMessage, "%v is not allowed in %v", tc, e.tc))
			return
		}
		e.message(m)
	}
}

// batchStart reads contentLength and count. contentLength must equal the
// bytes left (Java ignores a surplus; we do not), and count must fit in
// them at minItem bytes per item. It returns the count, 0 on error.
func (d *decoder) batchStart(minItem int) int {
	cl := int(d.i32("contentLength"))
	if d.err != nil {
		return 0
	}
	if left := d.left(); cl > left {
		d.fail("contentLength", errorf(ErrTruncated, "length %d, %d bytes left", cl, left))
		return 0
	} else if cl != left {
		d.fail("contentLength", errorf(ErrCorruptFrame, "length %d, but %d bytes follow", cl, left))
		return 0
	}
	n := int(d.i16("count"))
	switch {
	case d.err != nil:
		return 0
	case n < 0:
		d.fail("count", errorf(ErrCorruptFrame, "negative count %d", n))
		return 0
	case n > d.left()/minItem:
		d.fail("count", errorf(ErrTruncated, "count %d cannot fit in %d bytes", n, d.left()))
		return 0
	}
	return n
}

// items decodes n items whose type codes pass allowed. It returns nil for
// n == 0.
func (d *decoder) items(n int, allowed func(TypeCode) bool) []Message {
	if n == 0 || d.err != nil {
		return nil
	}
	ms := make([]Message, n)
	for i := range ms {
		if d.left() < 2 {
			d.fail(fieldAt("messages", i), errorf(ErrTruncated, "need 2 bytes, %d left", d.left()))
			return nil
		}
		tc := TypeCode(d.i16("typeCode"))
		if !allowed(tc) {
			d.fail(fieldAt("messages", i), errorf(ErrUnknownType, "%d (%v) is not allowed in %v", int16(tc), tc, d.tc))
			return nil
		}
		_, ms[i] = d.fields(tc, false)
		if d.err != nil {
			d.err = &DecodeError{Type: d.tc, Field: fieldAt("messages", i), Err: d.err}
			return nil
		}
	}
	return ms
}

// ids reads n msgIds, which must be exactly the bytes left.
func (d *decoder) ids(n int) []int32 {
	if d.err != nil {
		return nil
	}
	if left := d.left(); left < 4*n {
		d.fail("msgIds", errorf(ErrTruncated, "%d ids need %d bytes, %d left", n, 4*n, left))
		return nil
	} else if left > 4*n {
		d.fail("msgIds", errorf(ErrCorruptFrame, "%d ids need %d bytes, %d left", n, 4*n, left))
		return nil
	}
	if n == 0 {
		return nil
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = d.i32("msgIds")
	}
	return ids
}

// fieldAt names item i of a list field; it runs on error paths only.
func fieldAt(field string, i int) string {
	return field + "[" + itoa(i) + "]"
}

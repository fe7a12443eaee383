package protocol

// Branch messages, RM <-> TC (§6.9 - §6.16).

// BranchRegisterRequest and GlobalLockQueryRequest share one layout.

func (m *BranchRegisterRequest) encode(e *encoder) {
	e.branchLock(m.XID, m.BranchType, m.ResourceID, m.LockKey, m.ApplicationData)
}

func (m *BranchRegisterRequest) decode(d *decoder) {
	m.XID, m.BranchType, m.ResourceID, m.LockKey, m.ApplicationData = d.branchLock()
}

func (m *GlobalLockQueryRequest) encode(e *encoder) {
	e.branchLock(m.XID, m.BranchType, m.ResourceID, m.LockKey, m.ApplicationData)
}

func (m *GlobalLockQueryRequest) decode(d *decoder) {
	m.XID, m.BranchType, m.ResourceID, m.LockKey, m.ApplicationData = d.branchLock()
}

func (e *encoder) branchLock(xid string, bt BranchType, resourceID, lockKey, appData string) {
	e.str16("xid", xid)
	e.branchType("branchType", bt)
	e.str16("resourceId", resourceID)
	e.str32("lockKey", lockKey)
	e.str32("applicationData", appData)
}

func (d *decoder) branchLock() (xid string, bt BranchType, resourceID, lockKey, appData string) {
	xid = d.str16("xid")
	bt = d.branchType("branchType")
	resourceID = d.name16("resourceId")
	lockKey = d.str32("lockKey")
	appData = d.name32("applicationData")
	return
}

func (m *BranchRegisterResponse) encode(e *encoder) {
	e.result(&m.Result)
	e.i64(m.BranchID)
}

func (m *BranchRegisterResponse) decode(d *decoder) {
	d.result(&m.Result)
	m.BranchID = d.i64("branchId")
}

// BranchReportRequest: branchType comes last, after applicationData.

func (m *BranchReportRequest) encode(e *encoder) {
	e.str16("xid", m.XID)
	e.i64(m.BranchID)
	e.branchStatus("status", m.Status)
	e.str16("resourceId", m.ResourceID)
	e.str32("applicationData", m.ApplicationData)
	e.branchType("branchType", m.BranchType)
}

func (m *BranchReportRequest) decode(d *decoder) {
	m.XID = d.str16("xid")
	m.BranchID = d.i64("branchId")
	m.Status = d.branchStatus("status")
	m.ResourceID = d.name16("resourceId")
	m.ApplicationData = d.name32("applicationData")
	m.BranchType = d.branchType("branchType")
}

func (m *BranchReportResponse) encode(e *encoder) { e.result(&m.Result) }
func (m *BranchReportResponse) decode(d *decoder) { d.result(&m.Result) }

// GlobalLockQueryResponse: lockable is an i16, read as true only for 1.

func (m *GlobalLockQueryResponse) encode(e *encoder) {
	e.result(&m.Result)
	e.i16(int16(b2u(m.Lockable)))
}

func (m *GlobalLockQueryResponse) decode(d *decoder) {
	d.result(&m.Result)
	m.Lockable = d.i16("lockable") == 1
}

// BranchCommitRequest and BranchRollbackRequest share
// "AbstractBranchEndRequest".

func (m *BranchCommitRequest) encode(e *encoder) {
	e.branchEnd(m.XID, m.BranchID, m.BranchType, m.ResourceID, m.ApplicationData)
}

func (m *BranchCommitRequest) decode(d *decoder) {
	m.XID, m.BranchID, m.BranchType, m.ResourceID, m.ApplicationData = d.branchEnd()
}

func (m *BranchRollbackRequest) encode(e *encoder) {
	e.branchEnd(m.XID, m.BranchID, m.BranchType, m.ResourceID, m.ApplicationData)
}

func (m *BranchRollbackRequest) decode(d *decoder) {
	m.XID, m.BranchID, m.BranchType, m.ResourceID, m.ApplicationData = d.branchEnd()
}

func (e *encoder) branchEnd(xid string, branchID int64, bt BranchType, resourceID, appData string) {
	e.str16("xid", xid)
	e.i64(branchID)
	e.branchType("branchType", bt)
	e.str16("resourceId", resourceID)
	e.str32("applicationData", appData)
}

func (d *decoder) branchEnd() (xid string, branchID int64, bt BranchType, resourceID, appData string) {
	xid = d.str16("xid")
	branchID = d.i64("branchId")
	bt = d.branchType("branchType")
	resourceID = d.name16("resourceId")
	appData = d.name32("applicationData")
	return
}

// BranchCommitResponse and BranchRollbackResponse share
// "AbstractBranchEndResponse". The msg of a failed result has an i16
// length; seata-go v1.2.0 writes one byte (§10 D1), which fails here with
// ErrTruncated or a later error, never with a wrong value.

func (m *BranchCommitResponse) encode(e *encoder) {
	e.branchEndResult(&m.Result, m.XID, m.BranchID, m.BranchStatus)
}

func (m *BranchCommitResponse) decode(d *decoder) {
	m.XID, m.BranchID, m.BranchStatus = d.branchEndResult(&m.Result)
}

func (m *BranchRollbackResponse) encode(e *encoder) {
	e.branchEndResult(&m.Result, m.XID, m.BranchID, m.BranchStatus)
}

func (m *BranchRollbackResponse) decode(d *decoder) {
	m.XID, m.BranchID, m.BranchStatus = d.branchEndResult(&m.Result)
}

func (e *encoder) branchEndResult(r *Result, xid string, branchID int64, s BranchStatus) {
	e.result(r)
	e.str16("xid", xid)
	e.i64(branchID)
	e.branchStatus("branchStatus", s)
}

func (d *decoder) branchEndResult(r *Result) (xid string, branchID int64, s BranchStatus) {
	d.result(r)
	xid = d.str16("xid")
	branchID = d.i64("branchId")
	s = d.branchStatus("branchStatus")
	return
}

func (m *UndoLogDeleteRequest) encode(e *encoder) {
	e.branchType("branchType", m.BranchType)
	e.str16("resourceId", m.ResourceID)
	e.i16(m.SaveDays)
}

func (m *UndoLogDeleteRequest) decode(d *decoder) {
	m.BranchType = d.branchType("branchType")
	m.ResourceID = d.name16("resourceId")
	m.SaveDays = d.i16("saveDays")
}

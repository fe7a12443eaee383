package protocol

// Global transaction messages, TM <-> TC (§6.4 - §6.8).

func (m *GlobalBeginRequest) encode(e *encoder) {
	e.i32(m.TimeoutMillis)
	e.str16("transactionName", m.TransactionName)
}

func (m *GlobalBeginRequest) decode(d *decoder) {
	m.TimeoutMillis = d.i32("timeout")
	m.TransactionName = d.name16("transactionName")
}

func (m *GlobalBeginResponse) encode(e *encoder) {
	e.result(&m.Result)
	e.str16("xid", m.XID)
	e.str16("extraData", m.ExtraData)
}

func (m *GlobalBeginResponse) decode(d *decoder) {
	d.result(&m.Result)
	m.XID = d.str16("xid")
	m.ExtraData = d.str16("extraData")
}

// GlobalCommit, GlobalRollback and GlobalStatus requests share the
// "AbstractGlobalEndRequest" layout: xid, extraData.

func (m *GlobalCommitRequest) encode(e *encoder) { e.globalEnd(m.XID, m.ExtraData) }
func (m *GlobalCommitRequest) decode(d *decoder) { m.XID, m.ExtraData = d.globalEnd() }

func (m *GlobalRollbackRequest) encode(e *encoder) { e.globalEnd(m.XID, m.ExtraData) }
func (m *GlobalRollbackRequest) decode(d *decoder) { m.XID, m.ExtraData = d.globalEnd() }

func (m *GlobalStatusRequest) encode(e *encoder) { e.globalEnd(m.XID, m.ExtraData) }
func (m *GlobalStatusRequest) decode(d *decoder) { m.XID, m.ExtraData = d.globalEnd() }

func (e *encoder) globalEnd(xid, extraData string) {
	e.str16("xid", xid)
	e.str16("extraData", extraData)
}

func (d *decoder) globalEnd() (xid, extraData string) {
	xid = d.str16("xid")
	extraData = d.str16("extraData")
	return xid, extraData
}

// GlobalReportRequest is the global-end layout plus a status byte, where
// 0xFF (GlobalStatusUnset) stands for null.

func (m *GlobalReportRequest) encode(e *encoder) {
	e.globalEnd(m.XID, m.ExtraData)
	e.globalStatus("globalStatus", m.GlobalStatus, true)
}

func (m *GlobalReportRequest) decode(d *decoder) {
	m.XID, m.ExtraData = d.globalEnd()
	m.GlobalStatus = d.globalStatus("globalStatus", true)
}

// The four global-end responses share "AbstractGlobalEndResponse": result
// prefix, globalStatus (always present, also on failure).

func (m *GlobalCommitResponse) encode(e *encoder)   { e.globalEndResult(&m.Result, m.GlobalStatus) }
func (m *GlobalCommitResponse) decode(d *decoder)   { m.GlobalStatus = d.globalEndResult(&m.Result) }
func (m *GlobalRollbackResponse) encode(e *encoder) { e.globalEndResult(&m.Result, m.GlobalStatus) }
func (m *GlobalRollbackResponse) decode(d *decoder) { m.GlobalStatus = d.globalEndResult(&m.Result) }
func (m *GlobalStatusResponse) encode(e *encoder)   { e.globalEndResult(&m.Result, m.GlobalStatus) }
func (m *GlobalStatusResponse) decode(d *decoder)   { m.GlobalStatus = d.globalEndResult(&m.Result) }
func (m *GlobalReportResponse) encode(e *encoder)   { e.globalEndResult(&m.Result, m.GlobalStatus) }
func (m *GlobalReportResponse) decode(d *decoder)   { m.GlobalStatus = d.globalEndResult(&m.Result) }

func (e *encoder) globalEndResult(r *Result, s GlobalStatus) {
	e.result(r)
	e.globalStatus("globalStatus", s, false)
}

func (d *decoder) globalEndResult(r *Result) GlobalStatus {
	d.result(r)
	return d.globalStatus("globalStatus", false)
}

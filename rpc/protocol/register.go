package protocol

// Registration messages (§6.1, §6.2). The responses carry no result prefix.

func (m *RegisterTMRequest) encode(e *encoder) {
	e.str16("version", m.Version)
	e.str16("applicationId", m.ApplicationID)
	e.str16("transactionServiceGroup", m.TxServiceGroup)
	e.str16("extraData", m.ExtraData)
}

func (m *RegisterTMRequest) decode(d *decoder) {
	m.Version = d.name16("version")
	m.ApplicationID = d.name16("applicationId")
	m.TxServiceGroup = d.name16("transactionServiceGroup")
	m.ExtraData = d.str16("extraData")
}

func (m *RegisterTMResponse) encode(e *encoder) {
	e.bool8(m.Identified)
	e.str16("version", m.Version)
}

func (m *RegisterTMResponse) decode(d *decoder) {
	m.Identified = d.bool8("identified")
	m.Version = d.name16("version")
}

func (m *RegisterRMRequest) encode(e *encoder) {
	e.str16("version", m.Version)
	e.str16("applicationId", m.ApplicationID)
	e.str16("transactionServiceGroup", m.TxServiceGroup)
	e.str16("extraData", m.ExtraData)
	e.str32("resourceIds", m.ResourceIDs)
}

// decode reads every field even when the version is empty. The Java decoder
// stops after an empty version (§11 J2), so a Java TC loses the rest; we do
// not, and a sender should still never leave Version empty.
func (m *RegisterRMRequest) decode(d *decoder) {
	m.Version = d.name16("version")
	m.ApplicationID = d.name16("applicationId")
	m.TxServiceGroup = d.name16("transactionServiceGroup")
	m.ExtraData = d.str16("extraData")
	m.ResourceIDs = d.str32("resourceIds")
}

func (m *RegisterRMResponse) encode(e *encoder) {
	e.bool8(m.Identified)
	e.str16("version", m.Version)
}

func (m *RegisterRMResponse) decode(d *decoder) {
	m.Identified = d.bool8("identified")
	m.Version = d.name16("version")
}

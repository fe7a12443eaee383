package tcc

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The action context travels as the branch's application data in Seata's
// layout, {"actionContext":{...}}, holding the user's Params next to the
// keys Seata's TCC resource managers (Java, seata-go) write. These are the
// reserved keys.
const (
	keyActionContext = "actionContext"
	keyStartTime     = "action-start-time" // Try's start, Unix milliseconds
	keyActionName    = "actionName"
	keyHostName      = "host-name"
	keyPrepare       = "sys::prepare"
	keyCommit        = "sys::commit"
	keyRollback      = "sys::rollback"
	sysPrefix        = "sys::"
)

// reservedKey reports whether key is one the action context itself uses.
func reservedKey(key string) bool {
	return key == keyStartTime || key == keyActionName || key == keyHostName || strings.HasPrefix(key, sysPrefix)
}

// contextCodec writes and reads the application data of one action.
// It is immutable once built, so safe for concurrent use.
type contextCodec struct {
	// tail is the part of the action context that is the same for every
	// branch of the action: the members after the start time, without the
	// closing braces.
	tail []byte
}

// newContextCodec prepares the encoding of the action context of action
// name on host.
func newContextCodec(name, host string) contextCodec {
	q := func(s string) string {
		b, _ := json.Marshal(s) // a string always encodes
		return string(b)
	}
	tail := "," + q(keyActionName) + ":" + q(name) +
		"," + q(keyHostName) + ":" + q(host) +
		"," + q(keyCommit) + `:"Confirm"` +
		"," + q(keyPrepare) + `:"Try"` +
		"," + q(keyRollback) + `:"Cancel"`
	return contextCodec{tail: []byte(tail)}
}

// contextHead opens the application data up to the start time's value.
const contextHead = `{"` + keyActionContext + `":{"` + keyStartTime + `":`

// encode returns the application data for a Try of params started at
// start, and the JSON object of params alone (nil when there are none).
func (c contextCodec) encode(params Params, start time.Time) (data string, user []byte, err error) {
	for k := range params {
		if reservedKey(k) {
			return "", nil, fmt.Errorf("%w: key %q is reserved", ErrInvalidParams, k)
		}
	}
	if len(params) > 0 {
		if user, err = json.Marshal(map[string]any(params)); err != nil {
			return "", nil, fmt.Errorf("%w: %v", ErrInvalidParams, err)
		}
	}
	buf := make([]byte, 0, len(contextHead)+20+len(c.tail)+len(user)+2)
	buf = append(buf, contextHead...)
	buf = strconv.AppendInt(buf, start.UnixMilli(), 10)
	buf = append(buf, c.tail...)
	if len(user) > 2 { // more than "{}": splice the members in
		buf = append(buf, ',')
		buf = append(buf, user[1:len(user)-1]...)
	}
	buf = append(buf, "}}"...)
	return string(buf), user, nil
}

// decodeObject decodes a JSON object with numbers kept as json.Number.
func decodeObject(data string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON object")
	}
	return m, nil
}

// paramsOf returns the view of the user's parameters in JSON object user
// (as encode returned it).
func paramsOf(user []byte) (ParamsView, error) {
	if len(user) == 0 {
		return ParamsView{}, nil
	}
	m, err := decodeObject(string(user))
	if err != nil {
		return ParamsView{}, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	return ParamsView{m}, nil
}

// decodeContext returns the user's parameters held by the application data
// of a phase-two request, dropping the reserved keys. Empty data (a branch
// registered by something else than Participant.Try) yields no parameters.
func decodeContext(data string) (ParamsView, error) {
	if data == "" {
		return ParamsView{}, nil
	}
	top, err := decodeObject(data)
	if err != nil {
		return ParamsView{}, fmt.Errorf("%w: %v", ErrApplicationData, err)
	}
	raw, ok := top[keyActionContext]
	if !ok {
		return ParamsView{}, fmt.Errorf("%w: no %q member", ErrApplicationData, keyActionContext)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return ParamsView{}, fmt.Errorf("%w: %q is %s, not an object", ErrApplicationData, keyActionContext, jsonKind(raw))
	}
	for k := range m {
		if reservedKey(k) {
			delete(m, k)
		}
	}
	return ParamsView{m}, nil
}

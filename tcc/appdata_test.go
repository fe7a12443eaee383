package tcc

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncodeLayout(t *testing.T) {
	c := newContextCodec("orderTcc", "host-1")
	start := time.UnixMilli(1795423695412)
	data, user, err := c.encode(Params{"orderId": 1001, "note": "x"}, start)
	require.NoError(t, err)
	require.Equal(t, `{"actionContext":{"action-start-time":1795423695412,"actionName":"orderTcc","host-name":"host-1",`+
		`"sys::commit":"Confirm","sys::prepare":"Try","sys::rollback":"Cancel","note":"x","orderId":1001}}`, data)
	require.JSONEq(t, `{"note":"x","orderId":1001}`, string(user))
	require.True(t, json.Valid([]byte(data)))

	data, user, err = c.encode(nil, start)
	require.NoError(t, err)
	require.Nil(t, user)
	require.True(t, json.Valid([]byte(data)))
	v, err := decodeContext(data)
	require.NoError(t, err)
	require.Equal(t, 0, v.Len(), "the reserved keys are not parameters")

	// Names that need escaping stay valid JSON.
	c = newContextCodec(`we"ird\name`, "h")
	data, _, err = c.encode(Params{"k": 1}, start)
	require.NoError(t, err)
	require.True(t, json.Valid([]byte(data)), data)
}

func TestEncodeRefuses(t *testing.T) {
	c := newContextCodec("a", "h")
	for _, p := range []Params{
		{"actionName": "x"},
		{"action-start-time": 1},
		{"host-name": "h"},
		{"sys::anything": true},
		{"f": math.NaN()},
		{"c": make(chan int)},
	} {
		_, _, err := c.encode(p, time.Now())
		require.ErrorIs(t, err, ErrInvalidParams, "%v", p)
	}
}

func TestDecodeForeignContexts(t *testing.T) {
	// As the protocol vectors carry it.
	v, err := decodeContext(`{"actionContext":{"orderId":1001}}`)
	require.NoError(t, err)
	n, err := v.Int64("orderId")
	require.NoError(t, err)
	require.EqualValues(t, 1001, n)

	// As seata-go v1.2.0 writes it (captured frame).
	v, err = decodeContext(`{"actionContext":{"action-start-time":1795423695412,"actionName":"SeataGoPeerActionA",` +
		`"host-name":"192.0.2.2","seq":0,"sys::commit":"Commit","sys::prepare":"Prepare","sys::rollback":"Rollback"}}`)
	require.NoError(t, err)
	require.Equal(t, 1, v.Len())
	require.True(t, v.Has("seq"))

	v, err = decodeContext("")
	require.NoError(t, err)
	require.Equal(t, 0, v.Len())

	for _, bad := range []string{`{`, `[]`, `{"other":{}}`, `{"actionContext":3}`, `{"actionContext":{}} {}`} {
		_, err := decodeContext(bad)
		require.ErrorIs(t, err, ErrApplicationData, bad)
	}
}

func TestParamsViewAccessors(t *testing.T) {
	v, err := decodeContext(`{"actionContext":{"s":"str","i":-9223372036854775808,"big":18446744073709551615,` +
		`"f":0.1,"e":1e300,"b":true,"n":null,"arr":[1,2],"obj":{"a":1}}}`)
	require.NoError(t, err)

	s, err := v.String("s")
	require.NoError(t, err)
	require.Equal(t, "str", s)
	i, err := v.Int64("i")
	require.NoError(t, err)
	require.Equal(t, int64(math.MinInt64), i)
	f, err := v.Float64("f")
	require.NoError(t, err)
	require.Equal(t, 0.1, f)
	f, err = v.Float64("i")
	require.NoError(t, err, "an integer reads as a float")
	require.Equal(t, float64(math.MinInt64), f)
	b, err := v.Bool("b")
	require.NoError(t, err)
	require.True(t, b)
	var arr []int
	require.NoError(t, v.Decode("arr", &arr))
	require.Equal(t, []int{1, 2}, arr)
	var big uint64
	require.NoError(t, v.Decode("big", &big))
	require.Equal(t, uint64(math.MaxUint64), big)

	for _, tc := range []struct {
		name string
		fn   func() error
		want error
	}{
		{"missing string", func() error { _, err := v.String("nope"); return err }, ErrParamNotFound},
		{"missing int", func() error { _, err := v.Int64("nope"); return err }, ErrParamNotFound},
		{"missing float", func() error { _, err := v.Float64("nope"); return err }, ErrParamNotFound},
		{"missing bool", func() error { _, err := v.Bool("nope"); return err }, ErrParamNotFound},
		{"missing decode", func() error { var x any; return v.Decode("nope", &x) }, ErrParamNotFound},
		{"string of number", func() error { _, err := v.String("i"); return err }, ErrParamType},
		{"int of string", func() error { _, err := v.Int64("s"); return err }, ErrParamType},
		{"int of fraction", func() error { _, err := v.Int64("f"); return err }, ErrParamType},
		{"int out of range", func() error { _, err := v.Int64("big"); return err }, ErrParamType},
		{"float of bool", func() error { _, err := v.Float64("b"); return err }, ErrParamType},
		{"bool of null", func() error { _, err := v.Bool("n"); return err }, ErrParamType},
		{"string of object", func() error { _, err := v.String("obj"); return err }, ErrParamType},
		{"decode mismatch", func() error { var x int; return v.Decode("obj", &x) }, ErrParamType},
	} {
		require.ErrorIs(t, tc.fn(), tc.want, tc.name)
	}
	_, err = v.String("nope")
	require.ErrorContains(t, err, `"nope"`, "the error names the key")
}

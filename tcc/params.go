package tcc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Params are the parameters of one Try, handed to Confirm and Cancel of the
// same branch. They travel to the coordinator as JSON inside the branch's
// application data, and come back with every phase-two request, so that
// phase two works in another process or after a restart.
//
// Values must be encodable by encoding/json: strings, numbers, booleans,
// nil, slices, maps, and structs (encoded by their json tags, by
// encoding/json, not by this package). Numbers keep their exact value
// (an int64 or uint64 is written as its decimal digits, a float64 in
// its shortest exact form). Keys starting with "sys::" and the keys
// "actionName", "action-start-time" and "host-name" are reserved for the
// action context Seata defines and are refused with ErrInvalidParams.
type Params map[string]any

// ParamsView reads the parameters of a branch in Try, Confirm and Cancel.
// Every phase reads them as decoded from the JSON sent to the coordinator,
// so Try sees exactly what Confirm and Cancel will see. The accessors fail
// with ErrParamNotFound for a key that is absent and ErrParamType for a value
// of another type. A ParamsView is not modified by its methods and is safe
// for concurrent use.
type ParamsView struct {
	m map[string]any // decoded with UseNumber: numbers are json.Number
}

// Has reports whether the parameters hold key.
func (v ParamsView) Has(key string) bool {
	_, ok := v.m[key]
	return ok
}

// Len returns the number of parameters.
func (v ParamsView) Len() int { return len(v.m) }

// get returns the value of key, or ErrParamNotFound.
func (v ParamsView) get(key string) (any, error) {
	x, ok := v.m[key]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrParamNotFound, key)
	}
	return x, nil
}

// typeError reports a value of another type than asked for.
func typeError(key, want string, x any) error {
	return fmt.Errorf("%w: %q is %s, not %s", ErrParamType, key, jsonKind(x), want)
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", x)
}

// String returns the string parameter key.
func (v ParamsView) String(key string) (string, error) {
	x, err := v.get(key)
	if err != nil {
		return "", err
	}
	s, ok := x.(string)
	if !ok {
		return "", typeError(key, "a string", x)
	}
	return s, nil
}

// Int64 returns the integer parameter key. A number with a fraction or an
// exponent, or out of int64's range, is ErrParamType.
func (v ParamsView) Int64(key string) (int64, error) {
	x, err := v.get(key)
	if err != nil {
		return 0, err
	}
	n, ok := x.(json.Number)
	if !ok {
		return 0, typeError(key, "an integer", x)
	}
	i, perr := strconv.ParseInt(string(n), 10, 64)
	if perr != nil {
		return 0, fmt.Errorf("%w: %q is %s, not an int64", ErrParamType, key, n)
	}
	return i, nil
}

// Float64 returns the number parameter key (an integer too, rounded to the
// nearest float64).
func (v ParamsView) Float64(key string) (float64, error) {
	x, err := v.get(key)
	if err != nil {
		return 0, err
	}
	n, ok := x.(json.Number)
	if !ok {
		return 0, typeError(key, "a number", x)
	}
	f, perr := strconv.ParseFloat(string(n), 64)
	if perr != nil {
		return 0, fmt.Errorf("%w: %q is %s, not a float64", ErrParamType, key, n)
	}
	return f, nil
}

// Bool returns the boolean parameter key.
func (v ParamsView) Bool(key string) (bool, error) {
	x, err := v.get(key)
	if err != nil {
		return false, err
	}
	b, ok := x.(bool)
	if !ok {
		return false, typeError(key, "a boolean", x)
	}
	return b, nil
}

// Decode decodes the parameter key into the value ptr points to, with
// encoding/json (numbers decoded into an interface{} become json.Number).
// It is how to read a slice, a map or a struct passed in Params. A value
// that does not fit ptr is ErrParamType.
func (v ParamsView) Decode(key string, ptr any) error {
	x, err := v.get(key)
	if err != nil {
		return err
	}
	b, err := json.Marshal(x)
	if err != nil { // cannot happen for decoded JSON; kept as a guard
		return fmt.Errorf("%w: %q: %v", ErrParamType, key, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(ptr); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrParamType, key, err)
	}
	return nil
}

package rpc

import (
	"fmt"

	"github.com/atcc-go/atcc/rpc/protocol"
)

// Expect checks the outcome (resp, err) of a call that sent req: err is
// returned as is; a response that is not an R is an error wrapping
// ErrUnexpectedResponse; a response whose result is not a success becomes
// a *protocol.CoordinatorError carrying its exception code. Otherwise it returns
// the response as an R.
func Expect[R protocol.Message](req, resp protocol.Message, err error) (R, error) {
	var zero R
	if err != nil {
		return zero, err
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("%w: %T answered with %T", ErrUnexpectedResponse, req, resp)
	}
	if res, ok := protocol.ResultOf(r); ok && res.Code != protocol.ResultSuccess {
		return zero, &protocol.CoordinatorError{Code: res.ExceptionCode, Message: res.Msg, Type: r.TypeCode()}
	}
	return r, nil
}

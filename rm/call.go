package rm

import (
	"context"
	"fmt"

	"github.com/atcc-go/atcc/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

var _ rpc.RequestHandler = (*Manager)(nil)

// call sends req and checks that the response has the expected type and
// a successful result.
func call[R protocol.Message](ctx context.Context, c Caller, req protocol.Message) (R, error) {
	var zero R
	resp, err := c.Call(ctx, req)
	if err != nil {
		return zero, err
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("%w: %T answered with %T", rpc.ErrUnexpectedResponse, req, resp)
	}
	if res, ok := protocol.ResultOf(r); ok && res.Code != protocol.ResultSuccess {
		return zero, &rpc.CoordinatorError{Code: res.ExceptionCode, Message: res.Msg, Type: r.TypeCode()}
	}
	return r, nil
}

package rm

import (
	"context"

	"github.com/atcc-go/atcc/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

var _ rpc.RequestHandler = (*Manager)(nil)

// call sends req and checks that the response has the expected type and
// a successful result.
func call[R protocol.Message](ctx context.Context, c Caller, req protocol.Message) (R, error) {
	resp, err := c.Call(ctx, req)
	return rpc.Expect[R](req, resp, err)
}

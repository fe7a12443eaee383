package atcc

import (
	"context"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rpc/protocol"
)

// Observer returns Config.Observer (nil when none was set), for the
// packages built on a Client (datasource, tcc) to report their own
// operations to.
func (c *Client) Observer() observe.Observer { return c.cfg.Observer }

// Stats returns a snapshot of the client's transport counters: sessions
// ready, calls waiting for an answer, phase-two requests queued for a
// worker and refused because the queue was full. It is cheap and safe for
// concurrent use; otelatcc.ObserveClient reports it as gauges.
func (c *Client) Stats() Stats { return c.rpc.Stats() }

// observedCall is one request to the coordinator reported as a Request
// operation.
func observedCall(ctx context.Context, o observe.Observer, role rpc.Role, c *rpc.Client, req protocol.Message) (protocol.Message, error) {
	op := observe.Op{Kind: observe.Request, Start: time.Now(), Name: req.TypeCode().String()}
	ctx = o.Start(ctx, op)
	resp, err := c.Call(ctx, role, req)
	op.Err, op.Result = err, observe.ResultOK
	if err != nil {
		op.Result = observe.ResultError
	}
	o.End(ctx, op)
	return resp, err
}

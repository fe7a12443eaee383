package rm

import (
	"context"
	"errors"
	"fmt"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/rpc/protocol"
)

var _ rpc.RequestHandler = (*Manager)(nil)

// call sends req and checks that the response has the expected type and
// a successful result.
func call[R protocol.Message](ctx context.Context, c Caller, req protocol.Message) (R, error) {
	resp, err := c.Call(ctx, req)
	return rpc.Expect[R](req, resp, err)
}

// lockConflict marks the coordinator's lock conflicts with this package's
// sentinels (ErrLockConflict, ErrLockConflictFailFast), so that the data
// source tells them apart without knowing the transport's errors; the
// coordinator's error stays in the chain.
func lockConflict(err error) error {
	switch {
	case errors.Is(err, protocol.ErrLockKeyConflictFailFast):
		return fmt.Errorf("%w: %w", ErrLockConflictFailFast, err)
	case errors.Is(err, protocol.ErrLockKeyConflict):
		return fmt.Errorf("%w: %w", ErrLockConflict, err)
	}
	return err
}

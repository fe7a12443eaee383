package tcc

import (
	"context"
	"time"
)

// SetBeforeTry makes p call f in Try after registering the branch and
// before the fence row and the action's Try. Set it before any Try.
func SetBeforeTry(p *Participant, f func(ctx context.Context, xid string, branchID int64)) {
	p.beforeTry = f
}

// ApplicationData returns the application data Try registers for params.
func ApplicationData(p *Participant, params Params) (string, error) {
	data, _, err := p.codec.encode(params, time.Now())
	return data, err
}

package tcc

import (
	"context"
	"time"
)

// cleanLoop deletes the action's finished fence rows older than after,
// every period, until ctx ends.
func (p *Participant) cleanLoop(ctx context.Context, after, period time.Duration) {
	defer close(p.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := p.CleanFence(ctx, time.Now().Add(-after))
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("atcc/tcc: fence cleanup failed", "deleted", n, "err", err)
		case err == nil:
			p.log.Debug("atcc/tcc: fence cleanup", "deleted", n)
		}
	}
}

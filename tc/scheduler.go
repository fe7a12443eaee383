package tc

import (
	"context"
	"log/slog"
	"time"
)

// start launches the scan loop: every RetryPeriod (or when kicked), it
// claims the transactions whose due time has passed (timed-out Begin
// transactions, retries, and phase two abandoned by a coordinator that
// died) and drives them in the background, then forgets old ends.
func (c *coordinator) start() {
	c.async.start()
	c.loop.Add(1)
	go func() {
		defer c.loop.Done()
		t := time.NewTicker(c.cfg.retryPeriod)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
			case <-c.kick:
			}
			if c.isClosing() {
				return
			}
			c.scan()
		}
	}()
}

func (c *coordinator) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// wake makes the scan loop run now.
func (c *coordinator) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// scan claims and drives due transactions until none is left or every
// background slot is busy, then purges remembered ends.
func (c *coordinator) scan() {
	c.open.sweep(c.nowMs())
	for !c.isClosing() {
		n := 0
	reserve:
		for n < claimBatch {
			select {
			case c.slots <- struct{}{}:
				n++
			default:
				break reserve
			}
		}
		if n == 0 {
			break
		}
		now := c.nowMs()
		claimed, err := c.st.claimDue(c.ctx, now, c.cfg.owner, now+c.cfg.lease.Milliseconds(), n)
		if err != nil && c.ctx.Err() == nil {
			c.log.Warn("atcc/tc: scanning for due transactions failed", slog.Any("error", err))
		}
		for _, g := range claimed {
			n-- // the slot is g's now
			if !c.enter(g.xid, true) {
				<-c.slots
				if c.isClosing() {
					c.release(g)
				} // else it is driven here already, and the claim only renewed the lease
				continue
			}
			go func() {
				defer func() {
					c.leave(g.xid)
					<-c.slots
				}()
				c.drive(c.ctx, g)
			}()
		}
		for ; n > 0; n-- {
			<-c.slots
		}
		if err != nil || len(claimed) < claimBatch {
			break
		}
	}
	for range 100 {
		k, err := c.st.purge(c.ctx, c.nowMs(), purgeBatch)
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Warn("atcc/tc: forgetting ended transactions failed", slog.Any("error", err))
			}
			return
		}
		if k < purgeBatch {
			return
		}
	}
}

// sessionRegistered makes the transactions waiting for an RM session of one
// of resourceIDs due now and wakes the scan loop.
func (c *coordinator) sessionRegistered(resourceIDs []string) {
	var xids []string
	c.mu.Lock()
	for _, r := range resourceIDs {
		for xid := range c.waiting[r] {
			xids = append(xids, xid)
		}
		delete(c.waiting, r)
	}
	c.mu.Unlock()
	if len(xids) == 0 {
		return
	}
	if err := c.st.makeDue(c.ctx, xids, c.nowMs()); err != nil && c.ctx.Err() == nil {
		c.log.Warn("atcc/tc: could not schedule the retries waiting for an RM", slog.Any("error", err))
	}
	c.wake()
}

// drain stops the scan loop and new background work, then waits until the
// phase two in progress ends or ctx is done. Requests are still answered.
func (c *coordinator) drain(ctx context.Context) error {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.wake()
	c.async.poke() // commits what it holds, then returns
	c.loop.Wait()
	return c.waitIdle(ctx)
}

// stop cancels the phase two still in progress, waits for it to return,
// and hands the transactions this coordinator owns back to the store (due
// now), for another coordinator or the next start. Call it after drain,
// once no request can arrive.
func (c *coordinator) stop() {
	c.cancel()
	c.async.wait()
	_ = c.waitIdle(context.Background()) // cancelled drives return promptly
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.st.releaseOwner(ctx, c.cfg.owner, c.nowMs()); err != nil {
		c.log.Warn("atcc/tc: could not hand owned transactions back to the store; they are taken over when their leases end",
			slog.Any("error", err))
	}
}

// shutdown is drain, stop and closing the store: the whole life of a
// coordinator without a transport (tests).
func (c *coordinator) shutdown(ctx context.Context) error {
	err := c.drain(ctx)
	c.stop()
	if cerr := c.st.close(); err == nil {
		err = cerr
	}
	return err
}

// waitIdle waits until no transaction is being driven by this process.
func (c *coordinator) waitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

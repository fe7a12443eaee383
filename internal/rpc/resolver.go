package rpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/atcc-go/atcc/discovery"
)

// Resolver is the registry lookup a Client follows (ClientConfig.Resolver);
// its home, and its contract, is discovery.Resolver.
type Resolver = discovery.Resolver

// StaticResolver is a Resolver with fixed addresses for every group:
// ClientConfig.Addresses.
type StaticResolver []string

// Resolve returns the addresses.
func (s StaticResolver) Resolve(context.Context, string) ([]string, error) {
	return slices.Clone(s), nil
}

// Watch waits until ctx ends: the addresses never change.
func (s StaticResolver) Watch(ctx context.Context, _ string, _ func([]string)) error {
	<-ctx.Done()
	return ctx.Err()
}

// ErrDrained is the cause of a session closed because its coordinator left
// the resolver's list.
var ErrDrained = errors.New("atcc/rpc: coordinator removed by the resolver")

// follow resolves the coordinators and follows the resolver's updates until
// the client closes. It runs on its own goroutine, counted in c.wg.
func (c *Client) follow() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	r, group := c.cfg.Resolver, c.cfg.TxServiceGroup
	delay := c.cfg.reconnectMin
	for {
		rctx, rcancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		addrs, err := r.Resolve(rctx, group)
		rcancel()
		if err == nil {
			err = c.setAddresses(addrs)
		}
		if err == nil {
			delay = c.cfg.reconnectMin
			err = r.Watch(ctx, group, func(addrs []string) {
				if err := c.setAddresses(addrs); err != nil {
					c.log.Warn("atcc/rpc: resolver update ignored", "group", group, "err", err)
				}
			})
		}
		if c.isClosed() {
			return
		}
		if err == nil {
			err = errors.New("watch returned")
		}
		c.resolveFailed(fmt.Errorf("resolve coordinators of tx service group %q: %w", group, err))
		t := time.NewTimer(jitter(delay))
		select {
		case <-t.C:
		case <-c.closing:
			t.Stop()
			return
		}
		delay = min(2*delay, c.cfg.reconnectMax)
	}
}

// resolveFailed records a failed resolution: a begin that finds no
// coordinator yet may then fail fast with it.
func (c *Client) resolveFailed(err error) {
	c.log.Warn("atcc/rpc: resolver failed", "err", err)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resolveErr = err
	for i := range c.lastErr {
		if c.lastErr[i] == nil {
			c.lastErr[i] = err
		}
	}
	close(c.stateCh)
	c.stateCh = make(chan struct{})
}

// setAddresses makes the client's coordinators addrs: it starts PoolSize
// slots per role for each new address and retires the slots of the
// addresses no longer listed (their supervisors drain and close their
// sessions). An empty or invalid list changes nothing.
func (c *Client) setAddresses(addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("empty address list: keeping the current coordinators")
	}
	want := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return err
		}
		want[a] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClientClosed
	}
	c.setAddressesLocked(addrs, want)
	return nil
}

// setAddressesLocked is setAddresses once addrs is checked; c.mu is held.
func (c *Client) setAddressesLocked(addrs []string, want map[string]bool) {
	c.resolveErr = nil
	changed := false
	for _, role := range clientRoles {
		old := c.slotList(role)
		next := make([]*slot, 0, len(old)+len(addrs)*c.cfg.PoolSize)
		have := make(map[string]bool, len(old))
		for _, s := range old {
			switch {
			case s.gone.Load():
				// Draining: it stays listed, for the calls of the
				// transactions begun there, until its supervisor ends.
			case want[s.addr]:
				have[s.addr] = true
			default:
				s.retire()
				changed = true
			}
			next = append(next, s)
		}
		for _, a := range addrs {
			if have[a] {
				continue
			}
			have[a] = true
			for range c.cfg.PoolSize {
				s := &slot{c: c, role: role, addr: a, retired: make(chan struct{})}
				next = append(next, s)
				c.wg.Add(1)
				go s.run()
			}
			changed = true
		}
		c.slots[role.index()].Store(&next)
	}
	for a, unroute := range c.routes {
		if !want[a] {
			unroute()
			delete(c.routes, a)
		}
	}
	for a := range want {
		if c.routes[a] == nil {
			c.routes[a] = gettyLog.route(c.log, c.onDialFailed, a)
		}
	}
	if changed {
		if c.cfg.Resolver != nil {
			c.log.Info("atcc/rpc: coordinators changed", "group", c.cfg.TxServiceGroup, "addrs", addrs)
		}
		close(c.stateCh)
		c.stateCh = make(chan struct{})
	}
}

// dropSlot removes a retired slot whose supervisor has ended.
func (c *Client) dropSlot(s *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.slotList(s.role)
	next := make([]*slot, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	c.slots[s.role.index()].Store(&next)
}

// slotList returns the role's current slots; the slice must not be
// modified.
func (c *Client) slotList(role Role) []*slot {
	if p := c.slots[role.index()].Load(); p != nil {
		return *p
	}
	return nil
}

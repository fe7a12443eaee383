package atcc

import (
	"context"
	"fmt"
	"sync"

	"github.com/atcc-go/atcc/internal/rpc"
	"github.com/atcc-go/atcc/observe"
	"github.com/atcc-go/atcc/rm"
	"github.com/atcc-go/atcc/rpc/protocol"
	"github.com/atcc-go/atcc/tm"
)

// Client is an application's connection to the coordinator: a
// transaction manager (TM) to begin and end global transactions and a
// resource manager (RM) for the branches of registered resources.
//
// A Client is safe for concurrent use. New does no I/O: connections are
// opened by the first call that needs them (or by Ping) and kept up,
// reconnecting after a loss. Close must be called to stop them. Clients
// are independent: one process may hold several, with different
// configurations.
type Client struct {
	rpc *rpc.Client
	tm  *tm.Manager
	rm  *rm.Manager
	cfg Config // defaults applied

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and returns a Client. It does no I/O and starts no
// goroutine.
func New(cfg Config) (*Client, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{cfg: cfg}
	c.rm = rm.NewManager(rmCaller{c}, rm.Config{Logger: cfg.Logger, Observer: cfg.Observer})
	r, err := rpc.NewClient(rpc.ClientConfig{
		Addresses:         cfg.Coordinators,
		Resolver:          cfg.Resolver,
		ApplicationID:     cfg.ApplicationID,
		TxServiceGroup:    cfg.TxServiceGroup,
		PoolSize:          cfg.PoolSize,
		DialTimeout:       cfg.DialTimeout,
		HeartbeatInterval: cfg.HeartbeatInterval,
		IdleTimeout:       cfg.IdleTimeout,
		RequestTimeout:    cfg.RequestTimeout,
		TLS:               cfg.TLS,
		AccessKey:         cfg.AccessKey,
		SecretKey:         cfg.SecretKey,
		Workers:           cfg.Workers,
		QueueSize:         cfg.QueueSize,
		HandlerTimeout:    cfg.HandlerTimeout,
		Batch:             cfg.BatchRequests,
		Logger:            cfg.Logger,
		Handler:           c.rm,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	c.rpc = r
	c.tm = tm.NewManager(tmCaller{r, cfg.Observer}, tm.Config{
		DefaultTimeout:  cfg.DefaultTimeout,
		CommitRetries:   cfg.CommitRetries,
		RollbackRetries: cfg.RollbackRetries,
		RetryBackoff:    cfg.RetryBackoff,
		Logger:          cfg.Logger,
		Observer:        cfg.Observer,
	})
	return c, nil
}

// TM returns the transaction manager: Begin and WithGlobalTx.
func (c *Client) TM() *tm.Manager { return c.tm }

// RM returns the resource manager: resource registration and branches.
func (c *Client) RM() *rm.Manager { return c.rm }

// Ping connects if needed and waits until the client is registered with a
// coordinator as TM and as RM, until ctx ends or for at most
// Config.RequestTimeout when ctx has no deadline. With no coordinator
// reachable it fails after one connection attempt to each (each bounded by
// Config.DialTimeout) with ErrNoSession and the cause: the address and
// why (refused, timeout, TLS, not a Seata coordinator).
func (c *Client) Ping(ctx context.Context) error {
	return c.rpc.Ping(ctx)
}

// Close first waits, for at most Config.CloseTimeout, until the branches
// this client registered have had their phase two here (see
// rm.Manager.WaitPhaseTwo): a process that commits and exits then leaves
// nothing for the coordinator to finish later. Then it closes the
// connections, fails the calls still waiting for an answer, cancels the
// contexts of running phase-two calls and waits until every goroutine the
// client started has returned, phase-two calls included: a call that
// ignores its context holds Close up until it returns (at most
// Config.Workers such calls exist). Calls after Close fail. Calling Close
// again does nothing.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.cfg.CloseTimeout > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
			if n := c.rm.WaitPhaseTwo(ctx); n > 0 {
				c.cfg.Logger.Warn("atcc: closing with branches still waiting for phase two; the coordinator finishes them when an instance of their resource connects",
					"branches", n, "waited", c.cfg.CloseTimeout)
			}
			cancel()
		}
		c.closeErr = c.rpc.Close()
		if err := c.rm.Close(); c.closeErr == nil {
			c.closeErr = err
		}
	})
	return c.closeErr
}

// tmCaller sends on TM connections.
type tmCaller struct {
	c   *rpc.Client
	obs observe.Observer
}

func (t tmCaller) Call(ctx context.Context, req protocol.Message) (protocol.Message, error) {
	if t.obs != nil {
		return observedCall(ctx, t.obs, rpc.RoleTM, t.c, req)
	}
	return t.c.Call(ctx, rpc.RoleTM, req)
}

// rmCaller sends on RM connections. It refers to the Client because the
// rpc client, which needs the rm.Manager as its handler, is built after
// the manager.
type rmCaller struct{ c *Client }

func (r rmCaller) Call(ctx context.Context, req protocol.Message) (protocol.Message, error) {
	if o := r.c.cfg.Observer; o != nil {
		return observedCall(ctx, o, rpc.RoleRM, r.c.rpc, req)
	}
	return r.c.rpc.Call(ctx, rpc.RoleRM, req)
}

func (r rmCaller) AddResource(ctx context.Context, id string) error {
	return r.c.rpc.AddResource(ctx, id)
}

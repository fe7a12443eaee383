package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/atcc-go/atcc/tc"
)

// coordinator runs the in-process transaction coordinator on the MySQL
// store and restarts it on the same address when asked: the clients lose
// their connections and reconnect, and the new server takes over the
// transactions from the store. It is safe for concurrent use.
type coordinator struct {
	store *sql.DB
	cfg   tc.Config

	mu       sync.Mutex
	srv      *tc.Server
	addr     string // fixed after the first start
	restarts int
}

// coordinatorConfig is the coordinator configuration of the bank: short
// periods so that retries, timeouts and take-overs happen within a run.
func coordinatorConfig(store *sql.DB, log *slog.Logger) tc.Config {
	return tc.Config{
		DB:              store,
		RetryPeriod:     50 * time.Millisecond,
		MaxRetryBackoff: 500 * time.Millisecond,
		BranchTimeout:   time.Second,
		LeaseTimeout:    2 * time.Second,
		Logger:          log,
	}
}

// startCoordinator starts the first server on a free loopback port.
func startCoordinator(ctx context.Context, store *sql.DB, log *slog.Logger) (*coordinator, error) {
	c := &coordinator{store: store, cfg: coordinatorConfig(store, log)}
	srv, err := tc.New(c.cfg)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx, "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start coordinator: %w", err)
	}
	c.srv = srv
	c.addr = srv.Addr().String()
	return c, nil
}

// Addr is the coordinator's address, the same across restarts.
func (c *coordinator) Addr() string { return c.addr }

// Restart stops the server at once (Close: sessions cut, phase two in
// progress cancelled, transactions handed back to the store) and starts a
// new one on the same address. It retries the listen for a while, as the
// port may take a moment to be free.
func (c *coordinator) Restart(ctx context.Context, down time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		c.srv.Close()
		c.srv = nil
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	var last error
	for range 50 {
		srv, err := tc.New(c.cfg)
		if err != nil {
			return err
		}
		if last = srv.Start(ctx, c.addr); last == nil {
			c.srv = srv
			c.restarts++
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("restart coordinator on %s: %w", c.addr, last)
}

// Restarts is how many times Restart succeeded.
func (c *coordinator) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// Shutdown stops the server gracefully.
func (c *coordinator) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv == nil {
		return nil
	}
	err := c.srv.Shutdown(ctx)
	c.srv = nil
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // phase two cut short is handed back to the store
	}
	return err
}

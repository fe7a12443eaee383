package atcc

import (
	"log/slog"
	"time"
)

// Defaults returns the value each Config field takes when it is left at
// its zero value: this is the one place that holds the client's defaults
// (New passes every value down to the rpc, tm and rm packages explicitly,
// so their own defaults never apply to a Client). ApplicationID and
// Coordinators are required and have none; TLS defaults to nil (plain
// TCP), BatchRequests to false and Logger to a discarding logger.
func Defaults() Config {
	return Config{
		TxServiceGroup:    "default_tx_group",
		DefaultTimeout:    60 * time.Second,
		CommitRetries:     5,
		RollbackRetries:   5,
		RetryBackoff:      100 * time.Millisecond,
		RequestTimeout:    30 * time.Second,
		PoolSize:          1,
		DialTimeout:       3 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		IdleTimeout:       15 * time.Second,
		Workers:           16,
		QueueSize:         1024,
		HandlerTimeout:    10 * time.Second,
		CloseTimeout:      5 * time.Second,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// withDefaults returns a copy of c with every zero field set from
// Defaults.
func (c Config) withDefaults() Config {
	d := Defaults()
	if c.TxServiceGroup == "" {
		c.TxServiceGroup = d.TxServiceGroup
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = d.DefaultTimeout
	}
	if c.CommitRetries == 0 {
		c.CommitRetries = d.CommitRetries
	}
	if c.RollbackRetries == 0 {
		c.RollbackRetries = d.RollbackRetries
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = d.RetryBackoff
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.PoolSize == 0 {
		c.PoolSize = d.PoolSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = d.HeartbeatInterval
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = d.HandlerTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = d.CloseTimeout
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

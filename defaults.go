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
// TCP) and Logger to a discarding logger.
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
		Workers:           16,
		QueueSize:         1024,
		HandlerTimeout:    10 * time.Second,
		CloseTimeout:      5 * time.Second,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// withDefaults returns c with every zero field set from Defaults.
func (c Config) withDefaults() Config {
	d := Defaults()
	set(&c.TxServiceGroup, d.TxServiceGroup)
	set(&c.DefaultTimeout, d.DefaultTimeout)
	set(&c.CommitRetries, d.CommitRetries)
	set(&c.RollbackRetries, d.RollbackRetries)
	set(&c.RetryBackoff, d.RetryBackoff)
	set(&c.RequestTimeout, d.RequestTimeout)
	set(&c.PoolSize, d.PoolSize)
	set(&c.DialTimeout, d.DialTimeout)
	set(&c.HeartbeatInterval, d.HeartbeatInterval)
	set(&c.Workers, d.Workers)
	set(&c.QueueSize, d.QueueSize)
	set(&c.HandlerTimeout, d.HandlerTimeout)
	set(&c.CloseTimeout, d.CloseTimeout)
	set(&c.Logger, d.Logger)
	return c
}

func set[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

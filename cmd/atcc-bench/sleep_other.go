//go:build !linux

package main

import "time"

// sleeper waits at the resolution of Go's timers.
type sleeper struct{}

func newSleeper() (*sleeper, error) { return &sleeper{}, nil }

// until returns at t or later.
func (*sleeper) until(t time.Time) error { time.Sleep(time.Until(t)); return nil }

func (*sleeper) close() error { return nil }

//go:build !linux

package main

import "time"

// sleepUntil returns at t or later, at the resolution of Go's timers.
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

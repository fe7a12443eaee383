//go:build race

package undo

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true

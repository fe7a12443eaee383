//go:build race

package tc

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true

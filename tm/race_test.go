//go:build race

package tm

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true

//go:build race

package datasource

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true

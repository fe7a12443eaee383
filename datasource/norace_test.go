//go:build !race

package datasource

const raceEnabled = false

package atcc

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	good := Config{ApplicationID: "app", Coordinators: []string{"127.0.0.1:8091"}}
	for name, mutate := range map[string]func(*Config){
		"no application id":  func(c *Config) { c.ApplicationID = "" },
		"no coordinators":    func(c *Config) { c.Coordinators = nil },
		"bad address":        func(c *Config) { c.Coordinators = []string{"nohostport"} },
		"duplicate address":  func(c *Config) { c.Coordinators = []string{"127.0.0.1:1", "127.0.0.1:1"} },
		"negative timeout":   func(c *Config) { c.DefaultTimeout = -time.Second },
		"negative handler":   func(c *Config) { c.HandlerTimeout = -time.Second },
		"negative pool size": func(c *Config) { c.PoolSize = -1 },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNewDoesNoIO(t *testing.T) {
	before := runtime.NumGoroutine()
	// Port 1 on loopback refuses connections: any dial would show up as a
	// goroutine or an error.
	c, err := New(Config{ApplicationID: "app", Coordinators: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("New started %d goroutines", n-before)
	}
	if c.TM() == nil || c.RM() == nil {
		t.Fatal("managers missing")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

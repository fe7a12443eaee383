package atcc

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/atcc-go/atcc/internal/rpc"
)

func TestNewValidates(t *testing.T) {
	good := Config{ApplicationID: "app", Coordinators: []string{"127.0.0.1:8091"}}
	for name, mutate := range map[string]func(*Config){
		"no application id": func(c *Config) { c.ApplicationID = "" },
		"no coordinators":   func(c *Config) { c.Coordinators = nil },
		"both resolver and coordinators": func(c *Config) {
			c.Resolver = rpc.StaticResolver{"127.0.0.1:8091"}
		},
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

// TestREADMEConfigTable checks README's table of atcc.Config against
// Defaults, the one place that holds them, and that it lists every field.
func TestREADMEConfigTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "**`atcc.Config`**")
	if !ok {
		t.Fatal("README has no atcc.Config table")
	}
	d := reflect.ValueOf(Defaults())
	fixed := map[string]string{ // fields whose default is not a plain value
		"ApplicationID": "required", "Coordinators": "required",
		"TLS": "nil (plain TCP)", "Logger": "discard", "AccessKey": "empty", "SecretKey": "empty",
		"Resolver": "nil (Coordinators)", "Observer": "nil (none)",
	}
	seen := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(table, "\n")[1:] {
		line = strings.TrimSpace(line)
		if line == "" && rows > 0 {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			t.Fatalf("row %q", line)
		}
		var names, want []string
		for _, n := range strings.Split(cells[0], ",") {
			names = append(names, strings.Trim(strings.TrimSpace(n), "`"))
		}
		for _, n := range names {
			seen[n] = true
			if v, ok := fixed[n]; ok {
				want = append(want, v)
				continue
			}
			f := d.FieldByName(n)
			if !f.IsValid() {
				t.Errorf("README lists %s, which Config does not have", n)
				continue
			}
			want = append(want, formatDefault(f.Interface()))
		}
		if got, w := strings.TrimSpace(cells[1]), strings.Join(want, ", "); got != w {
			t.Errorf("README: %s default %q, Defaults() says %q", cells[0], got, w)
		}
	}
	for i := range d.NumField() {
		if n := d.Type().Field(i).Name; !seen[n] {
			t.Errorf("README's configuration table does not list Config.%s", n)
		}
	}
}

func formatDefault(v any) string {
	switch v := v.(type) {
	case time.Duration:
		if v%time.Second == 0 {
			return fmt.Sprintf("%d s", v/time.Second)
		}
		return fmt.Sprintf("%d ms", v/time.Millisecond)
	case string:
		return "`" + v + "`"
	}
	return fmt.Sprint(v)
}

// Every zero field takes its default from Defaults, and New gives the
// lower layers explicit values.
func TestWithDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	d := Defaults()
	cv, dv := reflect.ValueOf(c), reflect.ValueOf(d)
	if c.Logger == nil {
		t.Error("no default Logger")
	}
	c.Logger, d.Logger = nil, nil
	cv, dv = reflect.ValueOf(c), reflect.ValueOf(d)
	for i := range cv.NumField() {
		if !reflect.DeepEqual(cv.Field(i).Interface(), dv.Field(i).Interface()) {
			t.Errorf("%s: %v, Defaults has %v", cv.Type().Field(i).Name, cv.Field(i), dv.Field(i))
		}
	}
	set := Config{DialTimeout: time.Second, CommitRetries: -1, HeartbeatInterval: -1}.withDefaults()
	if set.DialTimeout != time.Second || set.CommitRetries != -1 || set.HeartbeatInterval != -1 {
		t.Errorf("withDefaults overwrote set fields: %+v", set)
	}
}

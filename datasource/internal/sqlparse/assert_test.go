package sqlparse

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Minimal assertions (the module's go.sum does not yet carry testify's
// dependencies).

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func eq(t testing.TB, want, got any, context ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s\nwant: %s\n got: %s", fmt.Sprint(context...), dump(want), dump(got))
	}
}

func is(t testing.TB, cond bool, format string, args ...any) {
	t.Helper()
	if !cond {
		t.Fatalf(format, args...)
	}
}

func errAs[E error](t testing.TB, err error) E {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a %T", err, err, e)
	}
	return e
}

// dump prints values with the statements behind pointers.
func dump(v any) string {
	switch v := v.(type) {
	case []Statement:
		if v == nil {
			return "[]Statement(nil)"
		}
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = fmt.Sprintf("%T%+v", s, s)
		}
		return "[\n  " + strings.Join(parts, "\n  ") + "\n]"
	case Statement:
		return fmt.Sprintf("%T%+v", v, v)
	}
	return fmt.Sprintf("%#v", v)
}

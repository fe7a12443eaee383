package tc

import (
	"errors"
	"strings"
	"testing"

	"github.com/atcc-go/atcc/rpc/protocol"
)

func TestParseLockKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // table^^^pk, sorted
	}{
		{"", nil},
		{"t:1", []string{"t^^^1"}},
		{"t1:1,2;t2:7", []string{"t1^^^1", "t1^^^2", "t2^^^7"}},
		{"t:2,1,2;t:1", []string{"t^^^1", "t^^^2"}},               // duplicates once
		{"t:1,2;", []string{"t^^^1", "t^^^2"}},                    // a trailing ';'
		{"t:1,,2, ", []string{"t^^^1", "t^^^2"}},                  // empty values skipped, as Java does
		{"items:1_7,2_8", []string{"items^^^1_7", "items^^^2_8"}}, // composite keys
		{"t:a:b", []string{"t^^^a:b"}},                            // a ':' in a value
		{"db.t:é", []string{"db.t^^^é"}},
	} {
		got, err := parseLockKey("res", tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var keys []string
		for _, l := range got {
			if l.resourceID != "res" || l.key != l.resourceID+"^^^"+l.table+"^^^"+l.pk {
				t.Errorf("%q: %+v", tc.in, l)
			}
			keys = append(keys, strings.TrimPrefix(l.key, "res^^^"))
		}
		if strings.Join(keys, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: got %q, want %q", tc.in, keys, tc.want)
		}
	}
	for _, in := range []string{"t", "t:1;u", ":1", "t:", "t: , ", "t:" + strings.Repeat("x", maxRowKeyLen)} {
		_, err := parseLockKey("res", in)
		var te *txError
		if !errors.As(err, &te) || te.code != protocol.CodeBranchRegisterFailed {
			t.Errorf("%q: %v", clip(in), err)
		}
	}
}

func TestClipAndTruncate(t *testing.T) {
	long := strings.Repeat("é", 100)
	if c := clip(long); !strings.HasSuffix(c, "...") || len(c) > 67 || !strings.HasPrefix(long, strings.TrimSuffix(c, "...")) {
		t.Fatalf("clip: %q", c)
	}
	if got := truncate(long, 3); got != "ééé" {
		t.Fatalf("truncate: %q", got)
	}
	if got := truncate("abc", 5); got != "abc" {
		t.Fatalf("truncate: %q", got)
	}
}

func TestAutoCommit(t *testing.T) {
	for in, want := range map[string]bool{
		"": true, `{"autoCommit":false}`: false, `{"autoCommit":true}`: true, `{"skipCheckLock":true}`: true,
		"not json": true, `{"autoCommit":false,"skipCheckLock":true}`: false,
	} {
		if got := autoCommit(in); got != want {
			t.Errorf("%q: %v", in, got)
		}
	}
}

func TestTxIDOf(t *testing.T) {
	for in, want := range map[string]int64{"10.0.0.1:8091:42": 42, "[::1]:8091:7": 7, "x": 0, "a:b": 0} {
		if got, _ := txIDOf(in); got != want {
			t.Errorf("%q: %d", in, got)
		}
	}
}

package seataconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConf(t *testing.T) {
	src := `
# a comment
{
  a {
    b = 1 # trailing comment
    c : "two words" // another comment
    "d.e" = x.y.z
    f.g.h = true, i = null
    empty {}
    list = [ "p:1", q:2,
      r:3 ]
  }
  s = "esc\"aped\t\u00e9"
  t {
  }
}
`
	es, err := parseConf("x.conf", []byte(src))
	require.NoError(t, err)
	type flat struct {
		key  string
		kind kind
		text string
		line int
	}
	var got []flat
	for _, e := range es {
		text := e.text
		if e.kind == list {
			text = ""
			for _, it := range e.items {
				text += "|" + it
			}
		}
		got = append(got, flat{e.key(), e.kind, text, e.line})
	}
	assert.Equal(t, []flat{
		{"a.b", scalar, "1", 5},
		{"a.c", scalar, "two words", 6},
		{"a.d.e", scalar, "x.y.z", 7},
		{"a.f.g.h", scalar, "true", 8},
		{"a.i", null, "", 8},
		{"a.empty", object, "", 9},
		{"a.list", list, "|p:1|q:2|r:3", 10},
		{"s", scalar, "esc\"aped\té", 13},
		{"t", object, "", 14},
	}, got)
	// The quoted key is one segment.
	assert.Equal(t, []string{"a", "d.e"}, es[2].path)
}

func TestParseConfNoRootBraces(t *testing.T) {
	es, err := parseConf("x.conf", []byte("\ufeffa.b=1\r\nc { d = \"2\" }"))
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, []string{"a", "b"}, es[0].path)
	assert.Equal(t, "2", es[1].text)
	assert.Equal(t, 2, es[1].line)
}

func TestParseConfErrors(t *testing.T) {
	for src, want := range map[string]string{
		"a {\n  b = 1\n":           "x.conf:3: missing }",
		"a = 1\n}\n":               "x.conf:2: unexpected }",
		"a = ${b}\n":               "x.conf:1: a: substitutions ${...} are not supported",
		"include \"other.conf\"\n": "x.conf:1: include is not supported",
		"a += 1\n":                 "x.conf:1: a: += is not supported",
		"a = \"\"\"x\"\"\"\n":      "x.conf:1: a: triple-quoted strings are not supported",
		"a = \"open\n":             "x.conf:1: unterminated string",
		"a = \"x\" y\n":            `x.conf:1: a: unexpected "y" after a quoted value`,
		"a\n":                      "x.conf:1: a: expected = or { after the key",
		"a =\n":                    "x.conf:1: a: missing value",
		"= 1\n":                    `x.conf:1: expected a key, found "= 1"`,
		"a = [1, 2\n":              "x.conf:2: a: missing ]",
		"a = [null]\n":             "x.conf:1: a: null in a list",
		"\n\na = \"\\q\"\n":        `x.conf:3: bad string "\q"`,
		"a = {b = 1}}\n":           "x.conf:1: unexpected }",
		"a = x]\n":                 `x.conf:1: a: unsupported value "x]"`,
		"a = \xff\n":               "x.conf: not UTF-8",
	} {
		_, err := parseConf("x.conf", []byte(src))
		require.ErrorIs(t, err, ErrInvalid, "%q", src)
		assert.Contains(t, err.Error(), want, "%q", src)
	}
}

func FuzzParseConf(f *testing.F) {
	f.Add("a { b = 1, c = \"x\" }\n# c\nd.e = [1, 2]")
	f.Add("service { vgroupMapping.g = \"c\"\n c.grouplist = \"h:1;h:2\" }")
	f.Fuzz(func(t *testing.T, src string) {
		es, err := parseConf("f.conf", []byte(src))
		if err != nil {
			return
		}
		for _, e := range es {
			if len(e.path) == 0 || e.line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

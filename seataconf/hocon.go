package seataconf

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseConf parses the subset of HOCON (Typesafe Config) that Seata's
// registry.conf and file.conf use, and flattens it into entries in the order
// they are written:
//
//   - fields "key = value", "key : value" and "key { ... }", separated by
//     newlines or commas, optionally inside one pair of root braces;
//   - dotted keys (vgroupMapping.my_group = "x" is the path vgroupMapping,
//     my_group) and quoted keys, which are never split;
//   - values: quoted strings with JSON escapes, unquoted text up to the end
//     of the line (trimmed; true, 10, zip, 127.0.0.1:8091), null, objects
//     and lists of such scalars;
//   - comments from # or // to the end of the line.
//
// It refuses, with an error naming the line, what Seata's files do not use
// and a silent misreading would hide: substitutions ${...}, include,
// "+=", triple-quoted strings.
func parseConf(file string, src []byte) ([]entry, error) {
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("%w: %s: not UTF-8", ErrInvalid, file)
	}
	p := &confParser{file: file, src: strings.TrimPrefix(string(src), "\ufeff"), line: 1}
	p.skipSpace(true)
	braced := p.peek() == '{'
	if braced {
		p.pos++
	}
	if err := p.fields(nil, braced); err != nil {
		return nil, err
	}
	return p.out, nil
}

type confParser struct {
	file string
	src  string
	pos  int
	line int
	out  []entry
}

func (p *confParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s:%d: %s", ErrInvalid, p.file, p.line, fmt.Sprintf(format, args...))
}

func (p *confParser) peek() byte {
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

func (p *confParser) startsWith(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

// skipSpace skips blanks and comments; with newlines it skips line breaks
// too.
func (p *confParser) skipSpace(newlines bool) {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ', c == '\t', c == '\r':
			p.pos++
		case c == '\n' && newlines:
			p.pos++
			p.line++
		case c == '#' || p.startsWith("//"):
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// fields parses the fields of an object up to its closing brace (braced)
// or the end of input.
func (p *confParser) fields(prefix []string, braced bool) error {
	for {
		p.skipSpace(true)
		for p.peek() == ',' {
			p.pos++
			p.skipSpace(true)
		}
		switch c := p.peek(); {
		case c == 0:
			if braced {
				return p.errorf("missing }")
			}
			return nil
		case c == '}':
			if !braced {
				return p.errorf("unexpected }")
			}
			p.pos++
			return nil
		}
		if err := p.field(prefix); err != nil {
			return err
		}
	}
}

func (p *confParser) field(prefix []string) error {
	line := p.line
	key, err := p.key()
	if err != nil {
		return err
	}
	if len(key) == 1 && key[0] == "include" && p.peek() != '=' && p.peek() != ':' && p.peek() != '{' {
		return p.errorf("include is not supported")
	}
	path := append(append([]string(nil), prefix...), key...)
	p.skipSpace(false)
	switch {
	case p.startsWith("+="):
		return p.errorf("%s: += is not supported", strings.Join(path, "."))
	case p.peek() == '=' || p.peek() == ':':
		p.pos++
		p.skipSpace(false)
	case p.peek() == '{':
	default:
		return p.errorf("%s: expected = or { after the key", strings.Join(path, "."))
	}
	return p.value(path, line)
}

// key reads a possibly dotted, possibly quoted key.
func (p *confParser) key() ([]string, error) {
	var segs []string
	for {
		var seg string
		if p.peek() == '"' {
			s, err := p.quoted()
			if err != nil {
				return nil, err
			}
			seg = s
		} else {
			start := p.pos
			for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n=:{}[],#\".+$", rune(p.src[p.pos])) && !p.startsWith("//") {
				p.pos++
			}
			seg = p.src[start:p.pos]
			if seg == "" {
				return nil, p.errorf("expected a key, found %q", p.rest())
			}
		}
		segs = append(segs, seg)
		if p.peek() != '.' {
			return segs, nil
		}
		p.pos++
	}
}

// rest is the text from the current position to the end of the line, for
// messages.
func (p *confParser) rest() string {
	end := strings.IndexByte(p.src[p.pos:], '\n')
	if end < 0 {
		end = len(p.src) - p.pos
	}
	return strings.TrimSpace(p.src[p.pos : p.pos+end])
}

func (p *confParser) value(path []string, line int) error {
	key := strings.Join(path, ".")
	switch c := p.peek(); {
	case c == '{':
		p.pos++
		n := len(p.out)
		if err := p.fields(path, true); err != nil {
			return err
		}
		if len(p.out) == n {
			p.out = append(p.out, entry{path: path, kind: object, file: p.file, line: line})
		}
		return nil
	case c == '[':
		p.pos++
		var items []string
		for {
			p.skipSpace(true)
			for p.peek() == ',' {
				p.pos++
				p.skipSpace(true)
			}
			if p.peek() == ']' {
				p.pos++
				break
			}
			if p.peek() == 0 {
				return p.errorf("%s: missing ]", key)
			}
			s, k, err := p.scalar(key, ",]")
			if err != nil {
				return err
			}
			if k == null {
				return p.errorf("%s: null in a list", key)
			}
			items = append(items, s)
		}
		p.out = append(p.out, entry{path: path, kind: list, items: items, file: p.file, line: line})
	default:
		s, k, err := p.scalar(key, ",}")
		if err != nil {
			return err
		}
		p.out = append(p.out, entry{path: path, kind: k, text: s, file: p.file, line: line})
	}
	return nil
}

// scalar reads a quoted or unquoted value ending at a newline, a comment or
// one of stops.
func (p *confParser) scalar(key, stops string) (string, kind, error) {
	if p.startsWith(`"""`) {
		return "", 0, p.errorf("%s: triple-quoted strings are not supported", key)
	}
	if p.peek() == '"' {
		s, err := p.quoted()
		if err != nil {
			return "", 0, err
		}
		p.skipSpace(false)
		if c := p.peek(); c != 0 && c != '\n' && !strings.ContainsRune(stops, rune(c)) {
			return "", 0, p.errorf("%s: unexpected %q after a quoted value", key, p.rest())
		}
		return s, scalar, nil
	}
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\n' || c == '#' || p.startsWith("//") || strings.ContainsRune(stops, rune(c)) {
			break
		}
		if p.startsWith("${") {
			return "", 0, p.errorf("%s: substitutions ${...} are not supported", key)
		}
		p.pos++
	}
	s := strings.TrimSpace(p.src[start:p.pos])
	switch {
	case s == "":
		return "", 0, p.errorf("%s: missing value", key)
	case s == "null":
		return "", null, nil
	case strings.ContainsAny(s, `"{}[]`):
		return "", 0, p.errorf("%s: unsupported value %q", key, s)
	}
	return s, scalar, nil
}

// quoted reads a JSON-style quoted string at p.pos.
func (p *confParser) quoted() (string, error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\\':
			p.pos += 2
			continue
		case '\n':
			return "", p.errorf("unterminated string")
		case '"':
			p.pos++
			s, err := strconv.Unquote(p.src[start:p.pos])
			if err != nil {
				return "", p.errorf("bad string %s", p.src[start:p.pos])
			}
			return s, nil
		}
		p.pos++
	}
	return "", p.errorf("unterminated string")
}

package seataconf

import (
	"fmt"
	"strings"
)

// kind is the shape of a configuration value.
type kind int

const (
	scalar kind = iota // text holds the value, quoted or not
	null               // an empty YAML value or HOCON null: as if unset
	list               // items holds the elements' text
	object             // an empty object ({} in HOCON): nothing below it
)

// entry is one leaf of a parsed file: a key path and its value, with where
// it was written. Both parsers flatten their trees into entries, so that
// the key table sees seatago.yml, application.yml and file.conf alike.
type entry struct {
	path  []string // key segments as written, "seata" prefix removed
	kind  kind
	text  string
	items []string
	file  string
	line  int
}

// key is the path as the user wrote it, for messages.
func (e entry) key() string { return strings.Join(e.path, ".") }

// where is "file:line: key" for messages.
func (e entry) where() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.key()) }

// canon returns a key segment in the form the key table uses: lower case,
// without dashes, so that seata-go's kebab-case, Java's camelCase and
// Spring's relaxed forms meet.
func canon(seg string) string {
	return strings.ToLower(strings.ReplaceAll(seg, "-", ""))
}

// canonPath is the canonical form of a whole path, for comparisons.
func canonPath(p []string) string {
	c := make([]string, len(p))
	for i, s := range p {
		c[i] = canon(s)
	}
	return strings.Join(c, ".")
}

package schema

import "strings"

// QuoteIdent quotes a MySQL identifier with backticks, doubling any backtick
// inside it, so that any string becomes exactly one identifier.
func QuoteIdent(name string) string {
	if !strings.Contains(name, "`") {
		return "`" + name + "`"
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// appendQuoted appends QuoteIdent(name) to b.
func appendQuoted(b *strings.Builder, name string) {
	b.WriteByte('`')
	if strings.Contains(name, "`") {
		b.WriteString(strings.ReplaceAll(name, "`", "``"))
	} else {
		b.WriteString(name)
	}
	b.WriteByte('`')
}

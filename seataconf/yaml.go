package seataconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseYAML parses the first document of a YAML file and flattens its
// mappings into entries in document order. Keys containing dots are split
// into segments, as Spring and seata-go's koanf loader do, so
// "seata.tx-service-group: x" at the top level means the same as the
// nested form. Aliases are followed; tags other than YAML's core ones are
// refused.
func parseYAML(file string, src []byte) ([]entry, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, file, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: %s:%d: the document is not a mapping", ErrInvalid, file, root.Line)
	}
	var out []entry
	err := flattenYAML(file, nil, root, &out, 0)
	return out, err
}

// maxYAMLDepth bounds alias expansion and nesting.
const maxYAMLDepth = 32

func flattenYAML(file string, path []string, n *yaml.Node, out *[]entry, depth int) error {
	if depth > maxYAMLDepth {
		return fmt.Errorf("%w: %s:%d: %s: nested too deeply", ErrInvalid, file, n.Line, strings.Join(path, "."))
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 && len(path) > 0 {
			*out = append(*out, entry{path: path, kind: object, file: file, line: n.Line})
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%w: %s:%d: %s: a key must be a scalar", ErrInvalid, file, k.Line, strings.Join(path, "."))
			}
			if k.Value == "<<" {
				return fmt.Errorf("%w: %s:%d: merge keys (<<) are not supported", ErrInvalid, file, k.Line)
			}
			sub := append(append([]string(nil), path...), strings.Split(k.Value, ".")...)
			if err := flattenYAML(file, sub, v, out, depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		e := entry{path: path, kind: list, file: file, line: n.Line}
		for _, it := range n.Content {
			for it.Kind == yaml.AliasNode {
				it = it.Alias
			}
			if it.Kind != yaml.ScalarNode {
				// Only lists of scalars are meaningful to any key we
				// read; keep the entry so the key table can say so.
				e.kind = object
				e.items = nil
				break
			}
			e.items = append(e.items, it.Value)
		}
		*out = append(*out, e)
	case yaml.ScalarNode:
		e := entry{path: path, kind: scalar, text: n.Value, file: file, line: n.Line}
		switch n.ShortTag() {
		case "!!null":
			e.kind = null
		case "!!str", "!!int", "!!bool", "!!float", "!!timestamp":
		default:
			return fmt.Errorf("%w: %s:%d: %s: unsupported tag %s", ErrInvalid, file, n.Line, strings.Join(path, "."), n.Tag)
		}
		*out = append(*out, e)
	}
	return nil
}

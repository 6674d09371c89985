package nodejson

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Append appends the JSON form of a node tree to dst. Scalars are typed by
// their YAML tag the way yaml.v3 decodes them (so `port: 0x50` is 80 and
// `image: "1.0"` a string), which is also how kyaml converts a config to JSON.
func Append(dst []byte, n *yaml.Node) ([]byte, error) {
	return appendNode(dst, n, 0)
}

func appendNode(dst []byte, n *yaml.Node, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("nested deeper than %d", MaxDepth)
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return append(dst, "null"...), nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return append(dst, "null"...), nil
		}
		return appendNode(dst, n.Content[0], depth+1)
	case yaml.SequenceNode:
		dst = append(dst, '[')
		for i, c := range n.Content {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendNode(dst, c, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case yaml.MappingNode:
		return appendMapping(dst, n, depth)
	case yaml.ScalarNode:
		return appendScalar(dst, n)
	}
	return nil, fmt.Errorf("unknown YAML node kind %d", n.Kind)
}

func appendMapping(dst []byte, n *yaml.Node, depth int) ([]byte, error) {
	pairs, err := mergedPairs(n, 0)
	if err != nil {
		return nil, err
	}
	dst = append(dst, '{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			dst = append(dst, ',')
		}
		k := pairs[i]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: a map key must be a scalar to be written as JSON", k.Line)
		}
		dst = AppendString(dst, k.Value)
		dst = append(dst, ':')
		if dst, err = appendNode(dst, pairs[i+1], depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// mergedPairs returns a mapping's key/value nodes with YAML merge keys
// (`<<: *base`) expanded; keys of the map itself win over merged ones.
func mergedPairs(n *yaml.Node, depth int) ([]*yaml.Node, error) {
	hasMerge := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			hasMerge = true
			break
		}
	}
	if !hasMerge {
		return n.Content, nil
	}
	if depth > 100 {
		return nil, fmt.Errorf("merge keys nested too deep")
	}
	var own, merged []*yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMergeKey(n.Content[i]) {
			own = append(own, n.Content[i], n.Content[i+1])
			seen[n.Content[i].Value] = true
		}
	}
	var sources []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMergeKey(n.Content[i]) {
			continue
		}
		v := deref(n.Content[i+1])
		switch {
		case v != nil && v.Kind == yaml.MappingNode:
			sources = append(sources, v)
		case v != nil && v.Kind == yaml.SequenceNode:
			for _, s := range v.Content {
				if s = deref(s); s == nil || s.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("line %d: a merge key takes maps", n.Content[i].Line)
				}
				sources = append(sources, s)
			}
		default:
			return nil, fmt.Errorf("line %d: a merge key takes a map or a list of maps", n.Content[i].Line)
		}
	}
	for _, s := range sources { // earlier sources win, as in yaml.v3
		pairs, err := mergedPairs(s, depth+1)
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if k := pairs[i].Value; !seen[k] {
				seen[k] = true
				merged = append(merged, pairs[i], pairs[i+1])
			}
		}
	}
	return append(merged, own...), nil
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "" || k.ShortTag() == "!!merge") && k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func appendScalar(dst []byte, n *yaml.Node) ([]byte, error) {
	switch n.ShortTag() {
	case TagNull:
		return append(dst, "null"...), nil
	case TagBool:
		switch n.Value {
		case "true", "True", "TRUE":
			return append(dst, "true"...), nil
		case "false", "False", "FALSE":
			return append(dst, "false"...), nil
		}
		return nil, fmt.Errorf("line %d: %q is not a boolean", n.Line, n.Value)
	case TagInt:
		return appendInt(dst, n)
	case TagFloat:
		return appendFloat(dst, n)
	}
	return AppendString(dst, n.Value), nil
}

func appendInt(dst []byte, n *yaml.Node) ([]byte, error) {
	if isJSONInt(n.Value) {
		return append(dst, n.Value...), nil
	}
	plain := strings.ReplaceAll(n.Value, "_", "")
	neg := strings.HasPrefix(plain, "-")
	digits := strings.TrimLeft(plain, "+-")
	base := 0
	switch {
	case strings.HasPrefix(digits, "0b"):
		base, digits = 2, digits[2:]
	case strings.HasPrefix(digits, "0o"):
		base, digits = 8, digits[2:]
	}
	if neg {
		digits = "-" + digits
	}
	if v, err := strconv.ParseInt(digits, base, 64); err == nil {
		return strconv.AppendInt(dst, v, 10), nil
	}
	if v, err := strconv.ParseUint(strings.TrimPrefix(digits, "+"), base, 64); err == nil {
		return strconv.AppendUint(dst, v, 10), nil
	}
	if f, err := strconv.ParseFloat(plain, 64); err == nil { // out of int64 range
		return appendFloatValue(dst, f, n)
	}
	return nil, fmt.Errorf("line %d: %q is not an integer", n.Line, n.Value)
}

func appendFloat(dst []byte, n *yaml.Node) ([]byte, error) {
	if isJSONNumber(n.Value) {
		return append(dst, n.Value...), nil
	}
	switch strings.ToLower(strings.TrimPrefix(n.Value, "+")) {
	case ".inf", "-.inf", ".nan":
		return nil, fmt.Errorf("line %d: %s cannot be written as JSON", n.Line, n.Value)
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil {
		return nil, fmt.Errorf("line %d: %q is not a number", n.Line, n.Value)
	}
	return appendFloatValue(dst, f, n)
}

func appendFloatValue(dst []byte, f float64, n *yaml.Node) ([]byte, error) {
	b, err := json.Marshal(f) // encoding/json's float format, as kyaml writes it
	if err != nil {
		return nil, fmt.Errorf("line %d: %v", n.Line, err)
	}
	return append(dst, b...), nil
}

func isJSONInt(s string) bool {
	d := decoder{data: []byte(s)}
	isFloat, err := d.number()
	return err == nil && !isFloat && d.pos == len(s)
}

func isJSONNumber(s string) bool {
	d := decoder{data: []byte(s)}
	_, err := d.number()
	return err == nil && d.pos == len(s)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as encoding/json does
// without HTML escaping; invalid UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // as encoding/json: JSONP-safe
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

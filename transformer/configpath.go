package transformer

import (
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// locate follows a field path ("spec.sidecars[0].containers[1].image")
// through a config node, to give errors a line. Go's JSON type errors leave
// list indices out ("ports.containerPort"); where the path goes through a
// list without one, locate picks the first item that has the rest of the
// path and puts its index back. It returns the completed path and the
// deepest node it reached.
func locate(root *yaml.Node, path string) (string, *yaml.Node) {
	var b strings.Builder
	n := walk(root, tokens(path), &b)
	return b.String(), n
}

// tokens splits a field path into keys and "[N]" / `["key"]` parts.
func tokens(path string) []string {
	var out []string
	for len(path) > 0 {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			if end < 0 {
				return append(out, path)
			}
			out = append(out, path[2:end])
			path = path[end+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(out, path)
			}
			out = append(out, path[:end+1])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, path[:end])
			path = path[end:]
		}
	}
	return out
}

func walk(n *yaml.Node, toks []string, b *strings.Builder) *yaml.Node {
	for len(toks) > 0 {
		tok := toks[0]
		switch {
		case n == nil:
			writeTokens(b, toks)
			return nil
		case n.Kind == yaml.SequenceNode && strings.HasPrefix(tok, "["):
			i, err := strconv.Atoi(tok[1 : len(tok)-1])
			b.WriteString(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				writeTokens(b, toks[1:])
				return n
			}
			n, toks = n.Content[i], toks[1:]
		case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
			pick := 0
			for i, item := range n.Content {
				var discard strings.Builder
				if walk(item, toks, &discard) != nil && resolves(item, toks) {
					pick = i
					break
				}
			}
			b.WriteString("[" + strconv.Itoa(pick) + "]")
			n = n.Content[pick]
		case n.Kind == yaml.MappingNode:
			v := mapGet(n, tok)
			writeTokens(b, toks[:1])
			if v == nil {
				writeTokens(b, toks[1:])
				return keyNode(n, tok, n)
			}
			n, toks = v, toks[1:]
		default:
			writeTokens(b, toks)
			return n
		}
	}
	return n
}

// resolves reports whether the whole path exists under n.
func resolves(n *yaml.Node, toks []string) bool {
	for _, tok := range toks {
		for n != nil && n.Kind == yaml.SequenceNode && !strings.HasPrefix(tok, "[") {
			if len(n.Content) == 0 {
				return false
			}
			n = n.Content[0]
		}
		switch {
		case n == nil:
			return false
		case n.Kind == yaml.MappingNode:
			n = mapGet(n, tok)
		case n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(tok[1 : len(tok)-1])
			if err != nil || i < 0 || i >= len(n.Content) {
				return false
			}
			n = n.Content[i]
		default:
			return false
		}
	}
	return n != nil
}

func keyNode(m *yaml.Node, key string, fallback *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return fallback
}

func writeTokens(b *strings.Builder, toks []string) {
	for _, t := range toks {
		switch {
		case strings.HasPrefix(t, "["):
			b.WriteString(t)
		case strings.ContainsAny(t, "./[]\""):
			b.WriteString(`["` + t + `"]`)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(t)
		}
	}
}

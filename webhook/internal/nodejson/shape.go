package nodejson

import "bytes"

// Shape is what a tree of a document would hold, read from its bytes
// without building it: the webhook weighs a request by it before the
// tree is built (a node costs about 25 times a byte of JSON that makes it).
type Shape struct {
	// Nodes bounds the nodes Decode would build: one per key and per
	// value (an empty {} or [] counts one too many).
	Nodes int
	// Depth is the deepest nesting of objects and arrays.
	Depth int
	// Items is the number of members or elements of the document when
	// it is an object or an array.
	Items int
}

// Measure returns the shape of a document, in one pass and without
// validating it: on invalid JSON the figures are still bounds of what
// Decode would build before it fails.
func Measure(data []byte) Shape {
	s := Shape{Nodes: 1} // the root
	depth, commas := 0, 0
	for i := 0; i < len(data); {
		switch data[i] {
		case '"':
			i = skipStringBytes(data, i+1)
			continue
		case ',':
			s.Nodes++ // the next value (or key) is a node
			if depth == 1 {
				commas++
			}
		case ':':
			s.Nodes++
		case '{', '[':
			s.Nodes++ // its first member, if any
			depth++
			s.Depth = max(s.Depth, depth)
		case '}', ']':
			depth--
		}
		i++
	}
	if t := bytes.TrimSpace(data); len(t) >= 2 && (t[0] == '{' || t[0] == '[') && len(bytes.TrimSpace(t[1:len(t)-1])) > 0 {
		s.Items = commas + 1
	}
	return s
}

// skipStringBytes returns the offset past the string whose content starts
// at i, or len(data) if it is not terminated.
func skipStringBytes(data []byte, i int) int {
	for {
		i = scanPlain(data, i)
		switch {
		case i >= len(data):
			return len(data)
		case data[i] == '"':
			return i + 1
		case data[i] == '\\':
			i += 2
		default: // a control character: invalid, but not the scan's business
			i++
		}
	}
}

package manifest

import (
	"bytes"
	"slices"
	"sync/atomic"

	"github.com/sidecar-injector/sidecar-injector/internal/linediff"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Style is how a document indents: spaces per mapping level, and whether
// list dashes sit under their key (compact, as kubectl writes) or indented.
type Style struct {
	Indent  int
	Compact bool
}

// DefaultStyle is kubectl's and kustomize's.
var DefaultStyle = Style{Indent: 2, Compact: true}

// encode renders a changed document as its separator line and its text,
// and says whether it could splice. It edits the original text where the
// document is plain block YAML or JSON (every untouched line or member keeps
// its bytes), and otherwise re-encodes the document in its own style with
// its blank lines put back. A splice is checked to parse to the edited tree.
func encode(d *Document) (sep, out []byte, spliced bool, err error) {
	text := d.text()
	edited := d.Node.Document()
	style := DetectStyle(edited)
	original := edited
	if d.originals == nil {
		original = &yaml.Node{}
		if err := yaml.Unmarshal(text, original); err != nil {
			original = nil
		}
	}
	if original != nil {
		patched, exact, isJSON := spliceJSON(text, original, edited, d.originals)
		check := parsesToJSON
		if !isJSON {
			patched, exact = splice(text, original, edited, d.originals, style)
			check = parsesTo
		}
		if patched != nil {
			if check(patched, edited) {
				if sepContent(d.Sep) != nil {
					return nil, patched, exact, nil // it starts with the separator line
				}
				return d.Sep, patched, exact, nil
			}
			spliceMismatches.Add(1)
		}
	}
	out, err = EncodeNode(edited, style)
	if err != nil {
		return nil, nil, false, err
	}
	out = restoreBlankLines(text, out)
	sep = d.Sep
	if c := sepContent(d.Sep); c != nil {
		// The document starts on its separator line ("--- !!map", "--- {a: 1}"),
		// where the encoder cannot put it: put it back there if it still reads
		// the same.
		if rest, ok := bytes.CutPrefix(out, slices.Concat(c, []byte("\n"))); ok {
			out = rest
		} else if parsesTo(slices.Concat([]byte("--- "), out), edited) {
			sep = []byte("--- ")
		} else {
			sep = slices.Concat([]byte("---"), d.Sep[len(bytes.TrimRight(d.Sep, "\r\n")):])
		}
	}
	if bytes.Contains(text, []byte("\r\n")) {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	if len(text) > 0 && !bytes.HasSuffix(text, []byte("\n")) {
		out = bytes.TrimRight(out, "\r\n")
	}
	return sep, out, false, nil
}

// spliceMismatches counts splices that did not parse back to the edited
// tree (and were replaced by a full re-encode). It must stay zero: tests
// and fuzzing check it, since the check is the only thing hiding such a bug.
var spliceMismatches atomic.Int64

// SpliceMismatches returns how many splices failed their check so far.
func SpliceMismatches() int64 { return spliceMismatches.Load() }

// parsesTo reports whether text parses to the same tree as want: the same
// meaning, and the same anchors and aliases.
func parsesTo(text []byte, want *yaml.Node) bool {
	var got yaml.Node
	if err := yaml.Unmarshal(text, &got); err != nil {
		return false
	}
	return yamltree.Same(&got, want) && yamltree.Equal(&got, want)
}

// EncodeNode encodes a node with the given style.
func EncodeNode(n *yaml.Node, style Style) ([]byte, error) {
	if hasEmptyNull(n, false) {
		n = withTaggedNulls(n, false)
	}
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(style.Indent)
	if style.Compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// hasEmptyNull reports whether n holds an empty null (`? `, `{a}`, `[a, ]`)
// where the encoder would write it as an empty quoted string: as a mapping
// key, or inside a flow collection.
func hasEmptyNull(n *yaml.Node, inFlow bool) bool {
	inFlow = inFlow || n.Style&yaml.FlowStyle != 0
	for i, c := range n.Content {
		if isEmptyNull(c) && (inFlow || (n.Kind == yaml.MappingNode && i%2 == 0)) {
			return true
		}
		if hasEmptyNull(c, inFlow) {
			return true
		}
	}
	return false
}

func isEmptyNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "" && n.ShortTag() == "!!null"
}

// withTaggedNulls returns a copy of n whose empty nulls that hasEmptyNull
// finds carry their tag, which the encoder then writes before the empty
// quoted string: the same null.
func withTaggedNulls(n *yaml.Node, inFlow bool) *yaml.Node {
	inFlow = inFlow || n.Style&yaml.FlowStyle != 0
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		if isEmptyNull(ch) && (inFlow || (n.Kind == yaml.MappingNode && i%2 == 0)) {
			k := *ch
			k.Tag, k.Style = "!!null", k.Style|yaml.TaggedStyle
			c.Content[i] = &k
		} else {
			c.Content[i] = withTaggedNulls(ch, inFlow)
		}
	}
	return &c
}

// DetectStyle reads the indentation of a parsed document from the positions
// of its first nested block mapping and first block list under a key.
func DetectStyle(n *yaml.Node) Style {
	style := Style{}
	seqOffset := -1
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i], n.Content[i+1]
				if val.Style&yaml.FlowStyle != 0 || len(val.Content) == 0 || val.Line == 0 || val.Line == key.Line {
					continue
				}
				switch val.Kind {
				case yaml.MappingNode:
					if style.Indent == 0 && val.Column > key.Column {
						style.Indent = val.Column - key.Column
					}
				case yaml.SequenceNode:
					if seqOffset < 0 {
						seqOffset = val.Column - key.Column
					}
				}
				if style.Indent > 0 && seqOffset >= 0 {
					return true
				}
			}
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(n)
	if style.Indent < 2 || style.Indent > 9 {
		style.Indent = DefaultStyle.Indent
	}
	// yaml.v3 writes compact lists at indent-2 from their key: the nearest
	// it can get to "dash under the key" for wider indents.
	style.Compact = seqOffset < style.Indent
	return style
}

// restoreBlankLines puts back the blank lines of the original that the
// encoder dropped. Blank lines between block entries carry no meaning, so
// this changes nothing but the diff a reviewer reads.
func restoreBlankLines(orig, encoded []byte) []byte {
	if !bytes.Contains(orig, []byte("\n\n")) && !bytes.Contains(orig, []byte("\n\r\n")) {
		return encoded
	}
	a := splitLines(orig)
	b := splitLines(encoded)
	// O((N+M)D): bounded, so that a huge re-encoded document costs at most a
	// few million steps; past that its blank lines are not put back.
	ops, ok := linediff.Lines(a, b, min(2000, 4_000_000/(len(a)+len(b)+1)))
	if !ok {
		return encoded
	}
	var out bytes.Buffer
	out.Grow(len(encoded) + len(orig)/8)
	var pendingBlank int
	flush := func() {
		for ; pendingBlank > 0; pendingBlank-- {
			out.WriteByte('\n')
		}
	}
	for _, op := range ops {
		switch op.Kind {
		case linediff.Delete:
			if len(bytes.TrimSpace(a[op.A])) == 0 {
				pendingBlank++ // put back just before the next kept line
			}
		case linediff.Insert:
			out.Write(b[op.B])
		case linediff.Equal:
			flush()
			out.Write(b[op.B])
		}
	}
	flush()
	return out.Bytes()
}

// splitLines splits after each newline, normalising CRLF to LF so the
// original and the encoder's output compare equal.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = append(data[:len(data):len(data)], '\n'), nil
		} else {
			line, data = data[:i+1], data[i+1:]
		}
		if bytes.HasSuffix(line, []byte("\r\n")) {
			line = append(line[:len(line)-2:len(line)-2], '\n')
		}
		lines = append(lines, line)
	}
	return lines
}

// Package manifest reads and writes multi-document YAML streams the way a
// GitOps user wants them edited: documents nobody changed are written back
// byte for byte, and changed ones keep their comments, key order,
// indentation style and blank lines.
package manifest

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Document is one YAML document of a stream, with the bytes it was read from.
type Document struct {
	Sep     []byte      // the separator line before the document ("---\n"), as read; empty for the first
	Raw     []byte      // the document's own bytes, as read
	Node    *yaml.RNode // nil when the document holds no value (only comments or nothing)
	Line    int         // line of the document's first byte in its file, from 1
	Changed bool        // set by the caller: write the node instead of Raw
	// Spliced is set when writing a changed document: true when its original
	// text was edited in place, false when it had to be re-encoded.
	Spliced bool
	// originals maps nodes the caller rewrote in place to their previous
	// content, so that the writer can diff without parsing Raw again.
	originals map[*yaml.Node]*yaml.Node
	// rendered holds a changed document's new text once Render has run and
	// let its tree go; renderedSep its separator line.
	rendered, renderedSep []byte
}

// Rewrote records that node, in this document's tree, was rewritten in place
// and that original holds what it had before; it marks the document changed.
func (d *Document) Rewrote(node, original *yaml.Node) {
	if d.originals == nil {
		d.originals = map[*yaml.Node]*yaml.Node{}
	}
	d.originals[node] = original
	d.Changed = true
}

// Stream is a parsed file (or stdin).
type Stream struct {
	Path string
	Docs []*Document
	bom  []byte
}

var utf8BOM = []byte("\xef\xbb\xbf")

// Parse splits data into documents and parses each. Errors name the path
// and the line.
func Parse(data []byte, path string) (*Stream, error) {
	s, err := Split(data, path)
	if err != nil {
		return nil, err
	}
	for _, d := range s.Docs {
		if err := s.ParseDoc(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Split cuts data into documents without parsing them, so that a caller
// can hold one document's tree at a time: ParseDoc, edit, Render (a tree
// takes tens of times the memory of its text).
func Split(data []byte, path string) (*Stream, error) {
	s := &Stream{Path: path}
	if bytes.HasPrefix(data, utf8BOM) {
		s.bom, data = utf8BOM, data[len(utf8BOM):]
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s:%d: not valid UTF-8 text", path, InvalidUTF8Line(data))
	}
	s.Docs = split(data)
	return s, nil
}

// ParseDoc parses one document of the stream into d.Node. Errors name the
// path and the line.
func (s *Stream) ParseDoc(d *Document) error {
	node, line, err := parseDoc(d)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Where(d, line), err)
	}
	d.Node = node
	return nil
}

// Render writes a changed document's new text now and lets its tree go
// (an unchanged one is written from Raw): the stream is then written
// without the tree.
func (s *Stream) Render(d *Document) error {
	if d.Changed && d.rendered == nil {
		sep, out, spliced, err := encode(d)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Where(d, d.Line), err)
		}
		if out == nil {
			out = []byte{}
		}
		d.renderedSep, d.rendered, d.Spliced = sep, out, spliced
	}
	d.Node, d.originals = nil, nil
	return nil
}

// split cuts a stream at its document markers. YAML forbids "---" and "..."
// at the start of a line inside a document, so cutting the text is exact.
func split(data []byte) []*Document {
	var docs []*Document
	cur := &Document{Line: 1}
	start, line := 0, 1
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += pos + 1
		}
		if isMarker(data[pos:end]) {
			cur.Raw = data[start:pos]
			docs = append(docs, cur)
			cur = &Document{Sep: data[pos:end], Line: line + 1}
			start = end
		}
		pos = end
		line++
	}
	cur.Raw = data[start:]
	return append(docs, cur)
}

func isMarker(line []byte) bool {
	if len(line) < 3 || !(bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("..."))) {
		return false
	}
	return len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\n' || line[3] == '\r'
}

// sepContent returns what follows "---" on a separator line, if it is not a
// comment: YAML allows a document to start on its separator line.
func sepContent(sep []byte) []byte {
	if len(sep) < 3 || sep[0] != '-' {
		return nil
	}
	rest := bytes.TrimSpace(sep[3:])
	if len(rest) == 0 || rest[0] == '#' {
		return nil
	}
	return rest
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// text is what a document's tree is parsed from: its own bytes, with the
// separator line before them when the document starts on it ("--- !!map").
func (d *Document) text() []byte {
	if sepContent(d.Sep) == nil {
		return d.Raw
	}
	return slices.Concat(d.Sep, d.Raw)
}

// LineOf returns the line in the file of a node of this document's tree
// (its first line for a node the parser did not place).
func (d *Document) LineOf(n *yaml.Node) int {
	if n == nil || n.Line == 0 {
		return d.Line
	}
	line := d.Line + n.Line - 1
	if sepContent(d.Sep) != nil {
		line-- // parsed with its separator line, one line earlier
	}
	return line
}

// parseDoc parses a document; on error it returns the line in the file
// that the error is about.
func parseDoc(d *Document) (*yaml.RNode, int, error) {
	text := d.text()
	line := d.Line
	if sepContent(d.Sep) != nil {
		line--
	}
	var node yaml.Node
	if err := yaml.Unmarshal(text, &node); err != nil {
		// report the line in the file, not in the document
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			line += n - 1
			msg = strings.TrimPrefix(msg, m[0])
		}
		return nil, line, fmt.Errorf("invalid YAML: %s", msg)
	}
	if node.Kind == 0 || yaml.IsYNodeEmptyDoc(&node) {
		return nil, 0, nil
	}
	return yaml.NewRNode(&node), 0, nil
}

// InvalidUTF8Line returns the line (from 1) of the first byte of data that
// is not UTF-8.
func InvalidUTF8Line(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return line
}

// Bytes renders the stream: untouched documents as read, changed ones encoded.
func (s *Stream) Bytes() ([]byte, error) {
	for _, d := range s.Docs {
		if err := s.Render(d); err != nil {
			return nil, err
		}
	}
	size := len(s.bom)
	for _, d := range s.Docs {
		if d.Changed {
			size += len(d.renderedSep) + len(d.rendered)
		} else {
			size += len(d.Sep) + len(d.Raw)
		}
	}
	b := bytes.NewBuffer(make([]byte, 0, size)) // one allocation: files can be large
	if _, err := s.WriteTo(b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteTo writes the rendered stream to w (an io.WriterTo). Changed
// documents not rendered yet are rendered first, so that an encoding error
// writes nothing.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	for _, d := range s.Docs {
		if err := s.Render(d); err != nil {
			return 0, err
		}
	}
	var n int64
	write := func(b []byte) error {
		m, err := w.Write(b)
		n += int64(m)
		return err
	}
	if err := write(s.bom); err != nil {
		return n, err
	}
	for _, d := range s.Docs {
		sep, text := d.Sep, d.Raw
		if d.Changed {
			sep, text = d.renderedSep, d.rendered
		}
		if err := write(sep); err != nil {
			return n, err
		}
		if err := write(text); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Changed reports whether any document of the stream changed.
func (s *Stream) Changed() bool {
	for _, d := range s.Docs {
		if d.Changed {
			return true
		}
	}
	return false
}

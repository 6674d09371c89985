package manifest

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A document whose root is a JSON object (a .json manifest, or a JSON
// document in a YAML stream) is written back as JSON. The splice works on
// the text's members: every member the edit did not touch keeps its bytes
// (and the separators around it), and added members are rendered as JSON in
// the document's own style: its indentation, its spacing after colons, one
// line or one member per line as the object they go into.
//
// Members line up with the original by the position of their key (array
// elements: their own), which kept nodes carry and new ones lack, as in the
// YAML splice.

// jsonValue is where a JSON value lies in the text: text[start:end]; for an
// object or an array, also where its members lie, in order.
type jsonValue struct {
	start, end int
	members    []jsonMember
}

// jsonMember is an object's key and value, or an array's element (keyStart
// and keyEnd -1).
type jsonMember struct {
	keyStart, keyEnd int
	value            *jsonValue
}

// start is where the member's text starts.
func (m jsonMember) start() int {
	if m.keyStart >= 0 {
		return m.keyStart
	}
	return m.value.start
}

// scanJSON reads the JSON value starting at text[at] and where its parts
// lie. It fails on anything that is not strict JSON (YAML flow style).
func scanJSON(text []byte, at int) (*jsonValue, bool) {
	dec := json.NewDecoder(bytes.NewReader(text[at:]))
	dec.UseNumber()
	sc := &jsonScanner{text: text, base: at, end: at, dec: dec}
	v, err := sc.value()
	return v, err == nil
}

type jsonScanner struct {
	text      []byte
	base, end int // where the decoder's input starts in text; the end of the last token
	dec       *json.Decoder
}

// next reads a token and says where it lies: it starts after the blanks,
// commas and colons that follow the previous token (the decoder checks they
// are where JSON wants them).
func (sc *jsonScanner) next() (tok json.Token, start, end int, err error) {
	start = sc.end
	for start < len(sc.text) && strings.IndexByte(" \t\r\n,:", sc.text[start]) >= 0 {
		start++
	}
	if tok, err = sc.dec.Token(); err != nil {
		return nil, 0, 0, err
	}
	sc.end = sc.base + int(sc.dec.InputOffset())
	return tok, start, sc.end, nil
}

func (sc *jsonScanner) value() (*jsonValue, error) {
	tok, start, end, err := sc.next()
	if err != nil {
		return nil, err
	}
	v := &jsonValue{start: start, end: end}
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return v, nil
	}
	for sc.dec.More() {
		m := jsonMember{keyStart: -1, keyEnd: -1}
		if tok == json.Delim('{') {
			if _, m.keyStart, m.keyEnd, err = sc.next(); err != nil {
				return nil, err
			}
		}
		if m.value, err = sc.value(); err != nil {
			return nil, err
		}
		v.members = append(v.members, m)
	}
	if _, _, v.end, err = sc.next(); err != nil { // the closing bracket
		return nil, err
	}
	return v, nil
}

// jsonStyle is how a document writes JSON, read from its text.
type jsonStyle struct {
	unit  string // one level of indentation
	colon string // between a key and its value: ": "
	comma string // between members on one line: ", "
	pad   string // inside the brackets of a one-line object or array: "" or " "
	nl    string // "\n" or "\r\n"
}

type jsonSplicer struct {
	origins
	text   []byte
	style  jsonStyle
	exact  bool // false once a node had to be rendered whole
	failed bool // a value JSON cannot hold
}

// spliceJSON writes edited as an edit of text when the original document's
// root is a JSON object; isJSON is false otherwise. exact is false when a
// part of it could not be lined up with the original and was rendered whole
// (still JSON, in the document's style). out is nil when the edit holds a
// value JSON cannot (.inf).
func spliceJSON(text []byte, original, edited *yaml.Node, originals map[*yaml.Node]*yaml.Node) (out []byte, exact, isJSON bool) {
	if original.Kind != yaml.DocumentNode || edited.Kind != yaml.DocumentNode ||
		len(original.Content) != 1 || len(edited.Content) != 1 {
		return nil, false, false
	}
	o, n := original.Content[0], edited.Content[0]
	if r := originals[o]; r != nil {
		o = r
	}
	if o.Kind != yaml.MappingNode || o.Style&yaml.FlowStyle == 0 {
		return nil, false, false
	}
	at := offsetOf(text, o.Line, o.Column)
	if at < 0 || text[at] != '{' {
		return nil, false, false
	}
	root, ok := scanJSON(text, at)
	if !ok {
		return nil, false, false
	}
	s := &jsonSplicer{origins: newOrigins(originals, edited), text: text, style: detectJSONStyle(text, root), exact: true}
	var b bytes.Buffer
	b.Grow(len(text) + len(text)/4)
	b.Write(text[:root.start])
	s.value(&b, root, o, n, s.multiline(root, true))
	b.Write(text[root.end:])
	if s.failed {
		return nil, false, true
	}
	return b.Bytes(), s.exact, true
}

// offsetOf converts a node's line and column (from 1, in characters) to a
// byte offset in text, or -1.
func offsetOf(text []byte, line, col int) int {
	at := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(text[at:], '\n')
		if i < 0 {
			return -1
		}
		at += i + 1
	}
	for c := 1; c < col; c++ {
		if at >= len(text) || text[at] == '\n' {
			return -1
		}
		_, size := utf8.DecodeRune(text[at:])
		at += size
	}
	if at >= len(text) {
		return -1
	}
	return at
}

// value writes the edited node n in place of the original o, which lies at v.
func (s *jsonSplicer) value(b *bytes.Buffer, v *jsonValue, o, n *yaml.Node, multiline bool) {
	if !s.changed(o, n) {
		b.Write(s.text[v.start:v.end])
		return
	}
	if n.Kind == o.Kind && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) &&
		n.Line == o.Line && n.Column == o.Column {
		if s.members(b, v, o, n, multiline) {
			return
		}
		s.exact = false // kept but not lined up: rendered whole
	}
	s.render(b, n, s.lineIndent(v.start), s.multiline(v, multiline))
}

// piece is an edited member: the original member it keeps (orig >= 0), or
// a new one (orig -1).
type piece struct {
	orig int
	key  *yaml.Node // nil in arrays
	val  *yaml.Node
}

// members writes an object or array whose members were edited, keeping the
// original members and the separators between them. It reports false when
// the edited members do not line up with the original ones.
func (s *jsonSplicer) members(b *bytes.Buffer, v *jsonValue, o, n *yaml.Node, parentMultiline bool) bool {
	object := o.Kind == yaml.MappingNode
	step := 1
	if object {
		step = 2
	}
	if len(o.Content) != step*len(v.members) {
		return false
	}
	type pos struct{ line, col int }
	index := make(map[pos]int, len(v.members))
	for i := range v.members {
		at := s.origOf(o.Content[i*step])
		index[pos{at.Line, at.Column}] = i
	}
	pieces := make([]piece, 0, len(n.Content)/step)
	prev := -1
	for j := 0; j+step-1 < len(n.Content); j += step {
		p := piece{orig: -1, val: n.Content[j+step-1]}
		if object {
			p.key = n.Content[j]
		}
		if at := n.Content[j]; at.Line > 0 {
			i, found := index[pos{at.Line, at.Column}]
			if !found || i <= prev || (object && p.key.Value != o.Content[2*i].Value) {
				return false // reordered or moved: not an edit of these members
			}
			p.orig, prev = i, i
		}
		pieces = append(pieces, p)
	}

	multiline := s.multiline(v, parentMultiline)
	lead, trail, sep, indent := s.layout(v, multiline)
	b.WriteByte(s.text[v.start])
	if len(pieces) == 0 {
		// emptied: "[ ]" again if it was "[ x ]", as it was filled
		if lead == trail && !strings.Contains(lead, "\n") {
			b.WriteString(lead)
		}
		b.WriteByte(s.text[v.end-1])
		return true
	}
	b.WriteString(lead)
	for k, p := range pieces {
		if k > 0 {
			if p.orig > 0 && pieces[k-1].orig >= 0 {
				// the separator before this original member, as written
				b.Write(s.text[v.members[p.orig-1].value.end:v.members[p.orig].start()])
			} else {
				b.WriteString(sep)
			}
		}
		if p.orig < 0 {
			if object {
				s.renderKey(b, p.key)
			}
			s.render(b, p.val, indent, multiline)
			continue
		}
		m := v.members[p.orig]
		b.Write(s.text[m.start():m.value.start]) // the key and colon, as written
		s.value(b, m.value, s.origOf(o.Content[p.orig*step+step-1]), p.val, multiline)
	}
	b.WriteString(trail)
	b.WriteByte(s.text[v.end-1])
	return true
}

// multiline reports whether an object or array has one member per line.
// An empty one is filled as its parent is, but for blanks between its
// brackets: "[ ]" becomes "[ x ]", "[\n]" one member per line.
func (s *jsonSplicer) multiline(v *jsonValue, parent bool) bool {
	if len(v.members) == 0 {
		inner := s.text[v.start+1 : v.end-1]
		if len(inner) > 0 {
			return bytes.IndexByte(inner, '\n') >= 0
		}
		return parent
	}
	return bytes.IndexByte(s.text[v.members[0].start():v.members[len(v.members)-1].start()+1], '\n') >= 0 ||
		bytes.IndexByte(s.text[v.start:v.members[0].start()], '\n') >= 0
}

// layout returns what an object or array holds before its first member,
// after its last, between two members, and the indentation of a member's
// line, all as written where there is an example.
func (s *jsonSplicer) layout(v *jsonValue, multiline bool) (lead, trail, sep, indent string) {
	outer := s.lineIndent(v.start)
	if len(v.members) == 0 {
		inner := string(s.text[v.start+1 : v.end-1])
		if !multiline { // "[ ]" holds "[ x ]"
			return inner, inner, s.style.comma, ""
		}
		// "[\n  ]" is filled as "[]" is, and emptied back to "[]"
		s.exact = s.exact && inner == ""
		indent = outer + s.style.unit
		return s.style.nl + indent, s.style.nl + outer, "," + s.style.nl + indent, indent
	}
	first, last := v.members[0], v.members[len(v.members)-1]
	lead = string(s.text[v.start+1 : first.start()])
	trail = string(s.text[last.value.end : v.end-1])
	indent = s.lineIndent(last.start())
	switch {
	case len(v.members) > 1:
		sep = string(s.text[first.value.end:v.members[1].start()])
	case multiline:
		sep = "," + s.style.nl + indent
	default:
		sep = s.style.comma
	}
	return lead, trail, sep, indent
}

// lineIndent returns the blanks that start the line holding text[at].
func (s *jsonSplicer) lineIndent(at int) string {
	start := bytes.LastIndexByte(s.text[:at], '\n') + 1
	end := start
	for end < at && (s.text[end] == ' ' || s.text[end] == '\t') {
		end++
	}
	return string(s.text[start:end])
}

// render writes n as JSON; indent is that of the line it starts on.
func (s *jsonSplicer) render(b *bytes.Buffer, n *yaml.Node, indent string, multiline bool) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		object := n.Kind == yaml.MappingNode
		open, close, step := byte('['), byte(']'), 1
		if object {
			open, close, step = '{', '}', 2
		}
		b.WriteByte(open)
		if len(n.Content) == 0 {
			b.WriteByte(close)
			return
		}
		inner := indent + s.style.unit
		for j := 0; j+step-1 < len(n.Content); j += step {
			switch {
			case multiline && j > 0:
				b.WriteString("," + s.style.nl + inner)
			case multiline:
				b.WriteString(s.style.nl + inner)
			case j > 0:
				b.WriteString(s.style.comma)
			default:
				b.WriteString(s.style.pad)
			}
			if object {
				s.renderKey(b, n.Content[j])
			}
			s.render(b, n.Content[j+step-1], inner, multiline)
		}
		if multiline {
			b.WriteString(s.style.nl + indent)
		} else {
			b.WriteString(s.style.pad)
		}
		b.WriteByte(close)
	default:
		s.renderScalar(b, n)
	}
}

func (s *jsonSplicer) renderKey(b *bytes.Buffer, key *yaml.Node) {
	writeJSONString(b, key.Value)
	b.WriteString(s.style.colon)
}

// renderScalar writes a scalar as the JSON value it means.
func (s *jsonSplicer) renderScalar(b *bytes.Buffer, n *yaml.Node) {
	v, ok := jsonScalar(n)
	if !ok {
		s.failed = true
	}
	b.WriteString(v)
}

// jsonScalar returns the JSON of a scalar: a number, true, false, null, or a
// string (also for timestamps and other tags, as the API server reads them).
// It fails on numbers JSON cannot hold (.inf, .nan).
func jsonScalar(n *yaml.Node) (string, bool) {
	switch n.ShortTag() {
	case yaml.NodeTagNull:
		return "null", true
	case yaml.NodeTagBool, yaml.NodeTagInt, yaml.NodeTagFloat:
		if isJSONNumber(n.Value) || n.Value == "true" || n.Value == "false" {
			return n.Value, true
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return "", false
		}
		switch v := v.(type) {
		case bool:
			return strconv.FormatBool(v), true
		case int:
			return strconv.Itoa(v), true
		case int64:
			return strconv.FormatInt(v, 10), true
		case uint64:
			return strconv.FormatUint(v, 10), true
		case float64:
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				return strconv.FormatFloat(v, 'g', -1, 64), true
			}
		}
		return "", false
	}
	var b bytes.Buffer
	writeJSONString(&b, n.Value)
	return b.String(), true
}

// parsesToJSON reports whether text parses to want, read as JSON reads it:
// scalars by the JSON they are written as (0644 is 420), keys by their text.
func parsesToJSON(text []byte, want *yaml.Node) bool {
	var got yaml.Node
	return yaml.Unmarshal(text, &got) == nil && sameJSON(&got, want)
}

func sameJSON(a, b *yaml.Node) bool {
	for a.Kind == yaml.AliasNode && a.Alias != nil {
		a = a.Alias
	}
	for b.Kind == yaml.AliasNode && b.Alias != nil {
		b = b.Alias
	}
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode {
		x, okA := jsonScalar(a)
		y, okB := jsonScalar(b)
		return okA && okB && x == y
	}
	for i := range a.Content {
		if a.Kind == yaml.MappingNode && i%2 == 0 {
			if a.Content[i].Value != b.Content[i].Value {
				return false
			}
		} else if !sameJSON(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

func isJSONNumber(v string) bool {
	var n json.Number
	return json.Unmarshal([]byte(v), &n) == nil && v != "" && v[0] != '"'
}

// writeJSONString quotes a string as encoding/json does, but leaves <, >
// and & as they are (as kubectl and jq write them).
func writeJSONString(b *bytes.Buffer, v string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)       // a string always encodes
	b.Truncate(b.Len() - 1) // the encoder's newline
}

// detectJSONStyle reads the document's style from its first examples: the
// indentation step of the first object or array with one member per line,
// the colon spacing of the first member, the separators of the first
// one-line object or array.
func detectJSONStyle(text []byte, root *jsonValue) jsonStyle {
	st := jsonStyle{unit: "", colon: "", comma: "", pad: "\x00", nl: "\n"}
	if bytes.Contains(text, []byte("\r\n")) {
		st.nl = "\r\n"
	}
	s := &jsonSplicer{text: text}
	var walk func(v *jsonValue)
	walk = func(v *jsonValue) {
		if len(v.members) > 0 {
			first := v.members[0]
			if st.colon == "" && first.keyEnd >= 0 {
				st.colon = string(text[first.keyEnd:first.value.start])
			}
			if s.multiline(v, false) {
				outer, inner := s.lineIndent(v.start), s.lineIndent(first.start())
				if st.unit == "" && len(inner) > len(outer) && strings.HasPrefix(inner, outer) {
					st.unit = inner[len(outer):]
				}
			} else {
				if st.pad == "\x00" {
					st.pad = string(text[v.start+1 : first.start()])
				}
				if st.comma == "" && len(v.members) > 1 {
					st.comma = string(text[first.value.end:v.members[1].start()])
				}
			}
		}
		for _, m := range v.members {
			walk(m.value)
		}
	}
	walk(root)
	if st.colon == "" {
		st.colon = ": "
	}
	if st.unit == "" {
		st.unit = "  "
	}
	if st.pad == "\x00" {
		st.pad = ""
	}
	if st.comma == "" {
		st.comma = ", "
		if st.colon == ":" { // minified
			st.comma = ","
		}
	}
	return st
}

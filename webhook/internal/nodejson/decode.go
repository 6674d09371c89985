// Package nodejson converts JSON text to and from kyaml *yaml.Node trees
// directly, with one walker over the JSON grammar: it builds a tree
// (Decoder), or validates and counts without building (Scanner, Valid,
// Measure).
//
// The walker is written by hand because a standard tokenizer costs too
// much here: the same trees, Scanner and Measure on go-json-experiment's
// jsontext (encoding/json/jsontext needs GOEXPERIMENT=jsonv2 in Go 1.26)
// took the webhook's load test from 0.26-0.28 of the TLS floor's
// throughput to 0.19-0.24, under its bar of a quarter: 22% less
// throughput, 20-24% more CPU per request (docs/BENCHMARKS.md). The webhook receives pods as JSON and the engine works on
// yaml.Nodes; kyaml's own conversion goes through interface{} values and a
// YAML encoder and costs several times more than this one-pass builder.
// Scalars keep their JSON text, so untouched values compare equal before and
// after the engine runs and never appear in a patch.
package nodejson

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// MaxDepth bounds nesting, as encoding/json does: a body of ten million '['
// must be an error, not a stack overflow.
const MaxDepth = 10000

// Tags of the nodes Decode builds.
const (
	TagStr   = "!!str"
	TagInt   = "!!int"
	TagFloat = "!!float"
	TagBool  = "!!bool"
	TagNull  = "!!null"
	TagMap   = "!!map"
	TagSeq   = "!!seq"
)

// SyntaxError is a JSON syntax error at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// Decode parses one JSON value into a node tree. Only whitespace may follow it.
func Decode(data []byte) (*yaml.Node, error) {
	var dec Decoder
	return dec.Decode(data)
}

// A Decoder decodes documents into trees whose nodes come from slabs it
// keeps: the next Decode reuses them, so a server decoding one document per
// request allocates no nodes in the steady state. A tree must no longer be
// used when its Decoder decodes again.
type Decoder struct {
	d decoder
	// used is how many nodes and children the last tree took: the slabs
	// are sized to it, so that one of each suffices next time.
	usedNodes, usedChildren int
}

// Decode parses one JSON value into a node tree. Only whitespace may follow it.
func (dec *Decoder) Decode(data []byte) (*yaml.Node, error) {
	// One string for the whole input: keys and values without escapes are
	// substrings of it, not allocations of their own.
	d := &dec.d
	d.data, d.src, d.build, d.pos, d.maxDepth, d.items = data, string(data), true, 0, 0, 0
	// Presized for a tree like the last one, but not past maxPresize: one
	// huge document must not make every later one allocate its size.
	if want := min(dec.usedNodes, maxPresize); cap(d.nodes) < want {
		d.nodes = make([]yaml.Node, 0, want)
	}
	if want := min(dec.usedChildren, maxPresize); cap(d.children) < want {
		d.children = make([]*yaml.Node, 0, want)
	}
	// Stale nodes past the lengths are overwritten whole as they are reused.
	d.nodes, d.children, d.stack = d.nodes[:0], d.children[:0], d.stack[:0]
	d.nodeCount, d.childCount = 0, 0
	n, err := d.decode()
	dec.usedNodes, dec.usedChildren = d.nodeCount, d.childCount
	return n, err
}

func (d *decoder) decode() (*yaml.Node, error) {
	d.skipSpace()
	n, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("unexpected %s after the value", d.describe())
	}
	return n, nil
}

// maxPresize bounds the slabs a Decoder sizes from its last tree: 16384
// nodes (2.5 MB) cover a 150 KB pod; larger trees take more slabs.
const maxPresize = 1 << 14

type decoder struct {
	data []byte
	src  string // data as a string, when building
	// build: make nodes and strings. Otherwise values are only validated
	// and counted.
	build bool
	pos   int
	// nodes and children are slabs the tree's nodes and Content slices are
	// cut from; stack holds the children of the containers being read.
	nodes    []yaml.Node
	children []*yaml.Node
	stack    []*yaml.Node
	// counts over all slabs of one tree
	nodeCount, childCount int
	// maxDepth is the deepest nesting seen, items the members or elements
	// of the outermost container.
	maxDepth, items int
}

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) describe() string {
	if d.pos >= len(d.data) {
		return "end of input"
	}
	return strconv.QuoteRune(rune(d.data[d.pos]))
}

// node makes a node, or only counts it when not building.
func (d *decoder) node(kind yaml.Kind, tag, value string) *yaml.Node {
	d.nodeCount++
	if !d.build {
		return nil
	}
	if len(d.nodes) == cap(d.nodes) {
		d.nodes = make([]yaml.Node, 0, slabSize(len(d.data)/9, 1024)) // a pod has about one node per 9 bytes
	}
	d.nodes = d.nodes[:len(d.nodes)+1]
	n := &d.nodes[len(d.nodes)-1]
	// Field by field: assigning a whole yaml.Node costs a bulk write
	// barrier while the collector runs. Stale fields of a reused node
	// are cleared.
	n.Kind, n.Style, n.Tag, n.Value, n.Content = kind, 0, tag, value, nil
	if n.Anchor != "" || n.Alias != nil || n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" || n.Line != 0 || n.Column != 0 {
		*n = yaml.Node{Kind: kind, Tag: tag, Value: value}
	}
	return n
}

func slabSize(estimate, max int) int {
	switch {
	case estimate < 16:
		return 16
	case estimate > max:
		return max
	}
	return estimate
}

// content moves the children a container pushed since mark into an exact
// slice cut from the children slab.
func (d *decoder) content(mark int) []*yaml.Node {
	n := len(d.stack) - mark
	if n == 0 {
		return nil
	}
	if len(d.children)+n > cap(d.children) {
		d.children = make([]*yaml.Node, 0, max(n, slabSize(len(d.data)/10, 4096)))
	}
	start := len(d.children)
	d.children = append(d.children, d.stack[mark:]...)
	d.childCount += n
	// Not cleared: the stale pointers point into the slabs the Decoder
	// keeps anyway, and clearing costs a write barrier per pointer while
	// the collector runs.
	d.stack = d.stack[:mark]
	return d.children[start : start+n : start+n]
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value reads any value. object and array are written out apart, though
// alike in shape: sharing their open/next steps cost 7-14% in DecodePod and
// ParseReview (interleaved runs of both builds), more than it saves.
func (d *decoder) value(depth int) (*yaml.Node, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		s, err := d.string(d.build)
		if err != nil {
			return nil, err
		}
		return d.node(yaml.ScalarNode, TagStr, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.pos
		isFloat, err := d.number()
		if err != nil {
			return nil, err
		}
		if !d.build {
			return d.node(0, "", ""), nil
		}
		tag := TagInt
		if isFloat {
			tag = TagFloat
		}
		return d.node(yaml.ScalarNode, tag, d.src[start:d.pos]), nil
	case d.literal("true"):
		return d.node(yaml.ScalarNode, TagBool, "true"), nil
	case d.literal("false"):
		return d.node(yaml.ScalarNode, TagBool, "false"), nil
	case d.literal("null"):
		return d.node(yaml.ScalarNode, TagNull, "null"), nil
	}
	return nil, d.errorf("unexpected %s, expected a value", d.describe())
}

func (d *decoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// enter checks the depth of a container and counts it.
func (d *decoder) enter(depth int) error {
	if depth > MaxDepth {
		return d.errorf("nested deeper than %d", MaxDepth)
	}
	d.maxDepth = max(d.maxDepth, depth)
	return nil
}

func (d *decoder) object(depth int) (*yaml.Node, error) {
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	n := d.node(yaml.MappingNode, TagMap, "")
	d.pos++ // {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return n, nil
	}
	mark := len(d.stack)
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errorf("unexpected %s, expected a string key", d.describe())
		}
		key, err := d.string(d.build)
		if err != nil {
			return nil, err
		}
		k := d.node(yaml.ScalarNode, TagStr, key)
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("unexpected %s, expected ':'", d.describe())
		}
		d.pos++
		d.skipSpace()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if d.build {
			d.stack = append(d.stack, k, v)
		}
		if depth == 1 {
			d.items++
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of input in an object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case '}':
			d.pos++
			if d.build {
				n.Content = d.content(mark)
			}
			return n, nil
		default:
			return nil, d.errorf("unexpected %s, expected ',' or '}'", d.describe())
		}
	}
}

func (d *decoder) array(depth int) (*yaml.Node, error) {
	if err := d.enter(depth); err != nil {
		return nil, err
	}
	n := d.node(yaml.SequenceNode, TagSeq, "")
	d.pos++ // [
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return n, nil
	}
	mark := len(d.stack)
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if d.build {
			d.stack = append(d.stack, v)
		}
		if depth == 1 {
			d.items++
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of input in an array")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case ']':
			d.pos++
			if d.build {
				n.Content = d.content(mark)
			}
			return n, nil
		default:
			return nil, d.errorf("unexpected %s, expected ',' or ']'", d.describe())
		}
	}
}

// string reads a JSON string at d.pos. Invalid UTF-8 and lone surrogates
// become U+FFFD, as encoding/json does. Unless keep, the string is only
// validated, and "" returned.
func (d *decoder) string(keep bool) (string, error) {
	start := d.pos + 1
	// Fast path: no escapes, the usual case for Kubernetes objects.
	i := scanPlainASCII(d.data, start)
	ascii := true
	if i < len(d.data) && d.data[i] >= utf8.RuneSelf {
		ascii = false
		i = scanPlain(d.data, i)
	}
	if i < len(d.data) && d.data[i] == '"' {
		raw := d.data[start:i]
		d.pos = i + 1
		if !keep {
			return "", nil
		}
		if !ascii && !utf8.Valid(raw) {
			return string([]rune(string(raw))), nil // replaces invalid bytes by U+FFFD
		}
		return d.substr(start, i), nil
	}
	if i < len(d.data) && d.data[i] < 0x20 {
		d.pos = i
		return "", d.errorf("control character %#02x in a string", d.data[i])
	}
	// Escapes: the string is rebuilt, or only checked (into a buffer
	// that stays small) unless keep.
	var buf []byte
	if keep {
		buf = make([]byte, 0, i-start+16)
		buf = append(buf, d.data[start:i]...)
	}
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			if !keep {
				return "", nil
			}
			if !utf8.Valid(buf) {
				return string([]rune(string(buf))), nil
			}
			return string(buf), nil
		case c < 0x20:
			d.pos = i
			return "", d.errorf("control character %#02x in a string", c)
		case c != '\\':
			j := scanPlain(d.data, i+1)
			if keep {
				buf = append(buf, d.data[i:j]...)
			}
			i = j
			continue
		}
		if i+1 >= len(d.data) {
			break
		}
		esc := d.data[i+1]
		i += 2
		if !keep {
			buf = buf[:0]
		}
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(d.data, i)
			if !ok {
				d.pos = i
				return "", d.errorf("bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(d.data, i+2); ok && i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						buf = utf8.AppendRune(buf, dec)
						continue
					}
				}
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.pos = i - 1
			return "", d.errorf("bad escape \\%c", esc)
		}
	}
	d.pos = len(d.data)
	return "", d.errorf("unterminated string")
}

// substr returns data[i:j] as a string: a substring of src when building a
// tree, a copy otherwise (scanning keeps no strings but a few keys).
func (d *decoder) substr(i, j int) string {
	if d.build {
		return d.src[i:j]
	}
	return string(d.data[i:j])
}

// scanPlain returns the index of the first '"', '\\' or control character
// at or after i, or len(data). It tests eight bytes at a time (SWAR): the
// lowest flagged byte of a word is a true match (the borrows of the zero-byte
// test only flag bytes above a true one).
func scanPlain(data []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		q := w ^ (ones * '"')
		b := w ^ (ones * '\\')
		special := (((q - ones) &^ q) | ((b - ones) &^ b) | (w - ones*0x20)) &^ w & highs
		if special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// scanPlainASCII is scanPlain that also stops at bytes >= 0x80, so that an
// ASCII string, the usual case, needs no UTF-8 check.
func scanPlainASCII(data []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		q := w ^ (ones * '"')
		b := w ^ (ones * '\\')
		special := ((((q-ones)&^q)|((b-ones)&^b)|(w-ones*0x20))&^w | w) & highs
		if special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(data); i++ {
		if c := data[i]; c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number and reports whether it has a fraction or exponent.
func (d *decoder) number() (isFloat bool, err error) {
	data, i := d.data, d.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		return false, d.errorf("bad number")
	}
	if i < len(data) && data[i] == '.' {
		isFloat = true
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return false, d.errorf("bad number: no digit after '.'")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isFloat = true
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return false, d.errorf("bad number: no digit in the exponent")
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	d.pos = i
	return isFloat, nil
}

// ErrNotObject is returned by Members for a value that is not an object.
var ErrNotObject = errors.New("not a JSON object")

//go:build nodejson_jsontext

package nodejson

// An experiment: the same trees, read with a standard tokenizer
// (github.com/go-json-experiment/json/jsontext) instead of the walker.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const useJSONText = true

type jsontextState struct {
	buf bytes.Buffer
	dec jsontext.Decoder
}

var jtOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

func (st *jsontextState) reset(data []byte) *jsontext.Decoder {
	st.buf = *bytes.NewBuffer(data)
	st.dec.Reset(&st.buf, jtOptions...)
	return &st.dec
}

func (dec *Decoder) decodeJSONText(data []byte) (*yaml.Node, error) {
	d := &dec.d
	d.data, d.src, d.build, d.pos, d.maxDepth, d.items = data, string(data), true, 0, 0, 0
	if want := min(dec.usedNodes, maxPresize); cap(d.nodes) < want {
		d.nodes = make([]yaml.Node, 0, want)
	}
	if want := min(dec.usedChildren, maxPresize); cap(d.children) < want {
		d.children = make([]*yaml.Node, 0, want)
	}
	d.nodes, d.children, d.stack = d.nodes[:0], d.children[:0], d.stack[:0]
	d.nodeCount, d.childCount = 0, 0
	jt := dec.jt.reset(data)
	n, err := d.jtValue(jt)
	if err == nil {
		if _, err2 := jt.ReadToken(); err2 != io.EOF {
			err = jtErr(err2, "unexpected data after the value")
		}
	}
	dec.usedNodes, dec.usedChildren = d.nodeCount, d.childCount
	if err != nil {
		return nil, err
	}
	return n, nil
}

func jtErr(err error, msg string) error {
	if err == nil {
		err = errors.New(msg)
	}
	return &SyntaxError{Msg: err.Error()}
}

func (d *decoder) jtValue(jt *jsontext.Decoder) (*yaml.Node, error) {
	switch jt.PeekKind() {
	case '{':
		if _, err := jt.ReadToken(); err != nil {
			return nil, jtErr(err, "")
		}
		d.maxDepth = max(d.maxDepth, jt.StackDepth())
		n := d.node(yaml.MappingNode, TagMap, "")
		mark := len(d.stack)
		for {
			switch jt.PeekKind() {
			case '}':
				jt.ReadToken()
				if d.build {
					n.Content = d.content(mark)
				}
				return n, nil
			case '"':
			default:
				_, err := jt.ReadToken()
				return nil, jtErr(err, "expected a key")
			}
			key, err := d.jtString(jt)
			if err != nil {
				return nil, err
			}
			k := d.node(yaml.ScalarNode, TagStr, key)
			v, err := d.jtValue(jt)
			if err != nil {
				return nil, err
			}
			if d.build {
				d.stack = append(d.stack, k, v)
			}
			if jt.StackDepth() == 1 {
				d.items++
			}
		}
	case '[':
		if _, err := jt.ReadToken(); err != nil {
			return nil, jtErr(err, "")
		}
		n := d.node(yaml.SequenceNode, TagSeq, "")
		d.maxDepth = max(d.maxDepth, jt.StackDepth())
		mark := len(d.stack)
		for {
			if k := jt.PeekKind(); k == ']' {
				jt.ReadToken()
				if d.build {
					n.Content = d.content(mark)
				}
				return n, nil
			} else if k == 0 {
				_, err := jt.ReadToken()
				return nil, jtErr(err, "bad array")
			}
			v, err := d.jtValue(jt)
			if err != nil {
				return nil, err
			}
			if d.build {
				d.stack = append(d.stack, v)
			}
			if jt.StackDepth() == 1 {
				d.items++
			}
		}
	case '"':
		s, err := d.jtString(jt)
		if err != nil {
			return nil, err
		}
		return d.node(yaml.ScalarNode, TagStr, s), nil
	case '0':
		v, err := jt.ReadValue()
		if err != nil {
			return nil, jtErr(err, "")
		}
		if !d.build {
			return d.node(0, "", ""), nil
		}
		end := int(jt.InputOffset())
		tag := TagInt
		if bytes.ContainsAny(v, ".eE") {
			tag = TagFloat
		}
		return d.node(yaml.ScalarNode, tag, d.src[end-len(v):end]), nil
	case 't':
		jt.ReadToken()
		return d.node(yaml.ScalarNode, TagBool, "true"), nil
	case 'f':
		jt.ReadToken()
		return d.node(yaml.ScalarNode, TagBool, "false"), nil
	case 'n':
		jt.ReadToken()
		return d.node(yaml.ScalarNode, TagNull, "null"), nil
	}
	_, err := jt.ReadToken()
	return nil, jtErr(err, "expected a value")
}

func (d *decoder) jtString(jt *jsontext.Decoder) (string, error) {
	v, err := jt.ReadValue()
	if err != nil {
		return "", jtErr(err, "")
	}
	if !d.build {
		return "", nil
	}
	end := int(jt.InputOffset())
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return d.src[end-len(v)+1 : end-1], nil
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b), nil
}

// Shape: see shape.go.
type Shape struct{ Nodes, Depth, Items int }

// Measure walks the document with the tokenizer, building nothing.
func Measure(data []byte) Shape {
	var st jsontextState
	d := decoder{}
	d.jtValue(st.reset(data))
	return Shape{Nodes: d.nodeCount, Depth: d.maxDepth, Items: d.items}
}

// Valid reports whether data is one JSON value.
func Valid(data []byte) error {
	var st jsontextState
	d := decoder{}
	jt := st.reset(data)
	if _, err := d.jtValue(jt); err != nil {
		return err
	}
	if _, err := jt.ReadToken(); err != io.EOF {
		return jtErr(err, "data after the value")
	}
	return nil
}

// Scanner reads a document value by value with the tokenizer.
type Scanner struct {
	st   jsontextState
	jt   *jsontext.Decoder
	data []byte
}

func NewScanner(data []byte) *Scanner {
	s := &Scanner{data: data}
	s.jt = s.st.reset(data)
	return s
}

func (s *Scanner) Peek() byte { return byte(s.jt.PeekKind()) }

func (s *Scanner) Object(member func(key string) error) error {
	if s.jt.PeekKind() != '{' {
		if _, err := s.Skip(); err != nil {
			return err
		}
		return ErrNotObject
	}
	s.jt.ReadToken()
	for {
		switch s.jt.PeekKind() {
		case '}':
			s.jt.ReadToken()
			return nil
		case '"':
		default:
			_, err := s.jt.ReadToken()
			return jtErr(err, "expected a key")
		}
		tok, err := s.jt.ReadToken()
		if err != nil {
			return jtErr(err, "")
		}
		start := s.jt.InputOffset()
		if err := member(tok.String()); err != nil {
			return err
		}
		if s.jt.InputOffset() == start {
			return fmt.Errorf("member %q: value not read", tok.String())
		}
	}
}

func (s *Scanner) Skip() ([]byte, error) {
	v, err := s.jt.ReadValue()
	if err != nil {
		return nil, jtErr(err, "")
	}
	end := int(s.jt.InputOffset())
	return s.data[end-len(v) : end], nil
}

func (s *Scanner) String() (string, bool, error) {
	switch s.jt.PeekKind() {
	case '"':
		tok, err := s.jt.ReadToken()
		if err != nil {
			return "", false, jtErr(err, "")
		}
		return tok.String(), true, nil
	case 'n':
		s.jt.ReadToken()
		return "", true, nil
	}
	_, err := s.Skip()
	return "", false, err
}

func (s *Scanner) Null() bool {
	if s.jt.PeekKind() == 'n' {
		s.jt.ReadToken()
		return true
	}
	return false
}

// Pos is the offset of the next value (or of what ends its container).
func (s *Scanner) Pos() int {
	p := int(s.jt.InputOffset())
	for p < len(s.data) && (s.data[p] == ':' || s.data[p] == ',' || s.data[p] == ' ' || s.data[p] == '\t' || s.data[p] == '\n' || s.data[p] == '\r') {
		p++
	}
	return p
}

func (s *Scanner) End() error {
	if _, err := s.jt.ReadToken(); err != io.EOF {
		return jtErr(err, "data after the value")
	}
	return nil
}

package fn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A ResourceList as kustomize and kpt write it (kyaml's kio.ByteWriter) is
// read one item at a time, so that only one item's tree is in memory: a
// go-yaml tree takes 15 to 30 times the text it was parsed from. The
// layout:
//
//	apiVersion: config.kubernetes.io/v1      head: any YAML, ends at "items:"
//	kind: ResourceList
//	items:                                   alone on its line, at column 0
//	- apiVersion: v1                         an item: "- " at column 0, then
//	  kind: Pod                              lines that are empty or start
//	  ...                                    with a space
//	- apiVersion: apps/v1
//	  ...
//	functionConfig:                          tail: the first other line on
//	  ...
//
// Each item's text is parsed as the only item of "items:" followed by a
// dummy item: the same context it has in the whole document, so it parses
// to the same tree. Whatever cannot be read this way exactly (an alias to
// another item's anchor, a comment that go-yaml would attach outside the
// item, a quoted scalar running across lines at column 0, directives) is
// detected and the whole document is read as one instead.
type layout struct {
	data []byte
	// starts holds where each item starts, and then where the tail does.
	starts []int
}

var itemsKey = []byte("items:\n")

// splitItems cuts data into head, items and tail, or returns false when it
// is not in the layout above.
func splitItems(data []byte) (*layout, bool) {
	at := 0
	for !bytes.HasPrefix(data[at:], itemsKey) || !bytes.HasPrefix(data[at+len(itemsKey):], []byte("- ")) {
		if at < len(data) && data[at] == '%' {
			return nil, false // a directive applies to the whole document
		}
		next := bytes.IndexByte(data[at:], '\n')
		if next < 0 {
			return nil, false
		}
		at += next + 1
	}
	l := &layout{data: data}
	for at += len(itemsKey); at < len(data); {
		c := data[at]
		if c != ' ' && c != '\n' && !bytes.HasPrefix(data[at:], []byte("- ")) {
			break
		}
		if c == '-' {
			l.starts = append(l.starts, at)
		}
		next := bytes.IndexByte(data[at:], '\n')
		if next < 0 {
			// No final line break: the last scalar would parse
			// differently followed by the dummy item.
			return nil, false
		}
		at += next + 1
	}
	if at < len(data) && data[at] == '#' {
		return nil, false // a comment between the last item and the next key
	}
	l.starts = append(l.starts, at)
	return l, true
}

func (l *layout) len() int          { return len(l.starts) - 1 }
func (l *layout) item(i int) []byte { return l.data[l.starts[i]:l.starts[i+1]] }
func (l *layout) head() []byte      { return l.data[:l.starts[0]-len(itemsKey)] }
func (l *layout) tail() []byte      { return l.data[l.starts[len(l.starts)-1]:] }

// line is the line of the input at offset at (for messages only: it counts).
func (l *layout) line(at int) int { return 1 + bytes.Count(l.data[:at], []byte("\n")) }

// readHead parses the head and the tail as a ResourceList with no items,
// and checks that "items" is where the layout says it is: not inside a
// scalar of the head, and given only once.
func (l *layout) readHead() (*ResourceList, error) {
	head, tail := l.head(), l.tail()
	text := make([]byte, 0, len(head)+len("items: []\n")+len(tail))
	text = append(append(append(text, head...), "items: []\n"...), tail...)
	itemsLine := l.line(len(head))
	doc, err := decodeDocument(bytes.NewReader(text))
	if err != nil {
		itemLines := bytes.Count(l.data[l.starts[0]:l.starts[l.len()]], []byte("\n"))
		return nil, fmt.Errorf("reading the ResourceList: %w", shiftLines(err, func(n int) int {
			if n > itemsLine {
				return n + itemLines
			}
			return n
		}))
	}
	root := rootOf(doc)
	if root.Kind != yaml.MappingNode {
		return nil, errNotLayout
	}
	found := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k, v := root.Content[i], root.Content[i+1]; k.Value == "items" {
			found++
			if k.Line != itemsLine || k.Column != 1 || v.Kind != yaml.SequenceNode || len(v.Content) != 0 {
				return nil, errNotLayout
			}
		}
	}
	if found != 1 {
		return nil, errNotLayout
	}
	return fromRoot(root)
}

// errNotLayout: the text is not in the layout; errNotAlone: an item cannot
// be read on its own exactly.
var (
	errNotLayout = errors.New(`not in the layout kustomize and kpt write ("items:" alone on a line, each item starting with "- " at column 0)`)
	errNotAlone  = fmt.Errorf("%w: a comment or an alias reaches outside the item", errNotLayout)
)

// itemError is about the item starting on line.
type itemError struct {
	line int
	err  error
}

func (e *itemError) Error() string {
	return fmt.Sprintf("reading the ResourceList: the item at line %d: %v", e.line, e.err)
}

func (e *itemError) Unwrap() error { return e.err }

// dummyItem follows every item, as the next item or key follows it in the
// whole document.
const dummyItem = "- dummy: 0\n"

// readItem parses item i as go-yaml parses it inside the whole document.
// A syntax error is returned with the line numbers of the input.
func (l *layout) readItem(i int) (*yaml.RNode, error) {
	doc, err := decodeDocument(io.MultiReader(bytes.NewReader(itemsKey), bytes.NewReader(l.item(i)), strings.NewReader(dummyItem)))
	if err != nil {
		first := l.line(l.starts[i])
		return nil, &itemError{first, shiftLines(err, func(n int) int { return n + first - 2 })}
	}
	// What the item's text holds must all be in the item: comments that
	// go-yaml attaches to the list or to the next item would be placed
	// differently in the whole document.
	root := rootOf(doc)
	var seq, dummy *yaml.Node
	if root.Kind == yaml.MappingNode && len(root.Content) == 2 {
		seq = root.Content[1]
	}
	if seq != nil && seq.Kind == yaml.SequenceNode && len(seq.Content) == 2 {
		dummy = seq.Content[1]
	}
	if dummy == nil || dummy.Kind != yaml.MappingNode || len(dummy.Content) != 2 ||
		hasComments(doc, root, root.Content[0], seq, dummy, dummy.Content[0], dummy.Content[1]) {
		return nil, &itemError{l.line(l.starts[i]), errNotAlone}
	}
	return yaml.NewRNode(seq.Content[0]), nil
}

func hasComments(nodes ...*yaml.Node) bool {
	for _, n := range nodes {
		if n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
			return true
		}
	}
	return false
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+):`)

// shiftLines maps the line number in a go-yaml syntax error to the input's.
func shiftLines(err error, inputLine func(int) int) error {
	msg := err.Error()
	m := yamlLine.FindStringSubmatchIndex(msg)
	if m == nil {
		return err
	}
	n, _ := strconv.Atoi(msg[m[2]:m[3]])
	return errors.New(msg[:m[2]] + strconv.Itoa(inputLine(n)) + msg[m[3]:])
}

package fn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/sidecar-injector/sidecar-injector/manifest"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ResourceList is the KRM functions specification's wire format: the items
// to transform, the functionConfig, and the results of earlier functions.
type ResourceList struct {
	APIVersion     string        // as read, written back unchanged
	Items          []*yaml.RNode // in input order; non-resources are kept as they are
	FunctionConfig *yaml.RNode   // nil when the input has none
	Results        []*yaml.Node  // the input's results, then this function's
}

// errNoInput marks an empty stdin: someone ran the binary by hand.
var errNoInput = errors.New("no input: expected a ResourceList on stdin")

// ReadResourceList parses a ResourceList. Items are the parsed nodes
// themselves, with no reader annotations added: what comes in goes out.
func ReadResourceList(data []byte) (*ResourceList, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("reading the ResourceList: line %d: not valid UTF-8 text", manifest.InvalidUTF8Line(data))
	}
	doc, err := decodeDocument(bytes.NewReader(data))
	if errors.Is(err, errNoInput) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("reading the ResourceList: %w", err)
	}
	return fromRoot(rootOf(doc))
}

// decodeDocument parses the one YAML document of r.
func decodeDocument(r io.Reader) (*yaml.Node, error) {
	dec := yaml.NewDecoder(r)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errNoInput
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		if !yaml.IsYNodeEmptyDoc(&extra) {
			return nil, errors.New("expected one YAML document, got several")
		}
	}
	return &doc, nil
}

// rootOf returns the content of a document node.
func rootOf(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

// fromRoot reads a ResourceList from its root node.
func fromRoot(root *yaml.Node) (*ResourceList, error) {
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("reading the ResourceList: expected a map with kind: ResourceList")
	}
	rl := &ResourceList{}
	var kind string
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i].Value, root.Content[i+1]
		switch key {
		case "apiVersion":
			rl.APIVersion = value.Value
		case "kind":
			kind = value.Value
		case "items":
			if isNullNode(value) {
				continue
			}
			if value.Kind != yaml.SequenceNode {
				return nil, errors.New("reading the ResourceList: items: expected a list")
			}
			rl.Items = make([]*yaml.RNode, len(value.Content))
			for j, item := range value.Content {
				rl.Items[j] = yaml.NewRNode(item)
			}
		case "functionConfig":
			if isNullNode(value) {
				continue
			}
			if value.Kind != yaml.MappingNode {
				return nil, errors.New("reading the ResourceList: functionConfig: expected a map")
			}
			rl.FunctionConfig = yaml.NewRNode(value)
		case "results":
			if value.Kind == yaml.SequenceNode {
				rl.Results = value.Content
			}
		}
	}
	if kind != kio.ResourceListKind {
		return nil, fmt.Errorf("reading the ResourceList: expected kind %s, got %q", kio.ResourceListKind, kind)
	}
	if rl.APIVersion == "" {
		rl.APIVersion = kio.ResourceListAPIVersion
	}
	return rl, nil
}

func isNullNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == yaml.NodeTagNull
}

// Write encodes the ResourceList as kyaml's kio.ByteWriter does, byte for
// byte, but item by item: go-yaml's emitter keeps every event of a document
// in a queue it never trims, so encoding 10,000 items as one document
// allocates and copies that queue over and over (half of kio.ByteWriter's
// time on large lists, see docs/BENCHMARKS.md). A one-item sequence at
// column 0 is emitted exactly as an item of `items:`, so the concatenation
// is the same document.
func (rl *ResourceList) Write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeHead(bw, rl.APIVersion, len(rl.Items) > 0); err != nil {
		return err
	}
	for _, item := range rl.Items {
		if err := encodeItem(bw, item.YNode()); err != nil {
			return err
		}
	}
	if err := writeTail(bw, rl.FunctionConfig, rl.Results, nil); err != nil {
		return err
	}
	return bw.Flush()
}

// writeHead writes what comes before the items: "items:" when items
// follow, else an empty list.
func writeHead(w io.Writer, apiVersion string, items bool) error {
	header := mapping(scalar("apiVersion"), scalar(apiVersion), scalar("kind"), scalar(kio.ResourceListKind))
	if !items {
		header.Content = append(header.Content, scalar("items"), &yaml.Node{Kind: yaml.SequenceNode})
	}
	if err := encode(w, header); err != nil {
		return err
	}
	if items {
		_, err := io.WriteString(w, "items:\n")
		return err
	}
	return nil
}

// writeTail writes what comes after the items: the functionConfig and the
// results, those given as nodes and then those given as text (items of
// "results:"), if any.
func writeTail(w io.Writer, fc *yaml.RNode, nodes []*yaml.Node, text *deflated) error {
	if fc != nil {
		if err := encode(w, mapping(scalar("functionConfig"), fc.YNode())); err != nil {
			return err
		}
	}
	if len(nodes) == 0 && (text == nil || text.size == 0) {
		return nil
	}
	if _, err := io.WriteString(w, "results:\n"); err != nil {
		return err
	}
	for _, r := range nodes {
		if err := encodeItem(w, r); err != nil {
			return err
		}
	}
	if text == nil {
		return nil
	}
	_, err := text.WriteTo(w)
	return err
}

// encodeItem writes n as one item of a block sequence at column 0.
func encodeItem(w io.Writer, n *yaml.Node) error {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return encode(w, &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}})
}

// encode writes one node with a fresh kyaml encoder (indent 2, compact
// sequences: kio.ByteWriter's settings).
func encode(w io.Writer, n *yaml.Node) error {
	enc := yaml.NewEncoder(w)
	if err := enc.Encode(n); err != nil {
		return fmt.Errorf("writing the ResourceList: %w", err)
	}
	return enc.Close()
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// mapping builds a map from keys and values: key, value, key, value...
func mapping(content ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: content}
}

package manifest

import (
	"strconv"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// snippets caches encoded snippets: injecting one config into thousands of
// workloads renders the same few entries again and again, and the encoder
// costs far more than the key.
var snippets = &snippetCache{m: map[string][]byte{}}

const maxSnippets = 4096

type snippetCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *snippetCache) encode(n *yaml.Node, style Style) ([]byte, error) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(style.Indent))
	b.WriteString(strconv.FormatBool(style.Compact))
	writeKey(&b, n)
	key := b.String()
	c.mu.Lock()
	out, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := EncodeNode(n, style)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxSnippets {
		clear(c.m)
	}
	c.m[key] = out
	c.mu.Unlock()
	return out, nil
}

// writeKey writes everything of a node the encoder reads, unambiguously.
// An alias is written as its name (`*name`), as the encoder writes it.
func writeKey(b *strings.Builder, n *yaml.Node) {
	b.WriteByte('(')
	b.WriteString(strconv.Itoa(int(n.Kind)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(n.Style)))
	for _, s := range []string{n.Tag, n.Value, n.Anchor, n.HeadComment, n.LineComment, n.FootComment} {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	for _, c := range n.Content {
		writeKey(b, c)
	}
	b.WriteByte(')')
}

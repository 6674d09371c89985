// Package jsonpatch computes a minimal RFC 6902 JSON Patch between two
// yaml.Node trees: the pod as the API server sent it and the pod as the
// engine left it.
//
// Minimal means that what the user had is never rewritten wholesale: list
// items are inserted at their index (or appended with /-), map keys are added
// one by one, and only scalars, or values whose type changed, are replaced.
// The tutorial's webhook replaced whole lists and maps, which dropped the
// changes of any webhook that ran before it.
package jsonpatch

import (
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// Diff returns the operations that turn from into to, as a JSON array, or
// nil when the trees are equal.
func Diff(from, to *yaml.Node) ([]byte, error) {
	p := &patcher{}
	if err := p.diff(deref(from), deref(to)); err != nil {
		return nil, err
	}
	if p.ops == 0 {
		return nil, nil
	}
	return append(p.buf, ']'), nil
}

type patcher struct {
	buf  []byte
	ops  int
	path []string // the keys and indices of the current location, unescaped
}

func (p *patcher) diff(a, b *yaml.Node) error {
	switch {
	case a == b:
		// The same node, nil included: the engine edits a copy of what it
		// changes and shares the rest, so most of a pod is skipped here.
		return nil
	case a == nil || b == nil || a.Kind != b.Kind:
		return p.op("replace", b)
	case a.Kind == yaml.MappingNode:
		return p.mapping(a, b)
	case a.Kind == yaml.SequenceNode:
		return p.sequence(a, b)
	case !Equal(a, b):
		return p.op("replace", b) // a scalar
	}
	return nil
}

func (p *patcher) mapping(a, b *yaml.Node) error {
	// Keys usually keep their places (the engine appends what it adds), so
	// each key is first looked for at its own index.
	for i := 0; i+1 < len(a.Content); i += 2 {
		key := a.Content[i].Value
		if i+1 < len(b.Content) && b.Content[i].Value == key {
			continue
		}
		if lookup(b, key) == nil {
			if err := p.op("remove", nil, key); err != nil {
				return err
			}
		}
	}
	for i := 0; i+1 < len(b.Content); i += 2 {
		key := b.Content[i].Value
		bv := deref(b.Content[i+1])
		var av *yaml.Node
		if i+1 < len(a.Content) && a.Content[i].Value == key {
			av = deref(a.Content[i+1])
		} else {
			av = lookup(a, key)
		}
		if av == nil {
			if err := p.op("add", bv, key); err != nil {
				return err
			}
			continue
		}
		p.path = append(p.path, key)
		err := p.diff(av, bv)
		p.path = p.path[:len(p.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// sequence aligns the two lists and emits removals, insertions and the
// changes inside items present in both. Items are paired when equal, or when
// they are maps with the same identity (name, or mountPath for mounts), so
// that an app container gaining an env var is patched inside, not replaced.
func (p *patcher) sequence(a, b *yaml.Node) error {
	as, bs := a.Content, b.Content
	pre := 0
	for pre < len(as) && pre < len(bs) && Equal(as[pre], bs[pre]) {
		pre++
	}
	suf := 0
	for suf < len(as)-pre && suf < len(bs)-pre && Equal(as[len(as)-1-suf], bs[len(bs)-1-suf]) {
		suf++
	}
	steps := align(as[pre:len(as)-suf], bs[pre:len(bs)-suf])
	idx, length := pre, len(as)
	for _, s := range steps {
		switch {
		case s.a >= 0 && s.b >= 0:
			p.path = append(p.path, strconv.Itoa(idx))
			err := p.diff(deref(as[pre+s.a]), deref(bs[pre+s.b]))
			p.path = p.path[:len(p.path)-1]
			if err != nil {
				return err
			}
			idx++
		case s.a >= 0:
			if err := p.op("remove", nil, strconv.Itoa(idx)); err != nil {
				return err
			}
			length--
		default:
			tok := strconv.Itoa(idx)
			if idx == length {
				tok = "-"
			}
			if err := p.op("add", deref(bs[pre+s.b]), tok); err != nil {
				return err
			}
			idx++
			length++
		}
	}
	return nil
}

// step pairs an item of the old list with one of the new (both >= 0), or
// marks one as removed (b < 0) or added (a < 0).
type step struct{ a, b int }

// maxAlignCells bounds the quadratic alignment (4 MB of table); past it,
// lists are paired greedily. Real pods come nowhere near it once common
// ends are trimmed: a list of 1,024 items all changed.
const maxAlignCells = 1 << 20

// AlignBytes is the memory the alignment of lists of n and m items
// takes: the webhook weighs a request by it before the diff runs.
func AlignBytes(n, m int) int64 {
	if n*m > maxAlignCells {
		return 0
	}
	return int64(n+1) * int64(m+1) * 4
}

// align finds the longest common subsequence of paired items.
func align(as, bs []*yaml.Node) []step {
	n, m := len(as), len(bs)
	if n*m > maxAlignCells {
		return greedy(as, bs)
	}
	// lcs[i][j]: pairs in as[i:], bs[j:]
	lcs := make([]int32, (n+1)*(m+1))
	at := func(i, j int) *int32 { return &lcs[i*(m+1)+j] }
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			switch {
			case pairs(as[i], bs[j]):
				*at(i, j) = *at(i+1, j+1) + 1
			case *at(i+1, j) >= *at(i, j+1):
				*at(i, j) = *at(i+1, j)
			default:
				*at(i, j) = *at(i, j+1)
			}
		}
	}
	steps := make([]step, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case pairs(as[i], bs[j]) && *at(i, j) == *at(i+1, j+1)+1:
			steps = append(steps, step{i, j})
			i++
			j++
		case *at(i+1, j) >= *at(i, j+1):
			steps = append(steps, step{i, -1})
			i++
		default:
			steps = append(steps, step{-1, j})
			j++
		}
	}
	for ; i < n; i++ {
		steps = append(steps, step{i, -1})
	}
	for ; j < m; j++ {
		steps = append(steps, step{-1, j})
	}
	return steps
}

func greedy(as, bs []*yaml.Node) []step {
	var steps []step
	j := 0
	for i := range as {
		k := j
		for k < len(bs) && !pairs(as[i], bs[k]) {
			k++
		}
		if k == len(bs) {
			steps = append(steps, step{i, -1})
			continue
		}
		for ; j < k; j++ {
			steps = append(steps, step{-1, j})
		}
		steps = append(steps, step{i, j})
		j++
	}
	for ; j < len(bs); j++ {
		steps = append(steps, step{-1, j})
	}
	return steps
}

// pairs reports whether two list items are the same item, possibly changed.
func pairs(x, y *yaml.Node) bool {
	x, y = deref(x), deref(y)
	if x != nil && y != nil && x.Kind == yaml.MappingNode && y.Kind == yaml.MappingNode {
		for _, key := range []string{"mountPath", "name"} {
			xk, yk := lookup(x, key), lookup(y, key)
			if xk != nil || yk != nil {
				return xk != nil && yk != nil && Equal(xk, yk) && (key != "mountPath" || Equal(lookup(x, "name"), lookup(y, "name")))
			}
		}
	}
	return Equal(x, y)
}

// op writes one operation at the current path, or at its child tok when
// given ("" is a valid key, so it cannot mean "here").
func (p *patcher) op(kind string, value *yaml.Node, tok ...string) error {
	mark := len(p.buf)
	if p.ops == 0 {
		p.buf = append(p.buf, '[')
	} else {
		p.buf = append(p.buf, ',')
	}
	p.buf = append(p.buf, `{"op":"`...)
	p.buf = append(p.buf, kind...)
	p.buf = append(p.buf, `","path":`...)
	var path strings.Builder
	for _, t := range append(p.path, tok...) {
		path.WriteByte('/')
		path.WriteString(escape(t))
	}
	p.buf = nodejson.AppendString(p.buf, path.String())
	if kind != "remove" {
		p.buf = append(p.buf, `,"value":`...)
		var err error
		if p.buf, err = nodejson.Append(p.buf, value); err != nil {
			p.buf = p.buf[:mark]
			return err
		}
	}
	p.buf = append(p.buf, '}')
	p.ops++
	return nil
}

// escape makes a map key a JSON Pointer reference token (RFC 6901).
func escape(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

func lookup(m *yaml.Node, key string) *yaml.Node { return deref(yamltree.Get(m, key)) }

func deref(n *yaml.Node) *yaml.Node {
	if n == nil || (n.Kind != yaml.AliasNode && n.Kind != yaml.DocumentNode) {
		return n
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return deref(n.Content[0])
	}
	return n
}

// Equal compares two trees as JSON values: scalars by their JSON form's
// meaning (tag and text), maps regardless of key order.
func Equal(a, b *yaml.Node) bool {
	a, b = deref(a), deref(b)
	if a == nil || b == nil {
		return a == b
	}
	if a == b {
		return true
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case yaml.ScalarNode:
		return a.Value == b.Value && (a.Tag == b.Tag || a.ShortTag() == b.ShortTag())
	case yaml.SequenceNode:
		if len(a.Content) != len(b.Content) {
			return false
		}
		for i := range a.Content {
			if !Equal(a.Content[i], b.Content[i]) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if len(a.Content) != len(b.Content) {
			return false
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			// same order: the usual case, checked without a lookup
			if a.Content[i].Value == b.Content[i].Value {
				if !Equal(a.Content[i+1], b.Content[i+1]) {
					return false
				}
				continue
			}
			bv := lookup(b, a.Content[i].Value)
			if bv == nil || !Equal(a.Content[i+1], bv) {
				return false
			}
		}
		return true
	}
	return false
}

package transformer

import (
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Small helpers on raw *yaml.Node. The engine works on nodes directly (not on
// typed structs) so that unknown fields, comments and key order survive.

const (
	tagStr  = "!!str"
	tagNull = "!!null"
	tagMap  = "!!map"
	tagSeq  = "!!seq"
)

// mapGet returns the value of key in mapping m, or nil. It reads as
// kubectl does: an alias as the node it names, and a key the mapping lacks
// from its merge key (`<<: *app`), explicit keys first. The engine edits
// only copies in which the fields it edits are neither (see anchors.go).
func mapGet(m *yaml.Node, key string) *yaml.Node {
	v, _ := lookup(m, key, maxMergeSources)
	return v
}

// maxMergeSources bounds the mappings one lookup reads through merge keys,
// so that a merge bomb read before the alias check (plan) cannot hang.
const maxMergeSources = 1000

// lookup is mapGet with a budget of merge sources; it returns what is left.
func lookup(m *yaml.Node, key string, budget int) (*yaml.Node, int) {
	m = resolveAlias(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, budget
	}
	var merge *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch k := m.Content[i]; {
		case isMergeKey(k):
			merge = m.Content[i+1]
		case k.Value == key:
			return resolveAlias(m.Content[i+1]), budget
		}
	}
	if merge == nil {
		return nil, budget
	}
	for _, src := range mergeSources(merge) {
		if budget--; budget < 0 {
			return nil, budget
		}
		var v *yaml.Node
		if v, budget = lookup(src, key, budget); v != nil {
			return v, budget
		}
	}
	return nil, budget
}

// isMergeKey reports whether a mapping key is YAML's merge key `<<`.
func isMergeKey(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.Tag == "!!merge" }

// mergeSources returns the nodes a merge key's value names, the first
// winning: `<<: *a`, `<<: {...}` or `<<: [*a, *b]`.
func mergeSources(v *yaml.Node) []*yaml.Node {
	if v = resolveAlias(v); v != nil && v.Kind == yaml.SequenceNode {
		out := make([]*yaml.Node, len(v.Content))
		for i, s := range v.Content {
			out[i] = resolveAlias(s)
		}
		return out
	}
	return []*yaml.Node{v}
}

// resolveAlias returns the node an alias names (n itself if not an alias).
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mapHas reports whether mapping m has key, whatever its value.
func mapHas(m *yaml.Node, key string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// mapSet sets key to val, replacing the value in place or appending the key.
func mapSet(m *yaml.Node, key string, val *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = val
			return
		}
	}
	m.Content = append(m.Content, newStr(key), val)
}

// mapDelete removes key from mapping m and reports whether it was there.
func mapDelete(m *yaml.Node, key string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}

func newStr(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tagStr, Value: s}
	quoteForYAML11(n)
	return n
}

// yaml11Sexagesimal matches YAML 1.1's base-60 numbers (1:20 is 80).
var yaml11Sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$`)

// quoteForYAML11 quotes a plain string that YAML 1.1 reads as something
// else: kubectl and the API server's YAML decoder (sigs.k8s.io/yaml) are
// YAML 1.1, where on, yes and n are booleans and 1:20 is 80, while the
// YAML 1.2 writer leaves them bare. Injected items must reach the cluster
// as the config says.
func quoteForYAML11(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode || n.Tag != tagStr && n.ShortTag() != tagStr || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return
	}
	switch n.Value {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", "=", "<<":
		n.Style = yaml.DoubleQuotedStyle
		return
	}
	if yaml11Sexagesimal.MatchString(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
}

func newMap() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: tagMap} }

func newSeq() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: tagSeq} }

// isNull reports whether n is absent or an explicit null (`~`, `null` or empty).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull)
}

// describe names a node's type the way a user reads YAML.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "missing"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case isNull(n):
		return "null"
	case n.ShortTag() == tagStr:
		return "a string"
	case n.ShortTag() == "!!bool":
		return "a boolean"
	case n.ShortTag() == "!!int" || n.ShortTag() == "!!float":
		return "a number"
	}
	return "a scalar"
}

// scalarString returns the string value of a scalar, or "" for anything else.
func scalarString(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

// itemName returns the "name" field of a list item, or "".
func itemName(n *yaml.Node) string { return scalarString(mapGet(n, "name")) }

// covers reports whether have holds everything want says: the same
// scalars, every key of want (have may hold more, as the API server's
// defaults), lists of the same length item by item. It decides whether an
// item a pod already has is the config's own, whatever its key order.
func covers(have, want *yaml.Node) bool {
	for have != nil && have.Kind == yaml.AliasNode {
		have = have.Alias
	}
	for want != nil && want.Kind == yaml.AliasNode {
		want = want.Alias
	}
	switch {
	case want == nil || have == nil:
		return want == have
	case want.Kind != have.Kind:
		return false
	case want.Kind == yaml.ScalarNode:
		return want.Value == have.Value && want.ShortTag() == have.ShortTag()
	case want.Kind == yaml.SequenceNode:
		if len(want.Content) != len(have.Content) {
			return false
		}
		for i := range want.Content {
			if !covers(have.Content[i], want.Content[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i+1 < len(want.Content); i += 2 {
		v := mapGet(have, want.Content[i].Value)
		if (v == nil && !isNull(want.Content[i+1])) || (v != nil && !covers(v, want.Content[i+1])) {
			return false
		}
	}
	return true
}

// editableCopy copies a pod template for the engine to edit: the mappings
// and lists that inject and uninject change (the template, its metadata,
// annotations and labels, its spec, the spec's containers, initContainers,
// volumes and imagePullSecrets, each container with its env and
// volumeMounts) get nodes and child lists of their own; everything else,
// such as probes, resources and every scalar, is shared with the original,
// which the engine never edits. It halves the cost of a webhook request's
// copy, which copied the whole pod.
func editableCopy(t *yaml.Node) *yaml.Node {
	work := shallowCopy(t)
	meta := ownChild(work, "metadata")
	for _, k := range metadataFields {
		ownChild(meta, k)
	}
	spec := ownChild(work, "spec")
	for _, list := range specLists {
		seq := ownChild(spec, list)
		if list != "containers" && list != "initContainers" {
			continue
		}
		for i, c := range seqItems(seq) {
			if c.Kind == yaml.MappingNode {
				seq.Content[i] = shallowCopy(c)
				for _, k := range containerFields {
					ownChild(seq.Content[i], k)
				}
			}
		}
	}
	return work
}

// The fields inject and uninject edit, under a template's metadata, its
// spec, and each container (editableCopy and anchored.editable copy them).
var (
	metadataFields  = []string{"annotations", "labels"}
	specLists       = []string{"containers", "initContainers", "volumes", "imagePullSecrets"}
	containerFields = []string{"env", "volumeMounts"}
)

// shallowCopy copies a node and its list of children, not the children.
func shallowCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = slices.Clone(n.Content)
	return &c
}

// ownChild gives the value of key in m (a mapping that is already a copy)
// a shallow copy of its own, and returns it (nil when absent).
func ownChild(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v := m.Content[i+1]
			if v.Kind != yaml.MappingNode && v.Kind != yaml.SequenceNode {
				return nil
			}
			m.Content[i+1] = shallowCopy(v)
			return m.Content[i+1]
		}
	}
	return nil
}

// copyNode deep-copies a node tree, keeping comments and styles. The nodes
// and their child lists come from two allocations: copying a pod template
// is the engine's main cost.
func copyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	nodes, children := countNodes(n)
	c := &nodeCopier{nodes: make([]yaml.Node, nodes), children: make([]*yaml.Node, children)}
	return c.copy(n)
}

func countNodes(n *yaml.Node) (nodes, children int) {
	nodes, children = 1, len(n.Content)
	for _, c := range n.Content {
		cn, cc := countNodes(c)
		nodes, children = nodes+cn, children+cc
	}
	return nodes, children
}

type nodeCopier struct {
	nodes    []yaml.Node
	children []*yaml.Node
}

func (c *nodeCopier) copy(n *yaml.Node) *yaml.Node {
	out := &c.nodes[0]
	c.nodes = c.nodes[1:]
	*out = *n
	if n.Content != nil {
		out.Content = c.children[:len(n.Content):len(n.Content)]
		c.children = c.children[len(n.Content):]
		for i, child := range n.Content {
			out.Content[i] = c.copy(child)
		}
	}
	return out
}

// cleanNode removes comments, anchors and source positions, so that injected
// content depends only on the config's meaning.
func cleanNode(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	n.Anchor = ""
	n.Line, n.Column = 0, 0
	quoteForYAML11(n)
	for _, c := range n.Content {
		cleanNode(c)
	}
}

// usesAnchors reports whether the tree holds an alias, an anchor or a
// merge key: then it is edited as anchors.go says.
func usesAnchors(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || isMergeKey(n) {
		return true
	}
	for _, c := range n.Content {
		if usesAnchors(c) {
			return true
		}
	}
	return false
}

// expandedSize counts the nodes a tree would have with every alias expanded,
// stopping once the count passes limit. It runs in time linear in the tree,
// so an alias bomb is caught without being expanded.
func expandedSize(n *yaml.Node, limit int) int {
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n == nil {
			return 0
		}
		if depth > 10000 {
			return limit + 1
		}
		if n.Kind == yaml.AliasNode {
			return size(n.Alias, depth+1)
		}
		if v, ok := memo[n]; ok {
			return v
		}
		memo[n] = limit + 1 // a cycle counts as too big
		total := 1
		for _, c := range n.Content {
			total += size(c, depth+1)
			if total > limit {
				break
			}
		}
		memo[n] = total
		return total
	}
	return size(n, 0)
}

// quoteKey renders a map key for a field path: plain when it is simple,
// bracketed and quoted when it holds dots or slashes (annotation keys).
func quoteKey(k string) string {
	if strings.ContainsAny(k, "./[]\"") {
		return `["` + k + `"]`
	}
	return "." + k
}

// duplicateKey returns the second occurrence of a repeated key in mapping m,
// or nil. YAML forbids repeated keys, but parsing to nodes does not check.
func duplicateKey(m *yaml.Node) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode || len(m.Content) < 4 {
		return nil
	}
	if len(m.Content) <= 32 { // small mappings, most of them: no map to allocate
		for i := 2; i+1 < len(m.Content); i += 2 {
			for j := 0; j < i; j += 2 {
				if m.Content[i].Value == m.Content[j].Value {
					return m.Content[i]
				}
			}
		}
		return nil
	}
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if seen[m.Content[i].Value] {
			return m.Content[i]
		}
		seen[m.Content[i].Value] = true
	}
	return nil
}

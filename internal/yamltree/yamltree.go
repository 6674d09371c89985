// Package yamltree holds what the engine and the writer both need to know
// about yaml.Node trees.
package yamltree

import "sigs.k8s.io/kustomize/kyaml/yaml"

// Equal compares two trees by meaning: kinds, resolved tags, values, and
// key order (which decides the bytes written), ignoring comments, styles
// and positions, and following aliases.
func Equal(a, b *yaml.Node) bool {
	if a == b {
		return true
	}
	for a != nil && a.Kind == yaml.AliasNode {
		a = a.Alias
	}
	for b != nil && b.Kind == yaml.AliasNode {
		b = b.Alias
	}
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.ScalarNode && (a.Value != b.Value || a.ShortTag() != b.ShortTag()) {
		return false
	}
	for i := range a.Content {
		if !Equal(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// Same compares two trees as they are written: like Equal, but an alias
// is the same only as an alias of the same name (it is not followed), and
// anchors must match. Two trees can be Equal and not Same (`labels: *l`
// and the labels written out): the writer must then write the second.
func Same(a, b *yaml.Node) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if a.Kind != b.Kind || a.Anchor != b.Anchor || len(a.Content) != len(b.Content) {
		return false
	}
	switch a.Kind {
	case yaml.AliasNode:
		return a.Value == b.Value
	case yaml.ScalarNode:
		if a.Value != b.Value || a.ShortTag() != b.ShortTag() {
			return false
		}
	}
	for i := range a.Content {
		if !Same(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// Package yamltree holds what the engine and the writer both need to know
// about yaml.Node trees.
package yamltree

import (
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Equal compares two trees by meaning: kinds, resolved tags, values, and
// key order (which decides the bytes written), ignoring comments, styles
// and positions, and following aliases. Scalars compare by their text.
func Equal(a, b *yaml.Node) bool { return equal(a, b, false) }

// SameValues compares two trees as the API server reads them: like Equal,
// but numbers and booleans by value (`0644` and `420`, `0x1F` and `31`,
// `True` and `true` are the same) and mapping keys in any order. The
// engine leaves a resource untouched when its result differs from it only
// so: kustomize, for one, hands functions their resources with sorted keys,
// and an injection redone must not count as a change there.
func SameValues(a, b *yaml.Node) bool { return equal(a, b, true) }

func equal(a, b *yaml.Node, byValue bool) bool {
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
	if a.Kind == yaml.ScalarNode && (a.ShortTag() != b.ShortTag() || (a.Value != b.Value && !(byValue && sameValue(a.ShortTag(), a.Value, b.Value)))) {
		return false
	}
	for i := range a.Content {
		if byValue && a.Kind == yaml.MappingNode && i%2 == 0 && !sameKey(a.Content[i], b.Content[i]) {
			return sameMapping(a, b, i)
		}
		if !equal(a.Content[i], b.Content[i], byValue) {
			return false
		}
	}
	return true
}

func sameKey(a, b *yaml.Node) bool {
	return a.Kind == b.Kind && a.Value == b.Value && a.ShortTag() == b.ShortTag()
}

// sameMapping compares the pairs of two mappings of the same length from
// pair index `from` on, in any order (the pairs before are equal): each
// pair of a matches one pair of b. Mappings are small; keys are unique.
func sameMapping(a, b *yaml.Node, from int) bool {
	used := make([]bool, len(b.Content)/2)
	for i := from; i+1 < len(a.Content); i += 2 {
		found := false
		for j := from; j+1 < len(b.Content); j += 2 {
			if !used[j/2] && sameKey(a.Content[i], b.Content[j]) {
				if !equal(a.Content[i+1], b.Content[j+1], true) {
					return false
				}
				used[j/2], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sameValue compares two scalars of a resolved tag by value.
func sameValue(tag, a, b string) bool {
	switch tag {
	case "!!int":
		x, errA := parseInt(a)
		y, errB := parseInt(b)
		return errA == nil && errB == nil && x == y
	case "!!float":
		x, errA := strconv.ParseFloat(strings.ReplaceAll(a, "_", ""), 64)
		y, errB := strconv.ParseFloat(strings.ReplaceAll(b, "_", ""), 64)
		return errA == nil && errB == nil && x == y
	case "!!bool":
		return strings.EqualFold(a, b)
	}
	return false
}

// parseInt reads a YAML integer: decimal, 0x hex, 0o or YAML 1.1 0 octal,
// 0b binary, with an optional sign (Go's base-0 syntax covers them all).
func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 0, 64) }

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

// Get returns the value of key in mapping m as written (no alias or merge
// key is followed), or nil when m is not a mapping or lacks the key. The
// engine reads workloads as kubectl does instead (transformer's mapGet).
func Get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

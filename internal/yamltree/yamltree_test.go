package yamltree

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestEqualAndSameValues(t *testing.T) {
	cases := []struct {
		a, b             string
		equal, sameValue bool
	}{
		{"{a: 1, b: [x]}", "{a: 1, b: [x]}  # comment", true, true},
		{"{a: 1, b: 2}", "{b: 2, a: 1}", false, true}, // key order decides the bytes, not the meaning
		{"{a: 1, b: 2, c: {d: 0644, e: f}}", "{a: 1, c: {e: f, d: 420}, b: 2}", false, true},
		{"{a: 1, b: 2}", "{b: 2, a: 2}", false, false},
		{"{a: 1, b: 2}", "{a: 1, c: 2}", false, false},
		{"{a: 1, b: 2}", "{b: 2, b: 2}", false, false}, // a repeated key matches once
		{"mode: 0644", "mode: 420", false, true},
		{"mode: 0o644", "mode: 420", false, true},
		{"n: 0x1F", "n: 31", false, true},
		{"f: 1.50", "f: 1.5", false, true},
		{"b: True", "b: true", false, true},
		{"s: '0644'", "s: '420'", false, false}, // strings stay strings
		{"n: 1", "n: '1'", false, false},
		{"n: 1", "n: 2", false, false},
	}
	for _, c := range cases {
		a, b := yaml.MustParse(c.a).YNode(), yaml.MustParse(c.b).YNode()
		if got := Equal(a, b); got != c.equal {
			t.Errorf("Equal(%q, %q) = %v", c.a, c.b, got)
		}
		if got := SameValues(a, b); got != c.sameValue {
			t.Errorf("SameValues(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

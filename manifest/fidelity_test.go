package manifest

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// addSidecar is an injection as the engine makes it: new nodes (line 0)
// appended to the list "l" and to the mapping "m", and a new key "v" at the
// end of the root.
func addSidecar(root *yaml.Node) {
	l := mapGetT(root, "l")
	l.Content = append(l.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("name"), str("side"),
		str("ports"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{
			{Kind: yaml.MappingNode, Content: []*yaml.Node{str("port"), {Kind: yaml.ScalarNode, Tag: "!!int", Value: "80"}}}}},
	}})
	m := mapGetT(root, "m")
	m.Content = append(m.Content, str("k2"), str(`say "hi" <&>`))
	root.Content = append(root.Content, str("v"), &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str("x")}})
}

// removeSidecar undoes addSidecar, as uninject does.
func removeSidecar(root *yaml.Node) {
	l := mapGetT(root, "l")
	l.Content = l.Content[:len(l.Content)-1]
	m := mapGetT(root, "m")
	m.Content = m.Content[:len(m.Content)-2]
	root.Content = root.Content[:len(root.Content)-2]
}

// TestSpliceKeepChomping: a "|+" scalar owns the blank lines after it, so
// what is added after its entry goes after them, and the document is still
// spliced (every other line kept).
func TestSpliceKeepChomping(t *testing.T) {
	in := "m:\n  k: v   #  spaced\nl:\n- name: app\n  args: [a,   b]\n  command: |+\n    run\n\n\n# about v\nf: >\n  folded text\n"
	s, err := Parse([]byte(in), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := s.Docs[0]
	root := d.Node.YNode()
	addSidecar(root)
	d.Changed = true
	out, err := s.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := "m:\n  k: v   #  spaced\n  k2: say \"hi\" <&>\nl:\n- name: app\n  args: [a,   b]\n  command: |+\n    run\n\n\n" +
		"- name: side\n  ports:\n  - port: 80\n# about v\nf: >\n  folded text\nv:\n- x\n"
	if string(out) != want || !d.Spliced {
		t.Errorf("spliced=%v, got:\n%s\nwant:\n%s", d.Spliced, out, want)
	}
	if back := encodeEdited(t, string(out), removeSidecar); back != in {
		t.Errorf("removing the entries gave:\n%q\nwant:\n%q", back, in)
	}
}

// TestTaggedRootKeepsHeader: "--- !!map" stays one line, spliced or not.
func TestTaggedRootKeepsHeader(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"block":                 {"a: 0\n--- !!map\nb: 1\n", "a: 0\n--- !!map\nb: 1\nc: x\n"},
		"block, CRLF":           {"--- !!map   # tagged\r\nb: 1\r\n", "--- !!map   # tagged\r\nb: 1\r\nc: x\r\n"},
		"flow on the separator": {"--- !!map {b: 1}\r\n", "--- !!map {b: 1, c: x}\r\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Parse([]byte(tc.in), "x.yaml")
			if err != nil {
				t.Fatal(err)
			}
			d := s.Docs[len(s.Docs)-1]
			root := d.Node.YNode()
			root.Content = append(root.Content, str("c"), str("x"))
			d.Changed = true
			out, err := s.Bytes()
			if err != nil || string(out) != tc.want {
				t.Errorf("got %q (%v), want %q", out, err, tc.want)
			}
		})
	}
}

package manifest

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
)

// addSidecar is an injection as the engine makes it: new nodes (line 0)
// appended to the list "l" and to the mapping "m", and a new key "v" at the
// end of the root.
func addSidecar(root *yaml.Node) {
	l := yamltree.Get(root, "l")
	l.Content = append(l.Content, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("name"), str("side"),
		str("ports"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{
			{Kind: yaml.MappingNode, Content: []*yaml.Node{str("port"), {Kind: yaml.ScalarNode, Tag: "!!int", Value: "80"}}}}},
	}})
	m := yamltree.Get(root, "m")
	m.Content = append(m.Content, str("k2"), str(`say "hi" <&>`))
	root.Content = append(root.Content, str("v"), &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str("x")}})
}

// removeSidecar undoes addSidecar, as uninject does.
func removeSidecar(root *yaml.Node) {
	l := yamltree.Get(root, "l")
	l.Content = l.Content[:len(l.Content)-1]
	m := yamltree.Get(root, "m")
	m.Content = m.Content[:len(m.Content)-2]
	root.Content = root.Content[:len(root.Content)-2]
}

// TestJSONStaysJSON: a JSON document gets its new members as JSON in its
// own style, every other byte kept, and removing them gives back the input.
func TestJSONStaysJSON(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"4 spaces": {
			"{\n    \"m\": {\n        \"k\": \"v\"\n    },\n    \"l\": [\n        {\"name\": \"app\"}\n    ]\n}\n",
			"{\n    \"m\": {\n        \"k\": \"v\",\n        \"k2\": \"say \\\"hi\\\" <&>\"\n    },\n    \"l\": [\n        {\"name\": \"app\"},\n" +
				"        {\n            \"name\": \"side\",\n            \"ports\": [\n                {\n                    \"port\": 80\n                }\n            ]\n        }\n    ],\n" +
				"    \"v\": [\n        \"x\"\n    ]\n}\n",
		},
		"tabs, CRLF, no final newline": {
			"{\r\n\t\"m\": {\"k\": \"v\"},\r\n\t\"l\": []\r\n}",
			"{\r\n\t\"m\": {\"k\": \"v\", \"k2\": \"say \\\"hi\\\" <&>\"},\r\n\t\"l\": [\r\n\t\t{\r\n\t\t\t\"name\": \"side\",\r\n\t\t\t\"ports\": [\r\n\t\t\t\t{\r\n\t\t\t\t\t\"port\": 80\r\n\t\t\t\t}\r\n\t\t\t]\r\n\t\t}\r\n\t],\r\n" +
				"\t\"v\": [\r\n\t\t\"x\"\r\n\t]\r\n}",
		},
		"minified": {
			`{"m":{"k":"v"},"l":[{"name":"app"}]}`,
			`{"m":{"k":"v","k2":"say \"hi\" <&>"},"l":[{"name":"app"},{"name":"side","ports":[{"port":80}]}],"v":["x"]}`,
		},
		"one line, spaced": {
			`{ "m" : { "k" : "v" }, "l" : [ ] }` + "\n",
			`{ "m" : { "k" : "v", "k2" : "say \"hi\" <&>" }, "l" : [ { "name" : "side", "ports" : [ { "port" : 80 } ] } ], "v" : [ "x" ] }` + "\n",
		},
		"in a YAML stream, after comments": {
			"# Source: chart/templates/app.json\n{\n  \"l\": [],\n  \"m\": {}\n}\n# trailing\n",
			"# Source: chart/templates/app.json\n{\n  \"l\": [\n    {\n      \"name\": \"side\",\n      \"ports\": [\n        {\n          \"port\": 80\n        }\n      ]\n    }\n  ],\n" +
				"  \"m\": {\n    \"k2\": \"say \\\"hi\\\" <&>\"\n  },\n  \"v\": [\n    \"x\"\n  ]\n}\n# trailing\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := encodeEdited(t, tc.in, addSidecar)
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			if text := jsonPart(got); !json.Valid([]byte(text)) {
				t.Errorf("not JSON:\n%s", text)
			}
			if back := encodeEdited(t, got, removeSidecar); back != tc.in {
				t.Errorf("removing the members gave:\n%q\nwant:\n%q", back, tc.in)
			}
		})
	}
}

// jsonPart drops YAML comment lines around a JSON document.
func jsonPart(doc string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestJSONEditsInPlace: a changed value is rewritten where it is, a removed
// member takes its separator with it, and YAML flow style that is not JSON
// is left to the YAML encoder.
func TestJSONEditsInPlace(t *testing.T) {
	in := "{\n  \"a\": \"1\",\n  \"b\": {\"c\": 2,  \"d\": 3},\n  \"e\": [1,2]\n}\n"
	got := encodeEdited(t, in, func(root *yaml.Node) {
		yamltree.Get(root, "a").Value = "one"
		b := yamltree.Get(root, "b")
		b.Content = b.Content[2:] // drop "c"
		e := yamltree.Get(root, "e")
		e.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!int", Value: "0x10"}}, e.Content...)
	})
	want := "{\n  \"a\": \"one\",\n  \"b\": {\"d\": 3},\n  \"e\": [16,1,2]\n}\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	got = encodeEdited(t, "{a: 1}\n", func(root *yaml.Node) {
		root.Content = append(root.Content, str("b"), str("x"))
	})
	if want := "{a: 1, b: x}\n"; got != want {
		t.Errorf("flow YAML: got %q, want %q", got, want)
	}
}

// TestSpliceKeepChomping: a "|+" scalar owns the blank lines after it, so
// what is added after its entry goes after them, and the document is still
// spliced (every other line kept).
func TestSpliceKeepChomping(t *testing.T) {
	in := "m:\n  k: v   #  spaced\nl:\n- name: app\n  args: [a,   b]\n  command: |+\n    run\n\n\n# about v\nf: >\n  folded text\n"
	out, spliced := spliceEdited(t, in, addSidecar)
	want := "m:\n  k: v   #  spaced\n  k2: say \"hi\" <&>\nl:\n- name: app\n  args: [a,   b]\n  command: |+\n    run\n\n\n" +
		"- name: side\n  ports:\n  - port: 80\n# about v\nf: >\n  folded text\nv:\n- x\n"
	if out != want || !spliced {
		t.Errorf("spliced=%v, got:\n%s\nwant:\n%s", spliced, out, want)
	}
	if back := encodeEdited(t, out, removeSidecar); back != in {
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

// TestSeveralRewritesInOneDocument: the items of a List (kubectl get -o
// yaml or -o json) are edited in place, each rewritten on its own, as the
// engine would for kind: List; the writer splices both in one document.
func TestSeveralRewritesInOneDocument(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"YAML": {
			"apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n- kind: Pod\n  spec:\n    containers:\n    - name: b\nmetadata:\n  resourceVersion: \"\"\n",
			"apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n    - name: side\n- kind: Pod\n  spec:\n    containers:\n    - name: b\n    - name: side\nmetadata:\n  resourceVersion: \"\"\n",
		},
		"JSON": {
			"{\n    \"kind\": \"List\",\n    \"items\": [\n        {\n            \"spec\": {\"containers\": [{\"name\": \"a\"}]}\n        },\n        {\n            \"spec\": {\"containers\": [{\"name\": \"b\"}]}\n        }\n    ]\n}\n",
			"{\n    \"kind\": \"List\",\n    \"items\": [\n        {\n            \"spec\": {\"containers\": [{\"name\": \"a\"}, {\"name\": \"side\"}]}\n        },\n        {\n            \"spec\": {\"containers\": [{\"name\": \"b\"}, {\"name\": \"side\"}]}\n        }\n    ]\n}\n",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Parse([]byte(tc.in), "list")
			if err != nil {
				t.Fatal(err)
			}
			d := s.Docs[0]
			for _, item := range yamltree.Get(d.Node.YNode(), "items").Content {
				spec := yamltree.Get(item, "spec")
				original := *spec // the engine's commit: the node takes new content
				containers := *yamltree.Get(spec, "containers")
				containers.Content = append(containers.Content[:len(containers.Content):len(containers.Content)],
					&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str("side")}})
				spec.Content = []*yaml.Node{spec.Content[0], &containers}
				d.Rewrote(spec, &original)
			}
			out, err := s.Bytes()
			if err != nil || string(out) != tc.want || !d.Spliced {
				t.Errorf("spliced=%v, err=%v, got:\n%s\nwant:\n%s", d.Spliced, err, out, tc.want)
			}
		})
	}
}

// TestSpliceAnchorsAndListItems: a block list with an anchor on its key's
// line, and the first entry of a list item (on the dash's line), are
// spliced like any other; an alias stays an alias, and an alias replaced by
// the mapping it names is written out.
func TestSpliceAnchorsAndListItems(t *testing.T) {
	in := "vols: &v\n- a\nl:\n- env: []\n  name: app\nm: &m {k: v}\nn: *m\n"
	out, spliced := spliceEdited(t, in, func(root *yaml.Node) {
		vols := yamltree.Get(root, "vols")
		vols.Content = append(vols.Content, str("b"))
		item := yamltree.Get(root, "l").Content[0]
		item.Content[1] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str("E")}}
		root.Content[7] = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("k"), str("v")}} // n: written out
	})
	want := "vols: &v\n- a\n- b\nl:\n- env:\n  - E\n  name: app\nm: &m {k: v}\nn:\n  k: v\n"
	if out != want || !spliced {
		t.Errorf("spliced=%v, got:\n%s\nwant:\n%s", spliced, out, want)
	}
}

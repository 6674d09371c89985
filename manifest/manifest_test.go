package manifest

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/linediff"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
)

func TestSplit(t *testing.T) {
	cases := map[string]struct {
		in   string
		docs []string // Sep + "|" + Raw for each document
	}{
		"single":            {"a: 1\n", []string{"|a: 1\n"}},
		"leading separator": {"---\na: 1\n", []string{"|", "---\n|a: 1\n"}},
		"two":               {"a: 1\n---\nb: 2\n", []string{"|a: 1\n", "---\n|b: 2\n"}},
		"separator comment": {"a: 1\n--- # next\nb: 2", []string{"|a: 1\n", "--- # next\n|b: 2"}},
		"document end":      {"a: 1\n...\nb: 2\n", []string{"|a: 1\n", "...\n|b: 2\n"}},
		"not a marker":      {"a: ---x\n----\nb: '---'\n", []string{"|a: ---x\n----\nb: '---'\n"}},
		"crlf":              {"a: 1\r\n---\r\nb: 2\r\n", []string{"|a: 1\r\n", "---\r\n|b: 2\r\n"}},
		"trailing":          {"a: 1\n---\n", []string{"|a: 1\n", "---\n|"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, d := range split([]byte(tc.in)) {
				got = append(got, string(d.Sep)+"|"+string(d.Raw))
			}
			if strings.Join(got, "•") != strings.Join(tc.docs, "•") {
				t.Errorf("got %q, want %q", got, tc.docs)
			}
		})
	}
}

// TestUnchangedStreamIsByteIdentical: whatever the input looks like, a
// stream nobody changed is written back exactly.
func TestUnchangedStreamIsByteIdentical(t *testing.T) {
	inputs := []string{
		"",
		"# only a comment\n",
		"\xef\xbb\xbfa: 1\n",
		"a:   1   # spaced\n---\n\n\nb: [1,2]\n...\n",
		"a: 1\r\n---\r\nb: 2",
		"--- {a: 1}\n--- !!map\nb: 2\n",
		"- a\n- b\n",
	}
	for _, in := range inputs {
		s, err := Parse([]byte(in), "x.yaml")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		out, err := s.Bytes()
		if err != nil || string(out) != in {
			t.Errorf("%q came back as %q (%v)", in, out, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"invalid YAML line in file": {"a: 1\n---\nb: 2\nc: [\n", "x.yaml:4: invalid YAML"},
		"not UTF-8":                 {"a: 1\nb: \"\xc3\x28\"\n", "x.yaml:2: not valid UTF-8"},
		"tab indentation":           {"a:\n\tb: 1\n", "x.yaml:2: invalid YAML"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDetectStyle(t *testing.T) {
	cases := map[string]Style{
		"a:\n  b:\n  - c\n":         {2, true},
		"a:\n  b:\n    - c\n":       {2, false},
		"a:\n    b:\n      - c\n":   {4, true},
		"a:\n    b:\n        - c\n": {4, false},
		"a:\n   b: 1\n":             {3, true},
		"a: [1]\n":                  DefaultStyle,
		"- a: 1\n  b:\n    c: 2\n":  {2, true},
		"a:\n b:\n  c: 1\n":         DefaultStyle, // 1 is below what the encoder can write
		"a:\n  b:\n  -   name: x\n": {2, true},
		"x: {a: 1}\ny:\n    z: 1\n": {4, true},
	}
	for in, want := range cases {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(in), &n); err != nil {
			t.Fatal(err)
		}
		if got := DetectStyle(&n); got != want {
			t.Errorf("%q: got %+v, want %+v", in, got, want)
		}
	}
}

func TestRestoreBlankLines(t *testing.T) {
	orig := "a: 1\n\nb:\n  c: 2\n\n\nd: 3\n"
	encoded := "a: 1\nb:\n  c: 2\n  e: 4\nd: 3\n"
	want := "a: 1\n\nb:\n  c: 2\n  e: 4\n\n\nd: 3\n"
	if got := string(restoreBlankLines([]byte(orig), []byte(encoded))); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestDiffLines checks the edit script against random line lists: applying
// it to a must give b, and it must keep every line of a common subsequence.
func TestDiffLines(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	randLines := func() [][]byte {
		n := rng.Intn(30)
		out := make([][]byte, n)
		for i := range out {
			out[i] = []byte{byte('a' + rng.Intn(4)), '\n'}
		}
		return out
	}
	for i := 0; i < 2000; i++ {
		a, b := randLines(), randLines()
		ops, ok := linediff.Lines(a, b, 1000)
		if !ok {
			t.Fatal("diff gave up below its limit")
		}
		var got [][]byte
		ai, bi := 0, 0
		for _, op := range ops {
			switch op.Kind {
			case linediff.Equal:
				if op.A != ai || op.B != bi || !bytes.Equal(a[op.A], b[op.B]) {
					t.Fatalf("bad equal op %+v at a=%d b=%d", op, ai, bi)
				}
				got = append(got, b[op.B])
				ai, bi = ai+1, bi+1
			case linediff.Delete:
				if op.A != ai {
					t.Fatalf("bad delete op %+v at a=%d", op, ai)
				}
				ai++
			case linediff.Insert:
				if op.B != bi {
					t.Fatalf("bad insert op %+v at b=%d", op, bi)
				}
				got = append(got, b[op.B])
				bi++
			}
		}
		if ai != len(a) || bi != len(b) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(b, nil)) {
			t.Fatalf("script does not turn a into b")
		}
	}
	if _, ok := linediff.Lines([][]byte{[]byte("a\n")}, [][]byte{[]byte("b\n"), []byte("c\n")}, 1); ok {
		t.Error("diff should give up past maxD")
	}
}

// edit helpers for splice tests: parse, edit a copy, encode through Encode.
func encodeEdited(t *testing.T, raw string, edit func(root *yaml.Node)) string {
	t.Helper()
	out, _ := spliceEdited(t, raw, edit)
	return out
}

// spliceEdited is encodeEdited that also reports whether the writer
// spliced the edit into the original text.
func spliceEdited(t *testing.T, raw string, edit func(root *yaml.Node)) (out string, spliced bool) {
	t.Helper()
	s, err := Parse([]byte(raw), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out = string(editFirst(t, s, edit))
	return out, s.Docs[0].Spliced
}

// editFirst edits the first document of s, marks it changed and writes s.
func editFirst(t *testing.T, s *Stream, edit func(root *yaml.Node)) []byte {
	t.Helper()
	d := s.Docs[0]
	edit(d.Node.YNode())
	d.Changed = true
	out, err := s.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSpliceKeepsEverythingElse(t *testing.T) {
	raw := `# head
kind: Deployment   # odd spacing kept
spec:
  template:
    spec:
      containers:
        # the app
        -   name: app
            image: "app:1"   # pinned
            args: [a,   b]

      volumes: []
`
	got := encodeEdited(t, raw, func(root *yaml.Node) {
		spec := yamltree.Get(yamltree.Get(yamltree.Get(root, "spec"), "template"), "spec")
		containers := yamltree.Get(spec, "containers")
		side := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str("side"), str("image"), str("side:1")}}
		containers.Content = append(containers.Content, side)
		first := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str("proxy"), str("image"), str("proxy:1")}}
		containers.Content = append([]*yaml.Node{first}, containers.Content...)
		spec.Content[3] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{
			{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str("v"), str("emptyDir"), {Kind: yaml.MappingNode, Style: yaml.FlowStyle}}}}}
	})
	want := `# head
kind: Deployment   # odd spacing kept
spec:
  template:
    spec:
      containers:
        - name: proxy
          image: proxy:1
        # the app
        -   name: app
            image: "app:1"   # pinned
            args: [a,   b]
        - name: side
          image: side:1

      volumes:
        - name: v
          emptyDir: {}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSpliceDeletesWholeEntries(t *testing.T) {
	raw := "a:\n- name: x\n  # about y\n- name: y\n  v: 1\n- name: z\nb: 2\n# tail\n"
	got := encodeEdited(t, raw, func(root *yaml.Node) {
		seq := yamltree.Get(root, "a")
		seq.Content = append(seq.Content[:1], seq.Content[2:]...)
		root.Content = root.Content[:2]
	})
	// "# about y" is indented as x's content: it stays with x
	if want := "a:\n- name: x\n  # about y\n- name: z\n# tail\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSpliceCRLFAndNoFinalNewline(t *testing.T) {
	raw := "a:\r\n  b: 1"
	got := encodeEdited(t, raw, func(root *yaml.Node) {
		m := yamltree.Get(root, "a")
		m.Content = append(m.Content, str("c"), str("2"))
	})
	if want := "a:\r\n  b: 1\r\n  c: \"2\""; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestFallbackReencodes: a flow-style document cannot be spliced; it is
// re-encoded in its detected style with blank lines kept.
func TestFallbackReencodes(t *testing.T) {
	got := encodeEdited(t, "{a: 1}\n", func(root *yaml.Node) {
		root.Content = append(root.Content, str("b"), str("x"))
	})
	if want := "{a: 1, b: x}\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// TestEmptyNullsStayNull: yaml.v3 writes an empty null as an empty quoted
// string where it cannot leave it empty: as a key (`? `) or in a flow
// collection (`{c}`). The writer keeps them nulls.
func TestEmptyNullsStayNull(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\n? \nb: {c}\nd:\n"), &doc); err != nil {
		t.Fatal(err)
	}
	out, err := EncodeNode(&doc, DefaultStyle)
	if err != nil {
		t.Fatal(err)
	}
	var back yaml.Node
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	m := back.Content[0]
	for _, n := range []*yaml.Node{m.Content[2], m.Content[3], m.Content[5].Content[1], m.Content[7]} {
		if n.ShortTag() != "!!null" || n.Value != "" {
			t.Errorf("a null came back as %s %q:\n%s", n.ShortTag(), n.Value, out)
		}
	}
	if !strings.HasSuffix(string(out), "\nd:\n") {
		t.Errorf("a null value in a block mapping is written other than empty:\n%s", out)
	}
	if doc.Content[0].Content[2].Style != 0 {
		t.Error("encoding changed the caller's tree")
	}
}

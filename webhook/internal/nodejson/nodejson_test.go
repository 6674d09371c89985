package nodejson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// decodeStd is what encoding/json makes of data, numbers kept as text.
func decodeStd(t testing.TB, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json: %v\n%s", err, data)
	}
	return v
}

var validDocs = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `12`, `-12.5e+3`, `1E2`, `0.5`,
	`"plain"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d\ud83d\ude00"`, `"lone \ud800 surrogate"`,
	`"é 中 😀"`, "\"bad utf8 \xff\xfe\"", `"\u2028\u2029"`,
	`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`,
	` { "spaced" : [ 1 , 2 ] } `,
	`{"dup":1,"dup":2}`,
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","annotations":{"a/b":"true","n":"80"}},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}],"stdin":true}]}}`,
}

var invalidDocs = []string{
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`,
	`"unterminated`, "\"ctl \x01\"", `"\x"`, `"\u12"`, `tru`, `nul`, `[1 2]`, `{"a":1}{}`, `1 2`,
	`NaN`, `Infinity`, `'single'`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, doc := range validDocs {
		n, err := Decode([]byte(doc))
		if err != nil {
			t.Errorf("Decode(%q): %v", doc, err)
			continue
		}
		out, err := Append(nil, n)
		if err != nil {
			t.Errorf("Append(Decode(%q)): %v", doc, err)
			continue
		}
		if got, want := decodeStd(t, out), decodeStd(t, []byte(doc)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: round trip gives %s, encoding/json reads %#v", doc, out, want)
		}
		if err := Valid([]byte(doc)); err != nil {
			t.Errorf("Valid(%q): %v", doc, err)
		}
	}
	for _, doc := range invalidDocs {
		if json.Valid([]byte(doc)) {
			t.Fatalf("test bug: %q is valid JSON", doc)
		}
		if _, err := Decode([]byte(doc)); err == nil {
			t.Errorf("Decode(%q) succeeded", doc)
		}
		if err := Valid([]byte(doc)); err == nil {
			t.Errorf("Valid(%q) succeeded", doc)
		}
	}
}

func TestDecodeTags(t *testing.T) {
	n, err := Decode([]byte(`{"s":"80","i":80,"f":1.5,"e":1e3,"b":true,"z":null}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s": TagStr, "i": TagInt, "f": TagFloat, "e": TagFloat, "b": TagBool, "z": TagNull}
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if v.ShortTag() != want[k] {
			t.Errorf("%s: tag %s, want %s", k, v.ShortTag(), want[k])
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Decode([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("Decode of %d nested arrays: %v", MaxDepth+1, err)
	}
	if err := Valid([]byte(deep)); err == nil {
		t.Error("Valid accepted too deep a document")
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Decode([]byte(ok)); err != nil {
		t.Errorf("Decode of %d nested arrays: %v", MaxDepth, err)
	}
}

// members reads an object's members with a Scanner, validating each value.
func members(data []byte, fn func(key string, value []byte) error) error {
	s := NewScanner(data)
	err := s.Object(func(key string) error {
		raw, err := s.Skip()
		if err != nil {
			return err
		}
		return fn(key, raw)
	})
	if err != nil {
		return err
	}
	return s.End()
}

func TestScannerObject(t *testing.T) {
	var keys []string
	var vals []string
	err := members([]byte(` {"a": 1, "b" : {"c":[1,2]}, "d":"x"} `), func(k string, v []byte) error {
		keys = append(keys, k)
		vals = append(vals, string(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "d"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if want := []string{`1`, `{"c":[1,2]}`, `"x"`}; !reflect.DeepEqual(vals, want) {
		t.Errorf("values %v, want %v", vals, want)
	}
	if err := members([]byte(`[1]`), func(string, []byte) error { return nil }); err != ErrNotObject {
		t.Errorf("an array: %v, want ErrNotObject", err)
	}
	if err := members([]byte(`{"a":1} x`), func(string, []byte) error { return nil }); err == nil {
		t.Error("trailing garbage accepted")
	}
	if err := members([]byte(`{"a":1,"b":[}`), func(string, []byte) error { return nil }); err == nil {
		t.Error("a broken later member accepted")
	}
	// A callback that does not read the value is an error, not a loop.
	s := NewScanner([]byte(`{"a":1}`))
	if err := s.Object(func(string) error { return nil }); err == nil {
		t.Error("an unread value was accepted")
	}
}

func TestScannerString(t *testing.T) {
	for raw, want := range map[string]string{`"a"`: "a", `"a\nb"`: "a\nb", `""`: "", `null`: ""} {
		s := NewScanner([]byte(raw))
		if got, ok, err := s.String(); err != nil || !ok || got != want || s.End() != nil {
			t.Errorf("String(%s) = %q, %v, %v", raw, got, ok, err)
		}
	}
	for _, raw := range []string{`1`, `{}`, `true`} {
		s := NewScanner([]byte(raw))
		if _, ok, err := s.String(); ok || err != nil || s.End() != nil {
			t.Errorf("String(%s): ok %v, err %v; want not ok, value skipped", raw, ok, err)
		}
	}
	if _, _, err := NewScanner([]byte(`"a`)).String(); err == nil {
		t.Error("an unterminated string was read")
	}
}

// TestSkip: Skip finds the end of valid values exactly.
func TestSkip(t *testing.T) {
	for _, doc := range validDocs {
		s := NewScanner([]byte(doc))
		raw, err := s.Skip()
		if err != nil || s.End() != nil || string(raw) != strings.TrimSpace(doc) {
			t.Errorf("Skip(%q) = %q, %v", doc, raw, err)
		}
	}
}

// TestAppendYAML checks that config nodes, parsed from YAML, become the
// JSON kyaml makes of them (the engine validates configs through kyaml).
func TestAppendYAML(t *testing.T) {
	src := `
base: &base {image: nginx, tty: true}
c:
  <<: *base
  name: sidecar
  image: override
  port: 0x50
  octal: 0o17
  under: 1_000
  big: 18446744073709551615
  float: 1.50
  exp: 2e3
  neg: -.5
  str: "80"
  null1: ~
  null2: null
  bool: True
  list: [a, 1, {x: y}]
  alias: *base
  quoted: "<<"
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := Append(nil, &doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := yaml.NewRNode(&doc).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeStd(t, got), decodeStd(t, want); !reflect.DeepEqual(normalize(g), normalize(w)) {
		t.Errorf("Append:\n%s\nkyaml:\n%s", got, want)
	}
}

// normalize compares numbers by value: kyaml writes 1.50 as 1.5.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalize(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalize(x)
		}
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return string(v)
		}
		return f
	}
	return v
}

// A plain YAML timestamp keeps its text: that is what kubectl makes of the
// CLI's YAML output, so build time and admission agree (kyaml's own JSON
// conversion would write "2001-12-14T00:00:00Z").
func TestAppendTimestampKeepsText(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("value: 2001-12-14\n"), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := Append(nil, &doc)
	if err != nil || string(got) != `{"value":"2001-12-14"}` {
		t.Errorf("Append = %s, %v", got, err)
	}
}

func TestAppendRejectsNonJSON(t *testing.T) {
	for _, src := range []string{"x: .inf", "x: .nan", "x: !!bool maybe", "? [a]\n: b"} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		if out, err := Append(nil, &doc); err == nil {
			t.Errorf("Append(%q) = %s, want an error", src, out)
		}
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n cr\r tab\t bs\b ff\f", "\x00\x1f\x7f", "é中😀", "\xff bad", "\u2028\u2029", "<&>"} {
		checkString(t, s)
	}
}

func checkString(t *testing.T, s string) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); string(got) != strings.TrimSuffix(want.String(), "\n") {
		t.Errorf("AppendString(%q) = %s, encoding/json: %s", s, got, want.String())
	}
}

func FuzzDecode(f *testing.F) {
	for _, d := range append(validDocs, invalidDocs...) {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Decode(data)
		valid := json.Valid(data)
		if (err == nil) != valid {
			t.Fatalf("Decode error %v, json.Valid %v, for %q", err, valid, data)
		}
		if (Valid(data) == nil) != valid {
			t.Fatalf("Valid disagrees with json.Valid (%v) for %q", valid, data)
		}
		s := NewScanner(data)
		if raw, err := s.Skip(); (err == nil && s.End() == nil) != valid || (err == nil && len(raw) == 0) {
			t.Fatalf("Skip(%q) = %q, %v; json.Valid %v", data, raw, err, valid)
		}
		if !valid {
			return
		}
		if c, m := countNodes(n), Measure(data); c != m.Nodes || m.Depth != depth(n) || (n.Kind != yaml.ScalarNode && m.Items != len(n.Content)/itemNodes(n)) {
			t.Fatalf("Measure(%q) = %+v; Decode built %d nodes, depth %d, %d items", data, m, c, depth(n), len(n.Content)/itemNodes(n))
		}
		out, err := Append(nil, n)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if got, want := decodeStd(t, out), decodeStd(t, data); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip of %q gives %s", data, out)
		}
	})
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b\\c\n\x00\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func FuzzScanPlain(f *testing.F) {
	f.Add([]byte(`abcdefgh"ijkl`), 0)
	f.Add([]byte("\x00\x80\xff\"\\abcdefghijklmnop"), 3)
	f.Fuzz(func(t *testing.T, data []byte, start int) {
		if start < 0 || start > len(data) {
			return
		}
		want := start
		for want < len(data) && data[want] != '"' && data[want] != '\\' && data[want] >= 0x20 {
			want++
		}
		if got := scanPlain(data, start); got != want {
			t.Fatalf("scanPlain(%q, %d) = %d, want %d", data, start, got, want)
		}
	})
}

// TestDecoderReuse: a reused Decoder gives the same trees, whatever it
// decoded before, and needs no new slab for a document of the same size.
func TestDecoderReuse(t *testing.T) {
	var dec Decoder
	docs := []string{validDocs[len(validDocs)-1], `{"a":[1,2,3],"b":{"c":"d"}}`, `[]`, validDocs[len(validDocs)-1]}
	for i, doc := range docs {
		n, err := dec.Decode([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := Append(nil, n)
		if !reflect.DeepEqual(decodeStd(t, out), decodeStd(t, []byte(doc))) {
			t.Errorf("doc %d: got %s", i, out)
		}
	}
	// Whatever a caller did to the last tree's nodes, the next tree is
	// exactly a fresh one.
	pod := []byte(validDocs[len(validDocs)-1])
	for _, doc := range []string{string(pod), `{"a":[1,2,3],"b":{"c":"d"}}`} {
		n, _ := dec.Decode([]byte(doc))
		var dirty func(*yaml.Node)
		dirty = func(n *yaml.Node) {
			for _, c := range n.Content {
				dirty(c)
			}
			*n = yaml.Node{Kind: yaml.AliasNode, Style: yaml.FlowStyle, Tag: "!x", Value: "v", Anchor: "a", Alias: n,
				Content: []*yaml.Node{n}, HeadComment: "h", LineComment: "l", FootComment: "f", Line: 1, Column: 2}
		}
		dirty(n)
		got, err := dec.Decode(pod)
		want, _ := Decode(pod)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after a dirtied tree of %.30s, Decode differs from a fresh decoder's (%v)", doc, err)
		}
	}
	dec.Decode(pod)
	if allocs := testing.AllocsPerRun(50, func() { dec.Decode(pod) }); allocs > 1 {
		t.Errorf("%v allocations per Decode of the same document; want 1 (its string)", allocs)
	}
}

func FuzzScanPlainASCII(f *testing.F) {
	f.Add([]byte("abcdefgh\x80ijkl"), 0)
	f.Add([]byte("\x00\x80\xff\"\\abcdefghijklmnop"), 3)
	f.Fuzz(func(t *testing.T, data []byte, start int) {
		if start < 0 || start > len(data) {
			return
		}
		want := start
		for want < len(data) && data[want] != '"' && data[want] != '\\' && data[want] >= 0x20 && data[want] < 0x80 {
			want++
		}
		if got := scanPlainASCII(data, start); got != want {
			t.Fatalf("scanPlainASCII(%q, %d) = %d, want %d", data, start, got, want)
		}
	})
}

func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		json                string
		nodes, depth, items int
	}{
		{`1`, 1, 0, 0},
		{`"a,b:{["`, 1, 0, 0},
		{`"a\"]["`, 1, 0, 0},
		{`{"a":1,"b":[true,null,"x"]}`, 8, 2, 2},
		{` [ {"a":[1,2]}, "x,y" , 3 ] `, 8, 3, 3},
		{`[ ]`, 1, 1, 0},
		{`[[[[]]]]`, 4, 4, 1},
		{`{"a":{"b":{"c":"d"}}}`, 7, 3, 1},
		{`{"a":[1,{"unterminated`, 5, 3, 0}, // what Decode builds before it fails
	} {
		got := Measure([]byte(tc.json))
		if got != (Shape{tc.nodes, tc.depth, tc.items}) {
			t.Errorf("Measure(%s) = %+v, want {%d %d %d}", tc.json, got, tc.nodes, tc.depth, tc.items)
		}
		if tree, err := Decode([]byte(tc.json)); err == nil {
			if n := countNodes(tree); n != got.Nodes {
				t.Errorf("%s: Decode built %d nodes, Measure counts %d", tc.json, n, got.Nodes)
			}
		}
	}
}

// itemNodes is how many nodes of a container's Content make one item.
func itemNodes(n *yaml.Node) int {
	if n.Kind == yaml.MappingNode {
		return 2
	}
	return 1
}

// depth is the deepest nesting of mappings and sequences in a tree.
func depth(n *yaml.Node) int {
	d := 0
	for _, c := range n.Content {
		d = max(d, depth(c))
	}
	if n.Kind == yaml.ScalarNode {
		return d
	}
	return d + 1
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// TestDecoderForgetsHugeTrees: a Decoder sizes its slabs from its last
// tree, but a huge one must not make the next small document allocate
// its size.
func TestDecoderForgetsHugeTrees(t *testing.T) {
	var dec Decoder
	huge := []byte("[" + strings.Repeat("0,", 1<<20) + "0]")
	if _, err := dec.Decode(huge); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := dec.Decode([]byte(`{"a":[1,2,3]}`)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// The cap is 16384 nodes of 152 bytes and as many pointers; the huge
	// tree's size would be 160 MB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 3<<20 {
		t.Errorf("decoding a small document after a huge one allocated %d bytes", got)
	}
}

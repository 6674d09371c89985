package jsonschema

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type inner struct {
	Leaf string `json:"leaf"`
}

type embedded struct {
	Shared int    `json:"shared,omitempty"`
	Name   string `json:"name,omitempty"` // hidden by node.Name, which is shallower
}

type embeddedPtr struct {
	Via string `json:"via"`
}

type node struct {
	embedded `json:",inline"`
	*embeddedPtr
	Name    string            `json:"name"`
	Opt     string            `json:"opt,omitempty"`
	Ptr     *inner            `json:"ptr"`
	List    []inner           `json:"list,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Bytes   []byte            `json:"bytes,omitempty"`
	Kids    []*node           `json:"kids,omitempty"` // reaches itself
	Skipped string            `json:"-"`
	hidden  string            //lint:ignore U1000 unexported: the generator must pass it over
}

func TestGenerate(t *testing.T) {
	pkg := reflect.TypeFor[node]().PkgPath()
	g := &Generator{Comments: map[string]Doc{
		pkg + ".node":      {Text: "A node."},
		pkg + ".node.Opt":  {Text: "Optional.", Markers: []string{"kubebuilder:default=x", "kubebuilder:validation:MaxLength=3"}},
		pkg + ".node.Name": {Markers: []string{"kubebuilder:validation:Pattern=`^[a-z]+$`"}},
	}}
	s, err := g.Generate(reflect.TypeFor[node]())
	if err != nil {
		t.Fatal(err)
	}
	if s.Description != "A node." || s.AdditionalProperties != false {
		t.Errorf("top: %+v", s)
	}
	var names []string
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "bytes kids list name opt ptr raw shared tags via" {
		t.Errorf("properties: %s", got)
	}
	if got := strings.Join(s.Required, " "); got != "name via" {
		t.Errorf("required: %q (pointers and omitempty fields are optional)", got)
	}
	if p := s.Properties["opt"]; p.Default != "x" || *p.MaxLength != 3 || p.Description != "Optional." {
		t.Errorf("opt: %+v", p)
	}
	if p := s.Properties["name"]; p.Pattern != "^[a-z]+$" {
		t.Errorf("name: pattern %q", p.Pattern)
	}
	if p := s.Properties["kids"]; p.Items.Ref != "#/$defs/jsonschema.node" || s.Defs["jsonschema.node"] == nil {
		t.Errorf("kids: %+v; defs %v", p.Items, s.Defs)
	}
	if p := s.Properties["tags"]; p.Type != "object" || p.AdditionalProperties.(*Schema).Type != "string" {
		t.Errorf("tags: %+v", p)
	}
	if p := s.Properties["bytes"]; p.Type != "string" || p.ContentEncoding != "base64" {
		t.Errorf("bytes: %+v", p)
	}
	if p := s.Properties["raw"]; p.Type != nil {
		t.Errorf("raw: %+v, want any value", p)
	}
	if d := s.Defs["jsonschema.inner"]; d == nil || !slices.Equal(d.Required, []string{"leaf"}) {
		t.Errorf("inner: %+v", d)
	}
}

func TestGenerateRefuses(t *testing.T) {
	type withChan struct {
		C chan int `json:"c"`
	}
	type intKeys struct {
		M map[int]string `json:"m"`
	}
	type badMarker struct {
		A string `json:"a"`
	}
	pkg := reflect.TypeFor[badMarker]().PkgPath()
	for _, c := range []struct {
		typ  reflect.Type
		docs map[string]Doc
		want string
	}{
		{reflect.TypeFor[withChan](), nil, "no JSON Schema for a chan"},
		{reflect.TypeFor[intKeys](), nil, "map keys must be strings"},
		{reflect.TypeFor[badMarker](), map[string]Doc{pkg + ".badMarker.A": {Markers: []string{"kubebuilder:validation:Nope=1"}}}, "not one the generator knows"},
		{reflect.TypeFor[badMarker](), map[string]Doc{pkg + ".badMarker.A": {Markers: []string{"kubebuilder:validation:MinItems=x"}}}, "invalid syntax"},
	} {
		_, err := (&Generator{Comments: c.docs}).Generate(c.typ)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.typ, err, c.want)
		}
	}
}

func TestParseComments(t *testing.T) {
	docs, err := ParseComments("testdata/sample", "example.com/sample")
	if err != nil {
		t.Fatal(err)
	}
	if d := docs["example.com/sample.Mode"]; !slices.Equal(d.Enum, []string{"fast", "slow"}) {
		t.Errorf("Mode: enum %q", d.Enum)
	}
	if d := docs["example.com/sample.Thing"]; d.Text != "Thing is a thing. It has two lines." {
		t.Errorf("Thing: %q", d.Text)
	}
	if d := docs["example.com/sample.Thing.Mode"]; d.Text != "How it runs." || !slices.Equal(d.Markers, []string{"kubebuilder:default=fast"}) {
		t.Errorf("Thing.Mode: %+v", d)
	}
	if _, ok := docs["example.com/sample.Thing.Base"]; !ok {
		t.Errorf("the embedded field is not keyed by its type's name: %v", docs)
	}
}

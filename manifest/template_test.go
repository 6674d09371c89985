package manifest

import (
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	cases := map[string]struct {
		in   string
		want []string // Template() of each document
	}{
		"helm 3": {
			"---\n# Source: shop/templates/a.yaml\nkind: A\n---\n# Source: shop/charts/db/templates/b.yaml\nkind: B\n",
			[]string{"", "shop/templates/a.yaml", "shop/charts/db/templates/b.yaml"},
		},
		"crlf and blank lines": {"\r\n# Source: shop/templates/a.yaml\r\nkind: A\r\n", []string{"shop/templates/a.yaml"}},
		"after other comments": {"# generated\n# Source: x/templates/a.yaml\nkind: A\n", []string{"x/templates/a.yaml"}},
		"not in the content":   {"kind: A\n# Source: x/templates/a.yaml\n", []string{""}},
		"in a block scalar":    {"data: |\n  # Source: x/templates/a.yaml\n", []string{""}},
		"helm 4 annotation": {
			"kind: A\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: shop/templates/a.yaml\n",
			[]string{"shop/templates/a.yaml"},
		},
		"the comment first": {
			"# Source: c/templates/x.yaml\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: a/templates/y.yaml\n",
			[]string{"c/templates/x.yaml"},
		},
		"annotation not a string": {"metadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: [x]\n", []string{""}},
		"metadata not a map":      {"metadata: [x]\n", []string{""}},
		"none":                    {"kind: A\n", []string{""}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Parse([]byte(tc.in), "stdin")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range s.Docs {
				got = append(got, d.Template())
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWhereNamesTemplate: stdin has no file names, so messages about
// Helm's output name the template next to the line.
func TestWhereNamesTemplate(t *testing.T) {
	in := "---\n# Source: shop/templates/a.yaml\nkind: A\n---\nkind: B\n"
	s, err := Parse([]byte(in), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Where(s.Docs[1], 2), "stdin:2, template shop/templates/a.yaml"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := s.Where(s.Docs[2], 5), "stdin:5"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseErrorNamesTemplate(t *testing.T) {
	in := "---\n# Source: shop/templates/a.yaml\nkind: A\n---\n# Source: shop/templates/bad.yaml\nkind: B\nspec: [\n"
	_, err := Parse([]byte(in), "stdin")
	if err == nil {
		t.Fatal("no error")
	}
	if want := "stdin:7, template shop/templates/bad.yaml: invalid YAML: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start with %q", err, want)
	}
}

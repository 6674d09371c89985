package fn_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// layoutCases are lists in kustomize's and kpt's layout whose items can or
// cannot be read on their own: comments at the edges of items, aliases,
// scalars running over lines. itemByItem says which path they must take;
// both must give the same output (checkSamePaths).
var layoutCases = map[string]struct {
	items      string
	itemByItem bool
}{
	"plain":                 {"- a: 1\n  b: [x, y]\n- c: {d: e}\n- just a string\n", true},
	"comments inside":       {"- a: 1 # line\n  # head of b\n  b: 2\n  # foot of b\n- c: 3\n", true},
	"comment after dash":    {"- # head\n  a: 1\n- b: 2\n", true},
	"comment at item end":   {"- a:\n    b: 1\n    # foot, indented\n- c: 2\n", true},
	"comment before next":   {"- a: 1\n\n  # after a blank line\n- b: 2\n", true},
	"comment at column 0":   {"- a: 1\n# between\n- b: 2\n", false},
	"comment after last":    {"- a: 1\n  # end\n", true},
	"block scalars":         {"- s: |\n    #!/bin/sh\n    echo hi\n\n  k: |+\n    kept\n\n- f: >-\n    folded\n    text\n", true},
	"indent indicator":      {"- s: |2\n     two more\n  t: 1\n", true},
	"alias within":          {"- a: &x {k: v}\n  b: *x\n- c: 1\n", true},
	"alias across":          {"- a: &x {k: v}\n- b: *x\n", false},
	"quoted over lines":     {"- a: \"one\n  two\"\n- b: 'three\n\n  four'\n", true},
	"quoted to column 0":    {"- a: \"one\n- b\"\n", false},
	"plain over lines":      {"- a: one\n    two\n- b\n", true},
	"flow over lines":       {"- a: [1,\n    2]\n- {b: 1,\n  c: 2}\n", true},
	"empty and null":        {"- {}\n- []\n- null\n- ''\n", true},
	"tags":                  {"- !!map {a: !!str 1}\n- !custom {b: 2}\n", true},
	"nested list":           {"- - a\n  - b\n- - c\n", true},
	"tabs":                  {"- a:\t1\n  b: \"\tx\"\n", true},
	"crlf":                  {"- a: 1\r\n  b: 2\r\n", true},
	"long line":             {"- a: " + strings.Repeat("word ", 50) + "\n", true},
	"trailing blank lines":  {"- a: 1\n\n\n- b: 2\n\n", true},
	"document end in items": {"- a: 1\n...\n", false},
}

func TestItemByItemMatchesWhole(t *testing.T) {
	for name, c := range layoutCases {
		t.Run(name, func(t *testing.T) {
			in := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + c.items +
				"functionConfig:\n" + indentBlock(injectorConfig)
			if ok := checkSamePaths(t, []byte(in)); ok != c.itemByItem {
				t.Errorf("read item by item: %v, want %v", ok, c.itemByItem)
			}
		})
	}
	// Results of earlier functions come after the config; then this
	// function's, after an error too.
	for name, workload := range map[string]string{"ok": deployment("web", "web.yaml", 0, "true"), "error": deployment("web", "web.yaml", 0, "mesh")} {
		t.Run("earlier results, "+name, func(t *testing.T) {
			in := string(resourceList(t, injectorConfig, workload)) + "results:\n- message: from an earlier function\n  severity: warning\n"
			if !checkSamePaths(t, []byte(in)) {
				t.Error("not read item by item")
			}
		})
	}
	// Every list kustomize or kpt would send for the shared cases, and
	// the function's own output, are read item by item (and the fn tests'
	// run helper checks that this gives what reading them whole gives).
	inputs := map[string][]byte{"load": workload.ResourceList(20)}
	for _, c := range golden.Cases(t) {
		if in, ok := caseResourceList(t, c); ok {
			inputs["case "+c.Name] = in
		}
	}
	// kyaml writes the head comment of a flow-style (JSON) item at column 0
	// between items, where go-yaml would attach it to the item before: such
	// a list is read whole (it gives the same output, see checkSamePaths).
	whole := map[string]bool{"case json-in-yaml-stream": true}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			code, ok := fn.RunItemByItem(in, &out, io.Discard)
			if whole[name] {
				if ok {
					t.Error("read item by item; the test's exception is stale")
				}
				return
			}
			if !ok {
				t.Fatal("not read item by item")
			}
			if code != 0 && !bytes.Contains(out.Bytes(), []byte("severity: error")) {
				t.Fatalf("exit code %d", code)
			}
			if _, ok := fn.RunItemByItem(out.Bytes(), io.Discard, io.Discard); !ok {
				t.Error("the function's output is not read item by item")
			}
		})
	}
}

// checkSamePaths checks that reading item by item, when it is possible,
// gives what reading the whole document gives, and says if it was.
func checkSamePaths(t *testing.T, in []byte) (itemByItem bool) {
	t.Helper()
	var out, stderr, wholeOut, wholeErr bytes.Buffer
	code, ok := fn.RunItemByItem(in, &out, &stderr)
	if !ok {
		return false
	}
	wholeCode := fn.RunWhole(in, &wholeOut, &wholeErr)
	if code != wholeCode || out.String() != wholeOut.String() || stderr.String() != wholeErr.String() {
		t.Errorf("item by item differs from the whole document: exit code %d, not %d; stderr %q, not %q; output:\n%s",
			code, wholeCode, stderr.String(), wholeErr.String(), golden.Diff(wholeOut.Bytes(), out.Bytes()))
	}
	return true
}

// The fuzzer looks for a list that reads differently item by item.
func FuzzItemByItem(f *testing.F) {
	for _, c := range layoutCases {
		f.Add([]byte(c.items))
	}
	f.Add([]byte(tricky[strings.Index(tricky, "items:\n")+len("items:\n") : strings.Index(tricky, "functionConfig:")]))
	f.Fuzz(func(t *testing.T, items []byte) {
		in := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + string(items) +
			"functionConfig:\n" + indentBlock(injectorConfig)
		checkSamePaths(t, []byte(in))
	})
}

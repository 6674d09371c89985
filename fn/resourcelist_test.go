package fn_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// tricky holds YAML that stresses the writer: comments everywhere, block
// scalars, flow styles, anchors across items, empty collections, long
// lines, quoting.
var tricky = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
# head comment of the first item
- apiVersion: v1 # line comment
  kind: ConfigMap
  metadata:
    name: a
    annotations: {x: "1", y: 'two words'}
  data:
    script: |
      #!/bin/sh
        indented line

      echo "done"
    folded: >-
      folded text
      goes on
    keep: |+
      trailing

    lead: |2
        leading spaces
    empty: ""
    long: ` + strings.Repeat("word ", 40) + `x
    multi: "line one\nline two"
  # foot comment of data
- &item {apiVersion: v1, kind: Secret, metadata: {name: b}}
- apiVersion: v1
  kind: List
  items: []
  meta: {}
  alias: *item
  seq:
  - - nested
    - list
  - key: value
    # comment in a list
    other: ~
  numbers: [1, 2.5, 0x1F, "007", true, null]
functionConfig:
  # config comment
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cfg
  data:
    k: v
results:
- message: from an earlier function
  severity: warning
`

// Items that are not maps are not resources, but they come back as they
// came (kyaml's writer panics on a list item, so they are not in tricky).
func TestNonResourceItems(t *testing.T) {
	in := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- just a string\n- - a bare list\n- 42\n" +
		"functionConfig:\n" + indentBlock(injectorConfig)
	out, stderr, code := run(t, []byte(in))
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if !strings.HasPrefix(string(out), "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- just a string\n- - a bare list\n- 42\nfunctionConfig:\n") {
		t.Errorf("output:\n%s", out)
	}
}

// The writer must give what kio.ByteWriter gives for the same list, byte
// for byte: it only encodes item by item to go faster.
func TestWriteMatchesKyaml(t *testing.T) {
	inputs := map[string][]byte{"tricky": []byte(tricky), "load": workload.ResourceList(20)}
	for _, c := range golden.Cases(t) {
		if in, ok := caseResourceList(t, c); ok {
			inputs["case "+c.Name] = in
		}
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			rl, err := fn.ReadResourceList(in)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := rl.Write(&got); err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			rw := &kio.ByteReadWriter{Reader: bytes.NewReader(in), Writer: &want, KeepReaderAnnotations: true}
			nodes, err := rw.Read()
			if err != nil {
				t.Fatal(err)
			}
			if err := rw.Write(nodes); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("differs from kio.ByteWriter:\n%s", golden.Diff(want.Bytes(), got.Bytes()))
			}
		})
	}
}

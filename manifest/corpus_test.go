package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/linediff"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// corpus lists the files of testdata/corpus: real-world-shaped manifests
// (Helm output, kubectl and kustomize output, JSON, CRLF with a BOM, 4-space
// indentation, tags, anchors, folded and keep-chomping scalars, comments
// everywhere), written for this repository.
var corpus = []struct {
	file     string
	injected int // workloads the config injects
	// changed is how many lines of the file injecting may rewrite (the rest
	// it only adds to): in JSON, the member before an added one gains a comma.
	changed int
}{
	{file: "helm-release.yaml", injected: 1},
	{file: "kubectl-get-deployment.json", injected: 1, changed: 3},
	{file: "windows-crlf-bom.yaml", injected: 1},
	{file: "batch-jobs.yaml", injected: 2},
	{file: "json-documents.yaml", injected: 2, changed: 4},
	{file: "tab-indented.json", injected: 1, changed: 2},
	{file: "kustomize-build.yaml", injected: 1},
	{file: "tags-and-anchors.yaml", injected: 3},
}

// TestCorpus: every file is injected, injected again (byte-identical),
// uninjected (byte-identical to the input), and
// every document in and out decodes strictly into the Kubernetes API types.
// Documents nobody changed keep their bytes, and changed ones only gain
// lines, but for the few each file is allowed.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "corpus")
	data, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := transformer.LoadConfig(data, "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.*"))
	if len(files) != len(corpus)+1 {
		t.Errorf("testdata/corpus holds %d files, the table lists %d and the config", len(files), len(corpus))
	}
	before := SpliceMismatches()
	for _, tc := range corpus {
		t.Run(tc.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			decodeStrict(t, "input", in)

			out, s := transform(t, cfg, in, tc.file, false, tc.injected)
			decodeStrict(t, "output", out)
			if strings.HasSuffix(tc.file, ".json") && !json.Valid(bytes.TrimPrefix(out, utf8BOM)) {
				t.Errorf("output is not JSON:\n%s", out)
			}
			checkOnlyAdded(t, in, out, s, tc.changed)

			if again, _ := transform(t, cfg, out, tc.file, false, 0); !bytes.Equal(again, out) {
				t.Errorf("second run changed the output:\n%s", golden.Diff(out, again))
			}

			back, s2 := transform(t, cfg, out, tc.file, true, 0)
			switch {
			case !bytes.Equal(back, in):
				t.Errorf("uninject(inject(input)) != input:\n%s", golden.Diff(in, back))
			case !allSpliced(s) || !allSpliced(s2):
				t.Errorf("a document was re-encoded, not spliced")
			}
		})
	}
	if n := SpliceMismatches() - before; n > 0 {
		t.Errorf("a splice did not parse back to the edited tree %d times", n)
	}
}

// transform runs the engine over a file the way the CLI does. With want >
// 0, it checks that many workloads were injected.
func transform(t *testing.T, cfg *transformer.Config, data []byte, path string, uninject bool, want int) ([]byte, *Stream) {
	t.Helper()
	s, err := Parse(data, path)
	if err != nil {
		t.Fatal(err)
	}
	in := &transformer.Injector{Config: cfg, Uninject: uninject}
	injected := 0
	for _, d := range s.Docs {
		if d.Node == nil {
			continue
		}
		r, err := in.Apply(d.Node, fmt.Sprintf("%s:%d", path, d.Line))
		if err != nil {
			t.Fatal(err)
		}
		if r.Change != nil {
			d.Rewrote(r.Change.Node, r.Change.Original)
		}
		if r.Action == transformer.Injected {
			injected++
		}
	}
	if want > 0 && injected != want {
		t.Errorf("injected %d workloads, want %d", injected, want)
	}
	out, err := s.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out, s
}

func allSpliced(s *Stream) bool {
	for _, d := range s.Docs {
		if d.Changed && !d.Spliced {
			return false
		}
	}
	return true
}

// checkOnlyAdded: documents nobody changed are as they were, and changed
// ones rewrite at most maxChanged of the input's lines.
func checkOnlyAdded(t *testing.T, in, out []byte, s *Stream, maxChanged int) {
	t.Helper()
	orig, err := Parse(in, "in")
	if err != nil {
		t.Fatal(err)
	}
	if len(orig.Docs) != len(s.Docs) {
		t.Fatalf("%d documents in, %d out", len(orig.Docs), len(s.Docs))
	}
	written, err := Parse(out, "out")
	if err != nil {
		t.Fatalf("the output does not parse: %v", err)
	}
	for i, d := range s.Docs {
		if !d.Changed && !bytes.Equal(orig.Docs[i].text(), written.Docs[i].text()) {
			t.Errorf("document %d was not changed, but its bytes were", i+1)
		}
	}
	ops, ok := linediff.Lines(splitLines(in), splitLines(out), 10_000)
	if !ok {
		t.Fatal("no line diff")
	}
	changed := 0
	for _, op := range ops {
		if op.Kind == linediff.Delete {
			changed++
		}
	}
	if changed > maxChanged {
		t.Errorf("injecting rewrote %d lines of the input, want at most %d", changed, maxChanged)
	}
}

// toJSON converts a document as kubectl does: JSON as it is, YAML through
// sigs.k8s.io/yaml, strictly (no duplicate keys) unless it uses merge keys,
// whose explicit keys override merged ones (which the strict mode takes for
// duplicates).
func toJSON(doc []byte) ([]byte, error) {
	switch {
	case isJSONDoc(doc):
		return sigsyaml.YAMLToJSON(doc) // JSON is YAML: kubectl reads a JSON document of a stream so, comments and all
	case bytes.Contains(doc, []byte("<<:")):
		return sigsyaml.YAMLToJSON(doc)
	}
	return sigsyaml.YAMLToJSONStrict(doc)
}

// decodeStrict decodes every document as kubectl reads it (toJSON) into
// its Kubernetes API type, refusing unknown and duplicate fields. Kinds the API does not know (an Argo
// Rollout) have their pod template checked.
func decodeStrict(t *testing.T, what string, data []byte) {
	t.Helper()
	s, err := Parse(data, what)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range s.Docs {
		if d.Node == nil {
			continue
		}
		j, err := toJSON(d.text())
		if err != nil {
			t.Errorf("%s document %d: %v", what, i+1, err)
			continue
		}
		var tm struct{ APIVersion, Kind string }
		if err := json.Unmarshal(j, &tm); err != nil {
			t.Errorf("%s document %d: %v", what, i+1, err)
			continue
		}
		var obj any
		if o, err := scheme.Scheme.New(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)); err == nil {
			obj = o
		} else {
			var custom struct {
				Spec struct{ Template json.RawMessage } `json:"spec"`
			}
			if err := json.Unmarshal(j, &custom); err != nil || custom.Spec.Template == nil {
				t.Errorf("%s document %d: %s %s is neither a built-in kind nor has a pod template", what, i+1, tm.APIVersion, tm.Kind)
				continue
			}
			j, obj = custom.Spec.Template, &corev1.PodTemplateSpec{}
		}
		strict, err := sigsjson.UnmarshalStrict(j, obj)
		if err == nil && len(strict) > 0 {
			err = strict[0]
		}
		if err != nil {
			t.Errorf("%s document %d (%s): %v", what, i+1, tm.Kind, err)
		}
	}
}

// isJSONDoc reports whether a document, past its comment lines, is JSON.
func isJSONDoc(doc []byte) bool {
	for _, line := range bytes.SplitAfter(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			return line[0] == '{'
		}
	}
	return false
}

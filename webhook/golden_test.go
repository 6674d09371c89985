package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/manifest"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/patchtest"
)

// TestGoldenCases runs the shared golden cases through the webhook path, as
// Istio runs its injection cases through both its CLI and its webhook: each
// Pod of a case, and the pod template of each workload made into a Pod, is
// sent as an AdmissionReview; the returned JSON Patch is applied the way the
// API server applies it and the result is compared with expected.yaml.
//
// Where the webhook must differ from build time, the expectation follows the
// webhook's design: a template that already carries a status annotation
// (injected at build time) comes back unchanged. Workloads whose request sits
// on the workload rather than on the template, and configs with a build-time
// selector, have no webhook counterpart and are left out.
func TestGoldenCases(t *testing.T) {
	ran := 0
	for _, c := range golden.Cases(t) {
		if c.Options.Uninject || !c.ForWebhook() {
			continue
		}
		cfg, err := transformer.LoadConfig(c.Config, "config.yaml")
		if err != nil {
			continue // config error cases: the store test covers bad configs
		}
		if c.Options.AnnotationPrefix != "" {
			if err := cfg.SetAnnotationPrefix(c.Options.AnnotationPrefix); err != nil {
				t.Fatal(err)
			}
		}
		if !selectorEmpty(cfg.Selector) {
			continue
		}
		input, err := manifest.Parse(c.Input, c.InputFile)
		if err != nil {
			continue // not parseable as YAML: never reaches a webhook as JSON
		}
		expectedData, expErr := readCaseFile(c, c.ExpectedFile)
		expectedData = golden.WithoutAnchorForms(expectedData)
		errorsData, _ := readCaseFile(c, "errors.txt")
		reportData, _ := readCaseFile(c, "report.txt")
		var expected *manifest.Stream
		if expErr == nil {
			if expected, err = manifest.Parse(expectedData, c.ExpectedFile); err != nil {
				t.Fatalf("%s: %s: %v", c.Name, c.ExpectedFile, err)
			}
		}
		h := testHandler(NewInjector(cfg))
		for i, doc := range input.Docs {
			if doc.Node == nil {
				continue
			}
			if strings.Contains(c.Name, "alias-bomb") {
				continue // JSON has no aliases
			}
			pod, prefix, ok := podOf(t, asSent(t, doc), cfg)
			if !ok {
				continue
			}
			if prefix != "" && hasAnnotation(doc.Node.YNode(), cfg.InjectAnnotation()) {
				continue // asked on the workload: no webhook counterpart
			}
			name := fmt.Sprintf("%s/%d", c.Name, i)
			t.Run(name, func(t *testing.T) {
				ran++
				resp := admitPod(t, h, pod, false)
				switch {
				case expected != nil:
					// A template injected at build time is kept, unless its
					// status is not true of it (build time then reports it
					// as injected afresh).
					want := pod
					if !hasAnnotation(templateMeta(doc.Node.YNode(), prefix), cfg.StatusAnnotation()) ||
						reportedInjected(string(reportData), doc.Line) {
						want, _, _ = podOf(t, asSent(t, expected.Docs[i]), cfg)
					}
					if !resp.Allowed {
						t.Fatalf("denied: %s", resp.Result.Message)
					}
					got := applyPatch(t, pod, resp.Patch)
					if !jsonEqual(t, got, want) {
						t.Errorf("webhook result differs from expected.yaml\n got: %s\nwant: %s\npatch: %s", got, want, resp.Patch)
					}
					if msg := patchtest.Wholesale(t, pod, resp.Patch); msg != "" {
						t.Errorf("patch not minimal: %s\n%s", msg, resp.Patch)
					}
				default:
					want := expectedError(string(errorsData), doc.Node, prefix)
					if want == "" {
						return // the case fails for another resource or at workload level
					}
					if resp.Allowed || resp.Result == nil || resp.Result.Code != 422 {
						t.Fatalf("want a denial for %q, got %+v", want, resp)
					}
					got := strings.ReplaceAll(strings.TrimPrefix(resp.Result.Message, "Pod "+podID(t, pod)+": "), "\nPod "+podID(t, pod)+": ", "\n")
					if got != want {
						t.Errorf("denial\n got: %s\nwant: %s", got, want)
					}
				}
			})
		}
	}
	if ran < 20 {
		t.Errorf("only %d golden pods ran through the webhook; the case filter is too strict", ran)
	}
}

// asSent returns a document as kubectl sends it to the API server: YAML
// aliases and merge keys resolved (JSON has neither).
func asSent(t *testing.T, doc *manifest.Document) *yaml.RNode {
	t.Helper()
	if !usesAnchors(doc.Node.YNode()) {
		return doc.Node
	}
	rn, err := yaml.Parse(string(doc.Raw)) // a tree of its own: DeAnchor edits alias targets
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.DeAnchor(); err != nil {
		t.Fatal(err)
	}
	return rn
}

func usesAnchors(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" || n.Tag == "!!merge" {
		return true
	}
	for _, c := range n.Content {
		if usesAnchors(c) {
			return true
		}
	}
	return false
}

// reportedInjected reports whether report.txt says the document at line was
// injected (not upgraded: its status, if any, was not believed).
func reportedInjected(report string, line int) bool {
	for _, l := range strings.Split(report, "\n") {
		// the origin is "(input.yaml:12)" or "(input.yaml:12, template ...)"
		at := fmt.Sprintf("(input.yaml:%d", line)
		if strings.HasPrefix(l, "injected ") && (strings.Contains(l, at+")") || strings.Contains(l, at+", ")) {
			return true
		}
	}
	return false
}

func readCaseFile(c *golden.Case, name string) ([]byte, error) {
	return readFile(c.Path(name))
}

func selectorEmpty(s v1alpha1.Selector) bool {
	return len(s.Kinds)+len(s.Names)+len(s.Namespaces)+len(s.Labels) == 0
}

// templatePath returns where a kind keeps its pod template; nil for a Pod,
// false for a kind that is not a workload.
func templatePath(cfg *transformer.Config, apiVersion, kind string) ([]string, bool) {
	switch kind {
	case "Pod":
		return nil, apiVersion == "v1"
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		return []string{"spec", "template"}, true
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template"}, true
	}
	for _, ck := range cfg.CustomKinds {
		group, _, _ := strings.Cut(apiVersion, "/")
		if ck.Kind == kind && ck.Group == group {
			return strings.Split(ck.PodTemplatePath, "."), true
		}
	}
	return nil, false
}

// podOf makes a Pod of a workload's template (a Pod stays as it is), as JSON,
// and returns the template's field prefix ("" for a Pod).
func podOf(t *testing.T, rn *yaml.RNode, cfg *transformer.Config) ([]byte, string, bool) {
	t.Helper()
	obj := rn.YNode()
	path, ok := templatePath(cfg, str(obj, "apiVersion"), str(obj, "kind"))
	if !ok {
		return nil, "", false
	}
	if path == nil {
		b, ok := toJSON(obj)
		return b, "", ok
	}
	tmpl := obj
	for _, p := range path {
		if tmpl = yamltree.Get(tmpl, p); tmpl == nil || tmpl.Kind != yaml.MappingNode {
			return nil, "", false
		}
	}
	// A Pod of the template's metadata (with a name) and spec, keys in
	// their order.
	meta := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if m := yamltree.Get(tmpl, "metadata"); m != nil && m.Kind == yaml.MappingNode {
		meta.Content = append(meta.Content, m.Content...)
	}
	scalar := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	meta.Content = append([]*yaml.Node{scalar("name"), scalar(str(yamltree.Get(obj, "metadata"), "name") + "-pod")}, meta.Content...)
	if ns := str(yamltree.Get(obj, "metadata"), "namespace"); ns != "" {
		meta.Content = append(meta.Content, scalar("namespace"), scalar(ns))
	}
	pod := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		scalar("apiVersion"), scalar("v1"), scalar("kind"), scalar("Pod"), scalar("metadata"), meta}}
	if s := yamltree.Get(tmpl, "spec"); s != nil {
		pod.Content = append(pod.Content, scalar("spec"), s)
	}
	b, ok := toJSON(pod)
	return b, strings.Join(path, ".") + ".", ok
}

// toJSON converts YAML to JSON keeping key order, as the API server keeps
// its own field order (kyaml's conversion sorts keys, and the engine's
// equality of an existing item with the config's is order-sensitive).
// Documents with duplicate keys, which no API server sends, are refused.
func toJSON(n *yaml.Node) ([]byte, bool) {
	if _, err := yaml.NewRNode(n).MarshalJSON(); err != nil {
		return nil, false
	}
	b, err := nodejson.Append(nil, n)
	return b, err == nil
}

func templateMeta(obj *yaml.Node, prefix string) *yaml.Node {
	n := obj
	for _, p := range strings.Split(strings.TrimSuffix(prefix, "."), ".") {
		if p != "" {
			n = yamltree.Get(n, p)
		}
	}
	return n
}

func hasAnnotation(obj *yaml.Node, key string) bool {
	return yamltree.Get(yamltree.Get(yamltree.Get(obj, "metadata"), "annotations"), key) != nil
}

func str(m *yaml.Node, key string) string {
	if v := yamltree.Get(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// expectedError finds the workload's error in errors.txt and rewrites it as
// the webhook reports it for the pod: without the resource and with field
// paths relative to the pod. "" when the error is not about the template.
func expectedError(errorsTxt string, rn *yaml.RNode, prefix string) string {
	meta := yamltree.Get(rn.YNode(), "metadata")
	res := str(rn.YNode(), "kind") + " "
	if ns := str(meta, "namespace"); ns != "" {
		res += ns + "/"
	}
	res += str(meta, "name") + " ("
	var out []string
	for _, line := range strings.Split(errorsTxt, "\n") {
		if !strings.HasPrefix(line, res) {
			continue
		}
		rest := line[strings.Index(line, "): ")+3:]
		if prefix != "" {
			if !strings.HasPrefix(rest, prefix) {
				continue // about the workload itself
			}
			rest = strings.ReplaceAll(rest, prefix, "")
		}
		out = append(out, rest)
	}
	return strings.Join(out, "\n")
}

// podID is how the engine names a pod in messages: "ns/name" or "name".
func podID(t *testing.T, pod []byte) string {
	var p struct {
		Metadata struct{ Name, Namespace string }
	}
	if err := json.Unmarshal(pod, &p); err != nil {
		t.Fatal(err)
	}
	if p.Metadata.Namespace == "" {
		return p.Metadata.Name
	}
	return p.Metadata.Namespace + "/" + p.Metadata.Name
}

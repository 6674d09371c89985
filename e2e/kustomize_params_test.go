//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/testio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestKustomizeParameters builds examples/parameters with the real
// kustomize running the function (exec): the workloads come out as the
// CLI writes them (examples/parameters/expected.yaml), and a value out of
// bounds fails the build with the engine's message.
func TestKustomizeParameters(t *testing.T) {
	kustomize := tool(t, "kustomize")
	ex := filepath.Join(root, "examples", "parameters")
	config := execConfig(t, filepath.Join(ex, "config.yaml"))
	app := testio.ReadFile(t, filepath.Join(ex, "app.yaml"))
	expected := testio.ReadFile(t, filepath.Join(ex, "expected.yaml"))
	want := map[string]string{}
	for _, doc := range strings.Split(expected, "\n---\n") {
		rn := yaml.MustParse(doc)
		want[rn.GetName()] = jsonOf(t, rn)
	}
	build := func(resources string) ([]byte, []byte, int) {
		return run(t, kustomization(t, config, resources), nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", ".")
	}
	out := must(t)(build(app))
	docs := strings.Split(string(out), "\n---\n")
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d:\n%s", len(docs), len(want), out)
	}
	for _, doc := range docs {
		rn := yaml.MustParse(doc)
		if got := jsonOf(t, rn); got != want[rn.GetName()] {
			t.Errorf("%s differs from expected.yaml:\n got: %s\nwant: %s", rn.GetName(), got, want[rn.GetName()])
		}
	}

	bad := strings.Replace(app, "sidecar-injector.io/nginx.cpu: 250m", `sidecar-injector.io/nginx.cpu: "2"`, 1)
	_, stderr, code := build(bad)
	msg := `spec.template.metadata.annotations["sidecar-injector.io/nginx.cpu"]: "2" is above the maximum; nginx.cpu takes a quantity from 50m to 1`
	if code == 0 || !strings.Contains(string(stderr), msg) {
		t.Errorf("a value out of bounds: exit %d, stderr:\n%s\nwant the message %s", code, stderr, msg)
	}
}

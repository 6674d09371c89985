//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Each example runs as its README says, on a copy with the freshly built
// binary where the example expects it, and its output is compared with the
// checked-in expected output (UPDATE_GOLDEN=1 rewrites it).

func TestExampleKustomize(t *testing.T) {
	kustomize := tool(t, "kustomize")
	dir, _ := exampleCopy(t, "kustomize")
	out := must(t)(run(t, dir, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "."))
	checkExpected(t, filepath.Join(root, "examples", "kustomize", "expected.yaml"), out)
}

func TestExampleKpt(t *testing.T) {
	kpt := tool(t, "kpt")
	dir, _ := exampleCopy(t, "kpt")
	before := readTree(t, dir, notPackage)
	// kpt resolves an exec path from the directory it runs in.
	must(t)(run(t, dir, nil, kpt, "fn", "render", "--allow-exec"))
	rendered := readTree(t, dir, notPackage)
	if rendered["Kptfile"] != before["Kptfile"] {
		t.Errorf("render changed the Kptfile:\n%s", golden.Diff([]byte(before["Kptfile"]), []byte(rendered["Kptfile"])))
	}
	// expected/ holds the rendered resources, not the Kptfile: with one,
	// kpt would take expected/ for a subpackage and render it too.
	delete(rendered, "Kptfile")
	expectedDir := filepath.Join(root, "examples", "kpt", "expected")
	if golden.Updating() {
		if err := os.RemoveAll(expectedDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(expectedDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range rendered {
		checkExpected(t, filepath.Join(expectedDir, name), []byte(content))
	}
	for name := range readTree(t, expectedDir, nil) {
		if _, ok := rendered[name]; !ok {
			t.Errorf("expected/%s is stale: the package has no such file", name)
		}
	}

	// Rendering again changes nothing.
	must(t)(run(t, dir, nil, kpt, "fn", "render", "--allow-exec"))
	again := readTree(t, dir, notPackage)
	delete(again, "Kptfile")
	if diff := changedLines(t, rendered, again); len(diff) > 0 {
		t.Errorf("a second render changed %v", diff)
	}
}

// notPackage leaves out the files of the kpt example that are not package
// resources (and that kpt ignores through .krmignore).
func notPackage(rel string) bool {
	return rel == "README.md" || rel == ".krmignore" || strings.HasPrefix(rel, "expected"+string(filepath.Separator))
}

// generateCommand is an Argo CD plugin's spec.generate: its command and
// args as one argv.
func generateCommand(t *testing.T, plugin *yaml.RNode) []string {
	t.Helper()
	command, err := plugin.Pipe(yaml.Lookup("spec", "generate", "command"))
	if err != nil || command == nil || len(command.Content()) == 0 {
		t.Fatalf("plugin.yaml has no spec.generate.command: %v", err)
	}
	var words []string
	for _, n := range command.Content() {
		words = append(words, n.Value)
	}
	if args, _ := plugin.Pipe(yaml.Lookup("spec", "generate", "args")); args != nil {
		for _, n := range args.Content() {
			words = append(words, n.Value)
		}
	}
	return words
}

// Argo CD runs the plugin's generate command in the application's
// directory, with the plugin sidecar's PATH: run exactly that command.
func TestExampleArgoCD(t *testing.T) {
	kustomize := tool(t, "kustomize")
	dir, binDir := exampleCopy(t, "argocd")
	plugin := readYAML(t, filepath.Join(dir, "plugin.yaml"))
	words := generateCommand(t, plugin)
	if words[0] != "kustomize" {
		t.Fatalf("plugin.yaml: expected a kustomize command, got %v", words)
	}
	env := pathEnv(binDir, filepath.Dir(kustomize))
	out := must(t)(runEnv(t, filepath.Join(dir, "app"), env, nil, words[0], words[1:]...))
	checkExpected(t, filepath.Join(root, "examples", "argocd", "expected.yaml"), out)

	// The plugin is discovered by the file the application carries.
	discover, _ := plugin.Pipe(yaml.Lookup("spec", "discover", "fileName"))
	if discover == nil {
		t.Fatal("plugin.yaml has no spec.discover.fileName")
	}
	if _, err := os.Stat(filepath.Join(dir, "app", discover.YNode().Value)); err != nil {
		t.Errorf("the application does not carry the plugin's discovery file: %v", err)
	}
}

// The CI job renders the source with the step named "Render": run that
// step's script, as the job does, and compare with the committed render.
func TestExampleFlux(t *testing.T) {
	kustomize := tool(t, "kustomize")
	dir, binDir := exampleCopy(t, "flux")
	workflow := readYAML(t, filepath.Join(dir, "github-workflow.yaml"))
	steps, err := workflow.Pipe(yaml.Lookup("jobs", "render", "steps"))
	if err != nil || steps == nil {
		t.Fatalf("github-workflow.yaml has no jobs.render.steps: %v", err)
	}
	var script string
	for _, step := range steps.Content() {
		rn := yaml.NewRNode(step)
		if name, _ := rn.GetString("name"); name == "Render" {
			script, _ = rn.GetString("run")
		}
	}
	if script == "" {
		t.Fatal("github-workflow.yaml has no step named Render with a run script")
	}
	// Start from no render at all: the step must write it.
	if err := os.Remove(filepath.Join(dir, "deploy", "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	env := pathEnv(binDir, filepath.Dir(kustomize))
	must(t)(runEnv(t, dir, env, nil, "bash", "-e", "-c", script))
	rendered, err := os.ReadFile(filepath.Join(dir, "deploy", "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checkExpected(t, filepath.Join(root, "examples", "flux", "deploy", "shop.yaml"), rendered)

	// The Check step passes on the render, and fails on one edited by hand.
	check := stepScript(t, filepath.Join(dir, "github-workflow.yaml"), "render", "Check")
	must(t)(runEnv(t, dir, env, nil, "bash", "-e", "-c", check))
	edited := strings.Replace(string(rendered), "image: nginx:1.12.2", "image: nginx:1.25.0", 1)
	if err := os.WriteFile(filepath.Join(dir, "deploy", "shop.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := runEnv(t, dir, env, nil, "bash", "-e", "-c", check)
	if code != 1 || !strings.Contains(string(out), ": drifted: ") {
		t.Errorf("Check of a render edited by hand: exit %d\n%s", code, out)
	}

	// Flux applies what CI renders, and nothing that still needs the function.
	docs := readYAMLDocs(t, filepath.Join(dir, "clusters", "production", "shop.yaml"))
	var paths []string
	for _, d := range docs {
		if d.GetKind() == "Kustomization" {
			p, _ := d.GetString("spec.path")
			paths = append(paths, p)
		}
	}
	if len(paths) != 1 || filepath.Clean(paths[0]) != "deploy" {
		t.Errorf("the Flux Kustomization applies %v, want ./deploy", paths)
	}
}

func readYAML(t testing.TB, path string) *yaml.RNode {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := yaml.Parse(string(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rn
}

func readYAMLDocs(t testing.TB, path string) []*yaml.RNode {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*yaml.RNode
	for _, d := range strings.Split(string(data), "\n---\n") {
		rn, err := yaml.Parse(d)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, rn)
	}
	return docs
}

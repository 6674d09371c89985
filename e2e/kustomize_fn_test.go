//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// The function under kustomize: declared in `transformers:` with the exec
// form, run by the kustomize CLI (v5.8.2, installed by hack/install-tools.sh)
// and in-process by kustomize's own krusty.

// kustomization writes a kustomization whose transformer runs the binary
// through a relative exec path, with the nginx proxy and the packet agent.
func kustomization(t *testing.T, config string, resources ...string) string {
	t.Helper()
	dir := t.TempDir()
	copyBinary(t, filepath.Join(dir, "tools", "sidecar-injector"))
	files := map[string]string{
		"kustomization.yaml": "resources:\n- resources.yaml\ntransformers:\n- injector.yaml\n",
		"resources.yaml":     strings.Join(resources, "---\n"),
		"injector.yaml":      config,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const execAnnotation = `  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./tools/sidecar-injector
`

// execConfig reads a config file and declares it, as execAnnotation does,
// a transformer that runs the binary kustomization lays out.
func execConfig(t *testing.T, path string) string {
	t.Helper()
	config, err := yaml.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := config.PipeE(yaml.SetAnnotation("config.kubernetes.io/function", "exec:\n  path: ./tools/sidecar-injector\n")); err != nil {
		t.Fatal(err)
	}
	return config.MustString()
}

// injector is the config as a kustomize transformer: the nginx and packet-capture sets.
var injector = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: sidecars
` + execAnnotation + exampleSets

// The tutorial's ConfigMap works as the transformer's config too, with the
// tutorial's annotations.
var seedConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: sidecar-injector-webhook-configmap
` + execAnnotation + `data:
  annotationPrefix: sidecar-injector-webhook.morven.me
  sidecarconfig.yaml: |
` + fixture.Indent(fixture.NginxSidecar, 4)

func workloadYAML(kind, name, inject string) string {
	template := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  selector:
    matchLabels:
      app: NAME
  template:
    metadata:
      labels:
        app: NAME
      annotations:
        INJECT
    spec:
      containers:
      - name: app
        image: tomcat:9.0
`
	if kind == "Pod" {
		template = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: NAME\n  annotations:\n    INJECT\nspec:\n  containers:\n  - name: app\n    image: tomcat:9.0\n"
	}
	return strings.NewReplacer("NAME", name, "INJECT", inject).Replace(template)
}

// containersOf lists the container names of a built workload.
func containersOf(t *testing.T, out []byte, kind, name string) []string {
	t.Helper()
	for _, doc := range strings.Split(string(out), "\n---\n") {
		rn, err := yaml.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		if rn.GetKind() != kind || rn.GetName() != name {
			continue
		}
		path := []string{"spec", "template", "spec", "containers"}
		if kind == "Pod" {
			path = []string{"spec", "containers"}
		}
		list, err := rn.Pipe(yaml.Lookup(path...))
		if err != nil || list == nil {
			t.Fatalf("%s %s has no containers: %v", kind, name, err)
		}
		names, err := list.ElementValues("name")
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	t.Fatalf("%s %s not in the output:\n%s", kind, name, out)
	return nil
}

func TestKustomizeExecFunction(t *testing.T) {
	kustomize := tool(t, "kustomize")
	build := func(dir string) ([]byte, []byte, int) {
		return run(t, dir, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", ".")
	}

	t.Run("inject", func(t *testing.T) {
		dir := kustomization(t, injector,
			workloadYAML("Deployment", "tomcat", `sidecar-injector.io/inject: "true"`),
			workloadYAML("Deployment", "monitored", `sidecar-injector.io/inject: monitor`),
			workloadYAML("Deployment", "plain", `team: shop`))
		out := must(t)(build(dir))
		for name, want := range map[string]string{
			"tomcat": "app sidecar-nginx", "monitored": "app sidecar-monitor", "plain": "app",
		} {
			if got := strings.Join(containersOf(t, out, "Deployment", name), " "); got != want {
				t.Errorf("%s: containers %q, want %q", name, got, want)
			}
		}
		if again := must(t)(build(dir)); !bytes.Equal(again, out) {
			t.Error("a second build differs")
		}
		// Building its own output again changes nothing.
		if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), out, 0o644); err != nil {
			t.Fatal(err)
		}
		if again := must(t)(build(dir)); !bytes.Equal(again, out) {
			t.Errorf("building the output again changed it:\n%s", again)
		}
	})

	t.Run("tutorial's ConfigMap", func(t *testing.T) {
		dir := kustomization(t, seedConfigMap, workloadYAML("Pod", "sleep", `sidecar-injector-webhook.morven.me/inject: "true"`))
		out := must(t)(build(dir))
		if got := strings.Join(containersOf(t, out, "Pod", "sleep"), " "); got != "app sidecar-nginx" {
			t.Errorf("containers %q", got)
		}
	})

	// kustomize flattens a List into its items before the function runs;
	// the CLI injects inside the List: both give the same items.
	t.Run("a List agrees with the CLI", func(t *testing.T) {
		c := filepath.Join(root, "testdata", "cases", "list-kubectl-get")
		input := testio.ReadFile(t, filepath.Join(c, "input.yaml"))
		out := must(t)(build(kustomization(t, execConfig(t, filepath.Join(c, "config.yaml")), input)))
		built := map[string]string{}
		for _, doc := range strings.Split(string(out), "\n---\n") {
			rn := yaml.MustParse(doc)
			built[rn.GetKind()+"/"+rn.GetName()] = jsonOf(t, rn)
		}
		expected, err := yaml.ReadFile(filepath.Join(c, "expected.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		items, err := expected.Pipe(yaml.Lookup("items"))
		if err != nil {
			t.Fatal(err)
		}
		elements, _ := items.Elements()
		for _, item := range elements {
			key := item.GetKind() + "/" + item.GetName()
			if got, want := built[key], jsonOf(t, item); got != want {
				t.Errorf("%s: kustomize built\n%s\nthe CLI gives\n%s", key, got, want)
			}
		}
		if len(built) != len(elements) {
			t.Errorf("kustomize built %d resources, the List holds %d", len(built), len(elements))
		}
	})

	// Errors fail the build, and kustomize shows what the function wrote
	// on stderr: the resource and the field.
	t.Run("errors", func(t *testing.T) {
		cases := map[string]struct {
			config, resource, want string
		}{
			"typo in the config": {
				strings.Replace(injector, "      ports:", "      prots:", 1),
				workloadYAML("Deployment", "tomcat", `sidecar-injector.io/inject: "true"`),
				"error: config functionConfig: spec.sidecars[0].containers[0].prots: unknown field",
			},
			"unknown set": {
				injector,
				workloadYAML("Deployment", "tomcat", `sidecar-injector.io/inject: mesh`),
				`error: Deployment tomcat: spec.template.metadata.annotations["sidecar-injector.io/inject"]: unknown sidecar set "mesh"`,
			},
		}
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				out, stderr, code := build(kustomization(t, c.config, c.resource))
				if code == 0 {
					t.Fatalf("the build succeeded:\n%s", out)
				}
				if !strings.Contains(string(stderr), c.want) {
					t.Errorf("stderr lacks %q:\n%s", c.want, stderr)
				}
			})
		}
	})
}

// krusty is kustomize's API: the same build in-process, with exec
// functions enabled as --enable-alpha-plugins --enable-exec do.
func TestKustomizeKrusty(t *testing.T) {
	kustomize := tool(t, "kustomize")
	dir := kustomization(t, injector,
		workloadYAML("Deployment", "tomcat", `sidecar-injector.io/inject: "true"`),
		workloadYAML("Deployment", "monitored", `sidecar-injector.io/inject: monitor`))
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // the CLI's default
	opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
	opts.PluginConfig.FnpLoadingOptions.EnableExec = true
	resources, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(containersOf(t, out, "Deployment", "tomcat"), " "); got != "app sidecar-nginx" {
		t.Errorf("tomcat: containers %q", got)
	}
	cli := must(t)(run(t, dir, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "."))
	if !bytes.Equal(out, cli) {
		t.Errorf("krusty and the kustomize CLI differ:\nkrusty:\n%s\ncli:\n%s", out, cli)
	}

	// Without exec enabled, kustomize does not run the function (silently).
	opts.PluginConfig.FnpLoadingOptions.EnableExec = false
	resources, err = krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, err = resources.AsYaml(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(containersOf(t, out, "Deployment", "tomcat"), " "); got != "app" {
		t.Errorf("without exec: tomcat's containers %q, want the function not run", got)
	}
}

// jsonOf renders a resource as JSON, keys sorted: a comparison by meaning.
func jsonOf(t *testing.T, rn *yaml.RNode) string {
	t.Helper()
	b, err := rn.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

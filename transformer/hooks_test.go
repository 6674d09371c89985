package transformer

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

func TestHelmHooksConfig(t *testing.T) {
	injector := func(hooks string) string {
		return "apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n" + hooks +
			"  sidecars: [{name: a, containers: [{name: a, image: a}]}]\n"
	}
	for config, want := range map[string]v1alpha1.HookPolicy{
		injector(""):                      v1alpha1.HooksInject,
		injector("  helmHooks: skip\n"):   v1alpha1.HooksSkip,
		injector("  helmHooks: inject\n"): v1alpha1.HooksInject,
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  helmHooks: inject\n  sidecarconfig.yaml: '{containers: [{name: a, image: a}]}'\n": v1alpha1.HooksInject,
	} {
		cfg, err := LoadConfig([]byte(config), "c.yaml")
		if err != nil {
			t.Fatalf("%s: %v", config, err)
		}
		if cfg.HelmHooks != want {
			t.Errorf("%s: helmHooks %q, want %q", config, cfg.HelmHooks, want)
		}
	}
	_, err := LoadConfig([]byte(injector("  helmHooks: Inject\n")), "c.yaml")
	if want := `config c.yaml:4: spec.helmHooks: expected "inject" or "skip", got "Inject"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestHelmHookGetsRequiredSets: the hook annotation is the chart's, like
// the inject annotation, so helmHooks: skip cannot keep a required set
// out; it drops only the sets the hook asked for.
func TestHelmHookGetsRequiredSets(t *testing.T) {
	cfg, err := LoadConfig([]byte(`apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
spec:
  helmHooks: skip
  sidecars:
  - {name: mesh, default: true, containers: [{name: mesh, image: mesh}]}
  - {name: audit, required: true, native: true, containers: [{name: audit, image: audit}]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, admission := range []bool{false, true} {
		job := yaml.MustParse(`apiVersion: v1
kind: Pod
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install
    sidecar-injector.io/inject: "true"
spec:
  restartPolicy: Never
  containers: [{name: migrate, image: migrate}]
`)
		r, err := (&Injector{Config: cfg, Admission: admission}).Apply(job, "")
		if err != nil {
			t.Fatal(err)
		}
		out := job.MustString()
		if r.Action != Injected || strings.Join(r.Sets, ",") != "audit" || strings.Contains(out, "image: mesh") || !strings.Contains(out, "image: audit") {
			t.Errorf("admission %v: %s\n%s", admission, r, out)
		}
		if want := "(a Helm hook: only the required sets, by helmHooks: skip)"; !strings.Contains(r.String(), want) {
			t.Errorf("report %q lacks %q", r, want)
		}
	}
}

// TestHelmHookInjectedBefore: a hook that was injected (helmHooks: inject)
// loses its sets once the config skips hooks, as a workload that opts out.
func TestHelmHookInjectedBefore(t *testing.T) {
	load := func(hooks string) *Config {
		cfg, err := LoadConfig([]byte("apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  helmHooks: "+hooks+
			"\n  sidecars: [{name: a, default: true, containers: [{name: a, image: a}]}]\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	pod := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test, sidecar-injector.io/inject: 'true'}\nspec:\n  containers: [{name: app, image: app}]\n")
	before := pod.MustString()
	if r, err := (&Injector{Config: load("inject")}).Apply(pod, ""); err != nil || r.Action != Injected {
		t.Fatalf("%v %v", r, err)
	}
	r, err := (&Injector{Config: load("skip")}).Apply(pod, "")
	if err != nil || r.Action != Uninjected || r.Reason != HelmHook {
		t.Fatalf("%v %v", r, err)
	}
	if pod.MustString() != before {
		t.Errorf("not back to the original:\n%s", pod.MustString())
	}
}

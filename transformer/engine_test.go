package transformer

import (
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestLoadConfigForms(t *testing.T) {
	cases := map[string]struct {
		config      string
		prefix      string
		sets        []string
		defaultSets []string
	}{
		"SidecarInjector": {`apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: x
  annotations:
    config.kubernetes.io/local-config: "true"
    internal.config.kubernetes.io/path: fn-config.yaml
spec:
  annotationPrefix: example.com
  sidecars:
  - {name: a, default: true, containers: [{name: a, image: a}]}
  - {name: b, containers: [{name: b, image: b}]}
`, "example.com", []string{"a", "b"}, []string{"a"}},
		"tutorial's ConfigMap": {fixture.PacketAgentConfigMap, DefaultAnnotationPrefix, []string{"default"}, []string{"default"}},
		"ConfigMap with settings": {`apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  annotationPrefix: sidecar-injector-webhook.morven.me
  policy: enabled
  sidecarconfig.yaml: '{containers: [{name: s, image: s}]}'
`, "sidecar-injector-webhook.morven.me", []string{"default"}, []string{"default"}},
		"tutorial's bare file": {`containers:
- name: sidecar-nginx
  image: nginx:1.12.2
volumes:
- name: nginx-conf
  configMap: {name: nginx-configmap}
`, DefaultAnnotationPrefix, []string{"default"}, []string{"default"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadConfig([]byte(tc.config), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AnnotationPrefix != tc.prefix {
				t.Errorf("prefix %q, want %q", cfg.AnnotationPrefix, tc.prefix)
			}
			if got := setNames(cfg.Sets); strings.Join(got, ",") != strings.Join(tc.sets, ",") {
				t.Errorf("sets %v, want %v", got, tc.sets)
			}
			if got := setNames(cfg.DefaultSets()); strings.Join(got, ",") != strings.Join(tc.defaultSets, ",") {
				t.Errorf("default sets %v, want %v", got, tc.defaultSets)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct{ config, want string }{
		"two documents":      {"containers: [{name: a, image: a}]\n---\nb: 1\n", "more than one YAML document"},
		"not a map":          {"- a\n", "expected a map, got a list"},
		"ConfigMap no data":  {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "data: missing"},
		"ConfigMap no key":   {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {other: x}\n", "unknown field"},
		"bad inner YAML":     {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  sidecarconfig.yaml: 'a: [1'\n", `data["sidecarconfig.yaml"]: invalid YAML`},
		"inner typo line":    {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  sidecarconfig.yaml: |\n    containers:\n    - name: a\n      imag: a\n", `config c.yaml:8: data["sidecarconfig.yaml"].containers[0].imag: unknown field`},
		"wrong apiVersion":   {"apiVersion: v1\nkind: SidecarInjector\nspec: {sidecars: []}\n", "apiVersion: expected sidecar-injector.io/v1alpha1"},
		"no sets":            {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec: {}\n", "spec.sidecars: list at least one sidecar set"},
		"enabled no default": {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  policy: enabled\n  sidecars: [{name: a, containers: [{name: a, image: a}]}]\n", "no set has default: true"},
		"reserved key":       {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  sidecars: [{name: a, annotations: {sidecar-injector.io/status: x}}]\n", "reserved for the injector"},
		"labels disagree":    {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  sidecars:\n  - {name: a, labels: {mesh: a}}\n  - {name: b, labels: {mesh: b}}\n", `spec.sidecars[1].labels.mesh: "b" differs from the value "a" at spec.sidecars[0].labels.mesh`},
		"sets disagree":      {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  sidecars:\n  - {name: a, volumes: [{name: v, emptyDir: {}}]}\n  - {name: b, volumes: [{name: v, secret: {secretName: s}}]}\n", `spec.sidecars[1].volumes[0]: name "v" differs from the one at spec.sidecars[0].volumes[0]`},
		"custom kind path":   {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  customKinds: [{group: g, kind: K, podTemplatePath: spec..template}]\n  sidecars: [{name: a, containers: [{name: a, image: a}]}]\n", "has an empty segment"},
		"builtin as custom":  {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  customKinds: [{group: apps, kind: Deployment, podTemplatePath: spec.template}]\n  sidecars: [{name: a, containers: [{name: a, image: a}]}]\n", "Deployment is built in"},
		"native restart":     {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  sidecars: [{name: a, native: true, containers: [{name: a, image: a, restartPolicy: Never}]}]\n", "a native sidecar runs with restartPolicy Always"},
		"bad label value":    {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  sidecars: [{name: a, labels: {x: 'has space'}}]\n", "invalid label value"},
		"bad glob":           {"apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\nspec:\n  selector: {names: ['[']}\n  sidecars: [{name: a, containers: [{name: a, image: a}]}]\n", "bad pattern"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig([]byte(tc.config), "c.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSetAnnotationPrefix(t *testing.T) {
	cfg, err := LoadConfig([]byte("containers: [{name: a, image: a}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetAnnotationPrefix("Not A Prefix"); err == nil {
		t.Error("invalid prefix accepted")
	}
	if err := cfg.SetAnnotationPrefix("sidecar-injector-webhook.morven.me"); err != nil || cfg.InjectAnnotation() != "sidecar-injector-webhook.morven.me/inject" {
		t.Errorf("prefix not set: %v %q", err, cfg.InjectAnnotation())
	}
}

func TestConcerned(t *testing.T) {
	optIn, _ := LoadConfig([]byte("containers: [{name: a, image: a}]\n"), "c.yaml")
	enabled, _ := LoadConfig([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  policy: enabled\n  sidecarconfig.yaml: '{containers: [{name: a, image: a}]}'\n"), "c.yaml")
	status := map[string]string{"sidecar-injector.io/status": "{}"}
	cases := []struct {
		name string
		in   Injector
		ann  map[string]string
		want bool
	}{
		{"opt-in, nothing", Injector{Config: optIn}, nil, false},
		{"opt-in, true", Injector{Config: optIn}, map[string]string{"sidecar-injector.io/inject": "true"}, true},
		{"opt-in, set name", Injector{Config: optIn}, map[string]string{"sidecar-injector.io/inject": "default"}, true},
		{"opt-in, False", Injector{Config: optIn}, map[string]string{"sidecar-injector.io/inject": " False "}, false},
		{"enabled, nothing", Injector{Config: enabled}, nil, true},
		{"enabled, false", Injector{Config: enabled}, map[string]string{"sidecar-injector.io/inject": "false"}, false},
		{"injected, webhook", Injector{Config: enabled, Admission: true}, status, true},
		{"injected, build time", Injector{Config: optIn}, status, true},
		{"uninject, injected", Injector{Config: optIn, Uninject: true}, status, true},
		{"uninject, not injected", Injector{Config: optIn, Uninject: true}, nil, false},
	}
	for _, tc := range cases {
		if got := tc.in.Concerned(tc.ann); got != tc.want {
			t.Errorf("%s: Concerned = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConcernedAgreesWithApply: the webhook's pre-check never says "not
// concerned" for a pod that Apply would change.
func TestConcernedAgreesWithApply(t *testing.T) {
	for _, policy := range []string{"opt-in", "enabled"} {
		cfg, err := LoadConfig([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  policy: "+policy+"\n  sidecarconfig.yaml: '{containers: [{name: s, image: s}]}'\n"), "c.yaml")
		if err != nil {
			t.Fatal(err)
		}
		for _, ann := range []string{"", "sidecar-injector.io/inject: 'true'", "sidecar-injector.io/inject: 'false'", "sidecar-injector.io/inject: default", "other: x"} {
			pod := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {" + ann + "}\nspec:\n  containers: [{name: app, image: app}]\n")
			in := &Injector{Config: cfg, Admission: true}
			concerned := in.Concerned(pod.GetAnnotations())
			r, err := in.Apply(pod, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Action.Changed() && !concerned {
				t.Errorf("policy %s, annotations {%s}: Apply changed the pod but Concerned said no", policy, ann)
			}
		}
	}
}

// TestFilterAllOrNothing: one bad resource and the Filter changes none.
func TestFilterAllOrNothing(t *testing.T) {
	cfg, _ := LoadConfig([]byte("containers: [{name: s, image: s}]\n"), "c.yaml")
	good := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: good\n  annotations: {sidecar-injector.io/inject: 'true'}\nspec:\n  containers: [{name: app, image: app}]\n")
	bad := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  annotations: {sidecar-injector.io/inject: 'true'}\nspec:\n  containers: {}\n")
	before := good.MustString()
	in := &Injector{Config: cfg}
	if _, err := in.Filter([]*yaml.RNode{good, bad}); err == nil || !strings.Contains(err.Error(), "Pod bad") {
		t.Fatalf("error = %v", err)
	}
	if good.MustString() != before {
		t.Error("the good resource was changed although the run failed")
	}
	if _, err := (&Injector{Config: cfg}).Filter([]*yaml.RNode{good}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(good.MustString(), "name: s") {
		t.Error("not injected")
	}
}

// Example shows the engine as a kio.Filter, the way every front uses it.
func Example() {
	cfg, err := LoadConfig([]byte(`apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: agent}
spec:
  sidecars:
  - name: monitor
    default: true
    containers:
    - name: sidecar-monitor
      image: docker.io/s1240zsw/centos-packet-agent:v1
      stdin: true
      tty: true
`), "config.yaml")
	if err != nil {
		panic(err)
	}
	in := &Injector{Config: cfg}
	var out strings.Builder
	err = kio.Pipeline{
		Inputs: []kio.Reader{&kio.ByteReader{Reader: strings.NewReader(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  template:
    metadata:
      annotations:
        sidecar-injector.io/inject: "true"
    spec:
      containers:
      - name: nginx
        image: nginx:1.7.9
`), OmitReaderAnnotations: true}},
		Filters: []kio.Filter{in},
		Outputs: []kio.Writer{kio.ByteWriter{Writer: &out}},
	}.Execute()
	if err != nil {
		panic(err)
	}
	fmt.Print(out.String())
	fmt.Print(Report(in.Results))
	// Output:
	// apiVersion: apps/v1
	// kind: Deployment
	// metadata:
	//   name: nginx-deployment
	// spec:
	//   template:
	//     metadata:
	//       annotations:
	//         sidecar-injector.io/inject: "true"
	//         sidecar-injector.io/status: '{"sets":["monitor"],"digest":"sha256:e2457b09a8cb0983","containers":{"sidecar-monitor":"0cad2472af62"}}'
	//     spec:
	//       containers:
	//       - name: nginx
	//         image: nginx:1.7.9
	//       - name: sidecar-monitor
	//         image: docker.io/s1240zsw/centos-packet-agent:v1
	//         stdin: true
	//         tty: true
	// injected   Deployment nginx-deployment: monitor
	// sidecar-injector: 1 injected
}

// TestConfigAliasesExpanded: anchors and merge keys in a config are expanded
// in the injected items (an alias left behind would be invalid YAML), and
// the caller's tree keeps its anchors.
func TestConfigAliasesExpanded(t *testing.T) {
	for name, config := range map[string]string{
		"SidecarInjector": `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: x}
spec:
  sidecars:
  - name: a
    default: true
    containers:
    - &common
      name: a
      image: a:1
      imagePullPolicy: IfNotPresent
      env: &envs
      - {name: MODE, value: prod}
    - <<: *common
      name: b
      env: []
    env: *envs
`,
		"ConfigMap": `apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  sidecarconfig.yaml: |
    containers:
    - name: a
      image: a:1
      env: &envs [{name: MODE, value: prod}]
    env: *envs
`,
	} {
		t.Run(name, func(t *testing.T) {
			src := yaml.MustParse(config)
			before := src.MustString()
			cfg, err := ParseConfig(src, "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if src.MustString() != before {
				t.Error("parsing changed the caller's config tree")
			}
			pod := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar-injector.io/inject: 'true'}\nspec:\n  containers: [{name: app, image: app}]\n")
			if _, err := (&Injector{Config: cfg}).Apply(pod, ""); err != nil {
				t.Fatal(err)
			}
			out := pod.MustString()
			if strings.ContainsAny(out, "*&") || strings.Contains(out, "<<") {
				t.Fatalf("aliases left in the output:\n%s", out)
			}
			want := map[string]int{"SidecarInjector": 2, "ConfigMap": 2}[name]
			if _, err := yaml.Parse(out); err != nil || strings.Count(out, "name: MODE") != want {
				t.Fatalf("bad output (%v):\n%s", err, out)
			}
			if name == "SidecarInjector" && strings.Count(out, "imagePullPolicy: IfNotPresent") != 2 {
				t.Errorf("merge key not expanded:\n%s", out)
			}
		})
	}
}

// TestInjectAnnotationMustBeAString: `inject: true` unquoted is a boolean,
// which the API server would refuse in metadata.annotations.
func TestInjectAnnotationMustBeAString(t *testing.T) {
	cfg, _ := LoadConfig([]byte("containers: [{name: s, image: s}]\n"), "c.yaml")
	pod := yaml.MustParse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar-injector.io/inject: true}\nspec:\n  containers: [{name: app, image: app}]\n")
	_, err := (&Injector{Config: cfg}).Apply(pod, "")
	if err == nil || !strings.Contains(err.Error(), `expected a string, got a boolean (quote it: "true"`) {
		t.Errorf("error = %v", err)
	}
}

// TestExistingSidecarWithDefaults: a pod that already has the config's
// sidecar, as the API server returns it (defaults added, keys reordered),
// keeps it as its own instead of conflicting.
func TestExistingSidecarWithDefaults(t *testing.T) {
	cfg, _ := LoadConfig([]byte("containers: [{name: s, image: 's:1', ports: [{containerPort: 80}]}]\nvolumes: [{name: v, configMap: {name: c}}]\n"), "c.yaml")
	pod := yaml.MustParse(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"sidecar-injector.io/inject": "true"}},
  "spec": {"containers": [{"name": "app", "image": "app"},
    {"image": "s:1", "name": "s", "ports": [{"containerPort": 80, "protocol": "TCP"}], "terminationMessagePath": "/dev/termination-log"}],
   "volumes": [{"name": "v", "configMap": {"name": "c", "defaultMode": 420}}]}}`)
	r, err := (&Injector{Config: cfg}).Apply(pod, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Kept, ", "); got != "container s" {
		t.Errorf("kept %q, want the container; volume v is covered silently", got)
	}
	if out := pod.MustString(); strings.Count(out, `"name": "s"`) != 1 || !strings.Contains(out, `{"sets":["default"],"digest":"sha256:38eeaa0ff38130c8"}`) {
		t.Errorf("the pod's own sidecar was not kept as it is:\n%s", out)
	}
}

// TestHugeInputsStayLinear guards against hangs, not speed: every step the
// engine takes on a resource must be linear in its size, whatever a
// hand-edited status says. It compares the work at two sizes, never a
// duration: linear code does about twice the work at twice the size,
// quadratic code four times. Work is counted as allocations (exact) and as
// the process's CPU time (which a loaded machine slows at both sizes
// alike; the best of three runs, to drop noise).
func TestHugeInputsStayLinear(t *testing.T) {
	// the config adds an env var and a mount to every app container
	cfg, err := LoadConfig([]byte("containers: [{name: s, image: s}]\nvolumes: [{name: v, emptyDir: {}}]\n"+
		"env: [{name: INJECTED, value: x}]\nvolumeMounts: [{name: v, mountPath: /injected}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("status and keys", func(t *testing.T) { checkLinear(t, cfg, hugePod, 2_500) })
	t.Run("containers", func(t *testing.T) { checkLinear(t, cfg, manyContainers, 5_000) })
	// A pod whose aliases expand past maxExpandedNodes (here 1,800
	// containers) is refused: 600 and 1,200 expand to some 66,000 nodes.
	t.Run("anchors", func(t *testing.T) { checkLinear(t, cfg, hugeAnchoredPod, 600) })
}

// checkLinear runs a pod of sizes n and 2n both ways and compares the work.
func checkLinear(t *testing.T, cfg *Config, makePod func(n int) []byte, n int) {
	work := func(n int) (mallocs uint64, cpu time.Duration) {
		pod := makePod(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := cpuTime()
		for _, uninject := range []bool{false, true} {
			if _, _, _, err := runStream(cfg, pod, "huge.yaml", uninject); err != nil {
				t.Fatal(err)
			}
		}
		cpu = cpuTime() - start
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs, cpu
	}
	best := 100.0
	for range 3 {
		smallAllocs, smallCPU := work(n)
		largeAllocs, largeCPU := work(2 * n)
		if ratio := float64(largeAllocs) / float64(smallAllocs); ratio > 2.6 {
			t.Fatalf("twice the size made %.1f times the allocations (%d -> %d): something is quadratic", ratio, smallAllocs, largeAllocs)
		}
		best = min(best, float64(largeCPU)/float64(smallCPU))
		t.Logf("twice the size: %.2f times the allocations, %.2f times the CPU time", float64(largeAllocs)/float64(smallAllocs), best)
		if best < 2.8 {
			return
		}
	}
	t.Errorf("twice the size took %.1f times the CPU time at best: something is quadratic", best)
}

// manyContainers is a small pod of n app containers: any step that looks
// up each container's items in the whole pod is quadratic here.
func manyContainers(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: many\n  annotations: {sidecar-injector.io/inject: 'true'}\nspec:\n  containers:\n")
	for c := range n {
		fmt.Fprintf(&b, "  - {name: c%d, image: x}\n", c)
	}
	return []byte(b.String())
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hugeAnchoredPod is a pod with n containers that share their settings
// through a merge key and aliases of one env list and one mount list,
// which every container's injected env and mount change.
func hugeAnchoredPod(n int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n  labels: &labels {app: huge}\n  annotations:\n    sidecar-injector.io/inject: 'true'\n")
	b.WriteString("spec:\n  containers:\n  - &base\n    name: app\n    image: app\n    env: &env [{name: A, value: x}, {name: B, value: y}]\n    volumeMounts: &mounts [{name: v, mountPath: /v}]\n")
	for c := range n {
		fmt.Fprintf(&b, "  - <<: *base\n    name: c%d\n    env: *env\n    volumeMounts: *mounts\n    resources: &r%d {limits: {cpu: 1m}}\n", c, c)
	}
	b.WriteString("  volumes: [{name: v, emptyDir: {}}]\n")
	return []byte(b.String())
}

// hugePod is a pod with n annotations and n containers, each with two env
// vars and a mount, and a status that lists n containers, n volumes, and an
// env var and a mount of each container, none of which the pod holds. Any
// step that looks up status items in the pod's lists one by one is
// quadratic here.
func hugePod(n int) []byte {
	var b strings.Builder
	sep := func(i int) string {
		if i > 0 {
			return ","
		}
		return ""
	}
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: huge\n  annotations:\n    sidecar-injector.io/inject: 'true'\n")
	b.WriteString(`    sidecar-injector.io/status: '{"sets":["default"],"digest":"x","containers":{`)
	for i := range n {
		fmt.Fprintf(&b, `%s"gone-%d":"000000000000"`, sep(i), i)
	}
	b.WriteString(`},"volumes":[`)
	for i := range n {
		fmt.Fprintf(&b, `%s"v%d"`, sep(i), i)
	}
	b.WriteString(`],"env":{`)
	for c := range n {
		fmt.Fprintf(&b, `%s"c%d":{"GONE":"000000000000"}`, sep(c), c)
	}
	b.WriteString(`},"volumeMounts":{`)
	for c := range n {
		fmt.Fprintf(&b, `%s"c%d":{"/gone":"000000000000"}`, sep(c), c)
	}
	b.WriteString("}}'\n")
	for i := range n {
		fmt.Fprintf(&b, "    key-%d: v\n", i)
	}
	b.WriteString("spec:\n  containers:\n  - {name: app, image: app}\n")
	for c := range n {
		fmt.Fprintf(&b, "  - {name: c%d, image: x, env: [{name: A, value: x}, {name: B, value: y}], volumeMounts: [{name: v, mountPath: /v}]}\n", c)
	}
	b.WriteString("  volumes: [{name: v, emptyDir: {}}]\n")
	return []byte(b.String())
}

// TestSameValueIsUnchanged: a manifest whose injected item says 420 where
// the config says 0644 (JSON has no octal; a JSON file is written back with
// 420) is unchanged, not "upgraded" on every run.
func TestSameValueIsUnchanged(t *testing.T) {
	cfg, err := LoadConfig([]byte("containers: [{name: s, image: 's:1'}]\nvolumes: [{name: v, configMap: {name: c, defaultMode: 0644}}]\n"), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pod := yaml.MustParse(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"sidecar-injector.io/inject": "true"}}, "spec": {"containers": [{"name": "a", "image": "a"}]}}`)
	if _, err := (&Injector{Config: cfg}).Apply(pod, ""); err != nil {
		t.Fatal(err)
	}
	json := strings.Replace(pod.MustString(), "defaultMode: 0644", "defaultMode: 420", 1)
	if json == pod.MustString() {
		t.Fatalf("test pod not as expected:\n%s", json)
	}
	again := yaml.MustParse(json)
	r, err := (&Injector{Config: cfg}).Apply(again, "")
	if err != nil || r.Action != Unchanged {
		t.Errorf("second run: %v, %s; want unchanged", err, r.Action)
	}
}

// TestListAliasesAcrossItems: each item of a List is injected on its own,
// so an alias naming a node in another item (whose edit would change what
// the alias means) is refused; aliases inside one item are fine.
func TestListAliasesAcrossItems(t *testing.T) {
	cfg, _ := LoadConfig([]byte("containers: [{name: s, image: s}]\n"), "c.yaml")
	across := yaml.MustParse(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, annotations: &ann {sidecar-injector.io/inject: "true"}}
  spec: {containers: [{name: app, image: app}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: b, annotations: *ann}
  spec: {containers: [{name: app, image: app}]}
`)
	before := across.MustString()
	_, err := (&Injector{Config: cfg}).ApplyDocument(across, func(*yaml.Node) string { return "list.yaml" })
	if err == nil || !strings.Contains(err.Error(), "List <no name> (list.yaml): items: the YAML alias *ann names a node outside its item") {
		t.Errorf("err = %v", err)
	}
	if across.MustString() != before {
		t.Error("the List was changed")
	}
	within := yaml.MustParse(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: a, labels: &l {app: a}, annotations: {sidecar-injector.io/inject: "true"}}
  spec: {containers: [{name: app, image: app}]}
  x-copy: *l
`)
	if _, err := (&Injector{Config: cfg}).ApplyDocument(within, func(*yaml.Node) string { return "list.yaml" }); err != nil {
		t.Errorf("aliases within an item: %v", err)
	}
}

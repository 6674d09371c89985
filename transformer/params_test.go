package transformer

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
)

// paramPod asks for the fuzz config's tune set, with parameter annotations
// given as key: value lines (values quoted by the caller).
func paramPod(annotations map[string]string) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar-injector.io/inject: tune\n")
	for k, v := range annotations {
		fmt.Fprintf(&b, "    sidecar-injector.io/tune.%s: %s\n", k, yamlQuote(v))
	}
	b.WriteString("spec:\n  containers:\n  - name: app\n    image: app:1\n    resources: {requests: {cpu: 300m}}\n")
	return []byte(b.String())
}

// yamlQuote writes s as a YAML double-quoted scalar.
func yamlQuote(s string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tagStr, Value: s, Style: yaml.DoubleQuotedStyle}
	out, err := yaml.String(n)
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(out, "\n")
}

// resetParams writes the defaults back at every declared path of a set's
// items as found in a pod, so that what remains can be compared with the
// config's items: a value must change nothing else.
func resetParams(t *testing.T, s *SidecarSet, pod *yaml.Node) {
	t.Helper()
	spec := mapGet(pod, "spec")
	for _, prm := range s.Parameters {
		for _, tg := range prm.targets {
			var item *yaml.Node
			switch tg.list {
			case "containers":
				item = findItem(mapGet(spec, "containers"), "name", itemName(s.Containers[tg.index]))
			case "env":
				item = findItem(mapGet(findItem(mapGet(spec, "containers"), "name", "app"), "env"), "name", itemName(s.Env[tg.index]))
			}
			if item == nil {
				t.Fatalf("%s: no item for %s", prm.Name, tg.list)
			}
			if err := tg.write(item, prm, prm.Default); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestParamValuesStayInTheirFields(t *testing.T) {
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hostile := []string{
		`x" , "evil": "y`, "a: b", "- item", "{a: 1}", "[1, 2]", "*alias", "&anchor x", "!!binary aGk=", "# comment",
		"on", "yes", "1:20", "null", "~", "true", "0x10", "1e3", "'", `"`, `\`, "a\u00a0b", "ünïcødé", "<<",
	}
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			in := paramPod(map[string]string{"mode": v})
			out, _, _, err := runStream(cfg, in, "pod.yaml", false)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			rn, err := yaml.Parse(string(out))
			if err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, out)
			}
			tuned := findItem(mapGet(mapGet(rn.YNode(), "spec"), "containers"), "name", "tuned")
			got := findItem(mapGet(tuned, "env"), "name", "MODE")
			if n := mapGet(got, "value"); n == nil || n.ShortTag() != tagStr || n.Value != v {
				t.Fatalf("MODE is %+v, want the string %q\n%s", n, v, out)
			}
			resetParams(t, cfg.Set("tune"), rn.YNode())
			tuned = findItem(mapGet(mapGet(rn.YNode(), "spec"), "containers"), "name", "tuned")
			want := cfg.Set("tune").Containers[0]
			if !yamltree.Equal(tuned, want) {
				t.Fatalf("the value changed more than its field:\n%s", out)
			}
		})
	}
}

func TestParamValueRefusals(t *testing.T) {
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		annotations map[string]string
		want        string
	}{
		"newline":      {map[string]string{"mode": "a\nb"}, "holds a control or format character"},
		"above max":    {map[string]string{"level": "100"}, `"100" is above the maximum; tune.level takes an integer from -5 to 99`},
		"not in enum":  {map[string]string{"image": "evil:1"}, `tune.image takes one of "tuned:1", "tuned:2"`},
		"not boolean":  {map[string]string{"debug": "True"}, `"True" is not a boolean`},
		"undeclared":   {map[string]string{"memory": "1Gi"}, `set tune declares no parameter "memory"; it declares: cpu, mode, level, debug, image`},
		"not quantity": {map[string]string{"cpu": "1 cpu"}, `"1 cpu" is not a quantity`},
		// apimachinery would expand it into a billion digits to compare it
		"huge exponent": {map[string]string{"cpu": "1e1000000000"}, `"1e1000000000" is not a quantity`},
		"too long":      {map[string]string{"mode": strings.Repeat("x", maxParamValue+1)}, "a parameter value is at most 1024"},
	} {
		t.Run(name, func(t *testing.T) {
			in := paramPod(tc.annotations)
			_, _, _, err := runStream(cfg, in, "pod.yaml", false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "Pod p (pod.yaml:1): metadata.annotations[\"sidecar-injector.io/tune.") {
				t.Fatalf("the error does not name the pod, file and annotation: %v", err)
			}
		})
	}
}

// An integer written into an integer field is a number; into a string
// field (an env var's value), a quoted string.
func TestParamIntegerFields(t *testing.T) {
	config := func(def int) []byte {
		return fmt.Appendf(nil, `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: p}
spec:
  sidecars:
  - name: web
    containers:
    - name: web-proxy
      image: proxy:1
      ports: [{containerPort: 80}]
      env: [{name: PORT, value: "80"}]
    parameters:
    - name: port
      type: integer
      default: %d
      min: 1024
      max: 65535
      paths: ["containers.[name=web-proxy].ports.[containerPort=80].containerPort", "containers.[name=web-proxy].env.[name=PORT].value"]
`, def)
	}
	_, err := LoadConfig(config(80), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), `"80" is below the minimum`) {
		t.Fatalf("a default outside its bounds: got %v", err)
	}
	cfg, err := LoadConfig(config(8080), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar-injector.io/inject: web\n    sidecar-injector.io/web.port: \"9090\"\nspec:\n  containers:\n  - name: app\n    image: app:1\n")
	out, _, _, err := runStream(cfg, in, "pod.yaml", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"{containerPort: 9090}", `value: "9090"}`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// loadSets loads a SidecarInjector config whose spec.sidecars holds sets,
// the list's items written at column 0.
func loadSets(t *testing.T, sets string) *Config {
	t.Helper()
	cfg, err := LoadConfig([]byte("apiVersion: sidecar-injector.io/v1alpha1\nkind: SidecarInjector\n"+
		"metadata: {name: test}\nspec:\n  sidecars:\n"+fixture.Indent(sets, 2)), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// withAndWithoutParams loads fuzzConfig without its set that declares
// parameters (tune), and whole.
func withAndWithoutParams(t *testing.T) (plain, withParams *Config) {
	t.Helper()
	base := strings.SplitN(fuzzConfig, "  - name: tune\n", 2)[0]
	plain, err := LoadConfig([]byte(base), "plain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	withParams, err = LoadConfig([]byte(fuzzConfig), "params.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return plain, withParams
}

// A config without parameters is as before: its digests do not change
// when parameters are added to another set.
func TestParamsLeaveOtherSetsAlone(t *testing.T) {
	a, b := withAndWithoutParams(t)
	for _, name := range a.SetNames() {
		if Digest([]*SidecarSet{a.Set(name)}) != Digest([]*SidecarSet{b.Set(name)}) {
			t.Errorf("set %s: digest changed", name)
		}
	}
}

// FuzzParams: whatever values the annotations hold, inject refuses them or
// writes each into its declared fields only, as a string that reads back
// the same; the output is idempotent and uninject gives back the input.
func FuzzParams(f *testing.F) {
	for _, seed := range [][5]string{
		{"250m", "fast", "3", "true", "tuned:2"},
		{"3", `a": b`, "-5", "false", "tuned:1"},
		{"0.5", "- x", "99", "yes", "evil:1"},
		{"1e3", "on", "007", "TRUE", ""},
		{"", "", "", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cpu, mode, level, debug, image string) {
		annotations := map[string]string{}
		for k, v := range map[string]string{"cpu": cpu, "mode": mode, "level": level, "debug": debug, "image": image} {
			if !utf8.ValidString(v) || len(v) > 4<<10 {
				return // a YAML file holds only UTF-8
			}
			if v != "" {
				annotations[k] = v
			}
		}
		in := paramPod(annotations)
		out, _, _, err := runStream(cfg, in, "pod.yaml", false)
		if err != nil {
			return
		}
		rn, err := yaml.Parse(string(out))
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		if v, ok := annotations["mode"]; ok {
			tuned := findItem(mapGet(mapGet(rn.YNode(), "spec"), "containers"), "name", "tuned")
			if got := scalarString(mapGet(findItem(mapGet(tuned, "env"), "name", "MODE"), "value")); got != strings.TrimSpace(v) {
				t.Fatalf("MODE is %q, the annotation %q", got, v)
			}
		}
		resetParams(t, cfg.Set("tune"), rn.YNode())
		tuned := findItem(mapGet(mapGet(rn.YNode(), "spec"), "containers"), "name", "tuned")
		if !yamltree.Equal(tuned, cfg.Set("tune").Containers[0]) {
			t.Fatalf("a value changed more than its fields:\n%s", out)
		}
		again, _, _, err := runStream(cfg, out, "pod.yaml", false)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent (%v):\n%s\n%s", err, out, again)
		}
		back, _, _, err := runStream(cfg, out, "pod.yaml", true)
		if err != nil || !bytes.Equal(back, in) {
			t.Fatalf("uninject (%v) did not give back the input:\n%s\n%s", err, in, back)
		}
	})
}

// A config without parameters reads no <prefix>/<set>.* annotation, as
// before parameters existed; with parameters, an annotation naming none is
// an error, and a pod with thousands of them gets a bounded message.
func TestUndeclaredParams(t *testing.T) {
	plain, withParams := withAndWithoutParams(t)
	pod := `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    sidecar-injector.io/inject: nginx
    sidecar-injector.io/nginx.cpu: "1"
spec:
  containers:
  - name: app
    image: app:1
`
	if _, _, _, err := runStream(plain, []byte(pod), "pod.yaml", false); err != nil {
		t.Errorf("a config without parameters: %v", err)
	}
	_, _, _, err := runStream(withParams, []byte(pod), "pod.yaml", false)
	if err == nil || !strings.Contains(err.Error(), `set nginx declares no parameter "cpu"; it declares none`) {
		t.Errorf("a set without parameters in a config with some: %v", err)
	}
	var many strings.Builder
	many.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar-injector.io/inject: tune\n")
	for i := range 5000 {
		fmt.Fprintf(&many, "    sidecar-injector.io/tune.x%d: \"1\"\n", i)
	}
	many.WriteString("spec:\n  containers:\n  - name: app\n    image: app:1\n")
	_, _, _, err = runStream(withParams, []byte(many.String()), "pod.yaml", false)
	if n := len(ErrorList(err)); n != maxUndeclared+1 || !strings.Contains(err.Error(), "not all are listed") {
		t.Errorf("%d errors for 5000 undeclared parameters: %.300v", n, err)
	}
}

// A parameter into a volume and an init container: written there, the
// status fingerprints the tuned items, uninject gives the input back.
func TestParamVolumesAndInitContainers(t *testing.T) {
	cfg := loadSets(t, `- name: cache
  initContainers:
  - name: warm
    image: warm:1
    args: ["--depth", "3"]
  containers:
  - name: cache
    image: cache:1
    volumeMounts: [{name: cache, mountPath: /cache}]
  volumes:
  - name: cache
    emptyDir: {}
  parameters:
  - {name: size, type: quantity, default: 1Gi, max: 8Gi, paths: ["volumes.[name=cache].emptyDir.sizeLimit"]}
  - {name: depth, type: integer, default: 3, min: 1, max: 9, paths: ["initContainers.[name=warm].args.[=3]"]}
`)
	in := []byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    sidecar-injector.io/inject: cache
    sidecar-injector.io/cache.size: 4Gi
    sidecar-injector.io/cache.depth: "5"
spec:
  containers:
  - name: app
    image: app:1
`)
	out, _, _, err := runStream(cfg, in, "pod.yaml", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sizeLimit: 4Gi", `args: ["--depth", "5"]`, `"parameters":{"cache.depth":"5","cache.size":"4Gi"}`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	back, _, _, err := runStream(cfg, out, "pod.yaml", true)
	if err != nil || !bytes.Equal(back, in) {
		t.Errorf("uninject (%v):\n%s", err, back)
	}
	// The tuned volume edited by hand: the status does not back it.
	edited := bytes.Replace(out, []byte("sizeLimit: 4Gi"), []byte("sizeLimit: 5Gi"), 1)
	if _, _, _, err := runStream(cfg, edited, "pod.yaml", true); err == nil || !strings.Contains(err.Error(), `the status annotation lists volume "cache" as injected`) {
		t.Errorf("uninject of an edited tuned volume: %v", err)
	}
}

// At admission, a pod injected at build time with parameter values holds
// its required set as the config defines it for those values: it is left
// alone. With other values on the pod than in its status, it no longer
// holds the required set as defined for its values: injected again.
func TestParamsAdmissionRequired(t *testing.T) {
	cfg := loadSets(t, `- name: mesh
  required: true
  containers: [{name: proxy, image: proxy:1}]
  env: [{name: PROXY_PORT, value: "15001"}]
  parameters:
  - {name: cpu, type: quantity, default: 100m, paths: ["containers.[name=proxy].resources.limits.cpu"]}
  - {name: port, type: integer, default: 15001, min: 1024, max: 65535, paths: ["env.[name=PROXY_PORT].value"]}
`)
	pod := func(cpu string) []byte {
		return []byte(`apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    sidecar-injector.io/mesh.cpu: ` + cpu + `
    sidecar-injector.io/mesh.port: "16000"
spec:
  containers:
  - name: app
    image: app:1
`)
	}
	out, _, _, err := runStream(cfg, pod("300m"), "pod.yaml", false)
	if err != nil {
		t.Fatal(err)
	}
	admit := func(data []byte) Result {
		t.Helper()
		rn, err := yaml.Parse(string(data))
		if err != nil {
			t.Fatal(err)
		}
		r, err := (&Injector{Config: cfg, Admission: true}).Apply(rn, "")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := admit(out); r.Action != Skipped || r.Reason != AlreadyInjected || len(r.Warnings) > 0 {
		t.Errorf("a pod injected with its values: %+v", r)
	}
	changed := bytes.Replace(out, []byte("mesh.cpu: 300m"), []byte("mesh.cpu: 400m"), 1)
	r := admit(changed)
	if r.Action != Upgraded || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "required sets mesh missing or changed; injected") {
		t.Errorf("a pod with another value than its status: %+v", r)
	}
	if cpu := scalarString(mapGet(mapGet(mapGet(findItem(mapGet(mapGet(r.Change.Node, "spec"), "containers"), "name", "proxy"), "resources"), "limits"), "cpu")); cpu != "400m" {
		t.Errorf("re-injected with cpu %q, want 400m", cpu)
	}
}

// An app's own quantity that apimachinery would expand into a billion
// digits is refused before a derived value reads it.
func TestParamDerivedHugeQuantity(t *testing.T) {
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := bytes.Replace(paramPod(nil), []byte("cpu: 300m"), []byte("cpu: 1e1000000000"), 1)
	_, _, _, err = runStream(cfg, in, "pod.yaml", false)
	if err == nil || !strings.Contains(err.Error(), `spec.containers[name=app].resources.requests.cpu: "1e1000000000" is not a quantity, and tune.cpu is derived from it`) {
		t.Errorf("got %v", err)
	}
}

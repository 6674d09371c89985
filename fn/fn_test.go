package fn_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// run runs the function, and checks that it gives exactly what it gives
// reading the list as one document: the item-by-item reading it uses for
// kustomize's and kpt's layout is only there to save memory.
func run(t *testing.T, in []byte) (stdout []byte, stderr string, code int) {
	t.Helper()
	var out, errb, wholeOut, wholeErr bytes.Buffer
	code = fn.Run(bytes.NewReader(in), &out, &errb)
	wholeCode := fn.RunWhole(in, &wholeOut, &wholeErr)
	if code != wholeCode || out.String() != wholeOut.String() || errb.String() != wholeErr.String() {
		t.Errorf("the function differs from a run reading the list as one document: exit code %d, not %d; stderr %q, not %q; output:\n%s",
			code, wholeCode, errb.String(), wholeErr.String(), golden.Diff(wholeOut.Bytes(), out.Bytes()))
	}
	return out.Bytes(), errb.String(), code
}

func mustRead(t *testing.T, data []byte) *fn.ResourceList {
	t.Helper()
	rl, err := fn.ReadResourceList(data)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
	return rl
}

func readBytes(path string) ([]byte, error) { return os.ReadFile(path) }

// The two example sidecars as named sets.
var injectorConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: platform
  annotations:
    config.kubernetes.io/path: fn-config.yaml
spec:
  sidecars:
` + fixture.Indent(fixture.NginxHead, 2) + fixture.Indent(fixture.NginxSidecarNoPullPolicy, 4) + fixture.Indent(fixture.PacketAgentSet, 2)

// resourceList makes a ResourceList of documents and a functionConfig
// ("" for none), annotating each document with its file as kpt does.
func resourceList(t *testing.T, config string, docs ...string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for _, d := range docs {
		b.WriteString(indentItem(d))
	}
	if config != "" {
		b.WriteString("functionConfig:\n" + indentBlock(config))
	}
	return []byte(b.String())
}

func indentItem(doc string) string {
	var b strings.Builder
	for i, line := range strings.SplitAfter(strings.TrimRight(doc, "\n")+"\n", "\n") {
		switch {
		case line == "":
		case i == 0:
			b.WriteString("- " + line)
		default:
			b.WriteString("  " + line)
		}
	}
	return b.String()
}

func deployment(name, file string, index int, inject string) string {
	d := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: shop
  annotations:
    config.kubernetes.io/path: ` + file + `
    config.kubernetes.io/index: '` + string(rune('0'+index)) + `'
spec:
  template:
    metadata:
      annotations:
        sidecar-injector.io/inject: "` + inject + `"
    spec:
      containers:
      - name: app
        image: app:1
`
	if inject == "" {
		d = strings.Replace(d, "    metadata:\n      annotations:\n        sidecar-injector.io/inject: \"\"\n", "", 1)
	}
	return d
}

const service = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
`

func TestMissingConfig(t *testing.T) {
	placeholder := `apiVersion: v1
kind: ConfigMap
metadata:
  name: function-input
data: {}
`
	for name, config := range map[string]string{"none": "", "kpt placeholder": placeholder} {
		t.Run(name, func(t *testing.T) {
			in := resourceList(t, config, deployment("web", "web.yaml", 0, "true"))
			out, stderr, code := run(t, in)
			if code != fn.ExitFailed {
				t.Fatalf("exit code %d, want %d", code, fn.ExitFailed)
			}
			rl := mustRead(t, out)
			rs := results(t, rl)
			if len(rs) != 1 || rs[0].Severity != kptfn.Error {
				t.Fatalf("want one error result, got %+v", rs)
			}
			const want = "config functionConfig: missing: expected kind SidecarInjector (apiVersion sidecar-injector.io/v1alpha1) or a ConfigMap with data.sidecarconfig.yaml"
			if !strings.HasPrefix(rs[0].Message, want) {
				t.Errorf("message %q, want it to start with %q", rs[0].Message, want)
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks the error:\n%s", stderr)
			}
			if got, want := itemsText(t, rl), itemsText(t, mustRead(t, in)); got != want {
				t.Errorf("items changed:\n%s", golden.Diff([]byte(want), []byte(got)))
			}
		})
	}
}

func TestWrongConfig(t *testing.T) {
	cases := map[string]struct {
		config, message, field string
	}{
		"other kind": {
			config:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/path: fn-config.yaml\n",
			message: `config fn-config.yaml: kind: expected SidecarInjector (apiVersion sidecar-injector.io/v1alpha1) or a ConfigMap with data.sidecarconfig.yaml, got "Deployment"`,
			field:   "kind",
		},
		"ConfigMap without the key": {
			config:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sidecars\ndata:\n  other: x\n",
			message: "config functionConfig: data.other: unknown field",
			field:   "data.other",
		},
		"typo in a container": {
			config:  strings.Replace(injectorConfig, "      image: nginx:1.12.2", "      imag: nginx:1.12.2", 1),
			message: "config fn-config.yaml: spec.sidecars[0].containers[0].imag: unknown field",
			field:   "spec.sidecars[0].containers[0].imag",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := run(t, resourceList(t, c.config, deployment("web", "web.yaml", 0, "true")))
			if code != fn.ExitFailed {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, fn.ExitFailed, stderr)
			}
			var errs []*kptfn.Result
			for _, r := range results(t, mustRead(t, out)) {
				if r.Severity == kptfn.Error {
					errs = append(errs, r)
				}
			}
			if len(errs) == 0 {
				t.Fatal("no error result")
			}
			r := errs[0]
			if r.Message != c.message {
				t.Errorf("message:\n got %q\nwant %q", r.Message, c.message)
			}
			if r.Field == nil || r.Field.Path != c.field {
				t.Errorf("field %+v, want %q", r.Field, c.field)
			}
			if r.ResourceRef == nil || r.ResourceRef.Name == "" {
				t.Errorf("no resourceRef to the functionConfig: %+v", r.ResourceRef)
			}
		})
	}
}

// The tutorial's ConfigMap, with the tutorial's annotation prefix in its data.
func TestConfigMapConfig(t *testing.T) {
	config := fixture.PacketAgentConfigMap + "  annotationPrefix: sidecar-injector-webhook.morven.me\n"
	d := strings.ReplaceAll(deployment("web", "web.yaml", 0, "true"), "sidecar-injector.io/", "sidecar-injector-webhook.morven.me/")
	out, stderr, code := run(t, resourceList(t, config, d))
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	rl := mustRead(t, out)
	got, err := rl.Items[0].Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=sidecar-monitor]", "tty"))
	if err != nil || got == nil || got.YNode().Value != "true" {
		t.Errorf("packet agent not injected:\n%s", rl.Items[0].MustString())
	}
	if rs := results(t, rl); len(rs) != 1 || rs[0].Message != "injected: default" {
		t.Errorf("results: %+v", rs)
	}
}

func TestResults(t *testing.T) {
	earlier := "results:\n- message: from an earlier function\n  severity: info\n"
	in := append(resourceList(t, injectorConfig,
		deployment("web", "apps/web.yaml", 0, "true"),
		service,
		deployment("batch", "apps/web.yaml", 1, ""),
		deployment("agent", "apps/agent.yaml", 0, "monitor"),
		// a pod template and its workload that disagree: a warning
		strings.Replace(deployment("odd", "apps/odd.yaml", 0, "true"), "  annotations:\n", "  annotations:\n    sidecar-injector.io/inject: \"false\"\n", 1),
	), earlier...)
	out, stderr, code := run(t, in)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	rs := results(t, mustRead(t, out))
	type want struct {
		severity  kptfn.Severity
		message   string
		name      string
		path      string
		index     int
		noRefFile bool
	}
	wants := []want{
		{severity: kptfn.Info, message: "from an earlier function", noRefFile: true},
		{kptfn.Info, "injected: nginx", "web", "apps/web.yaml", 0, false},
		{kptfn.Info, `skipped: not requested (policy opt-in; annotate sidecar-injector.io/inject: "true" or set names)`, "batch", "apps/web.yaml", 1, false},
		{kptfn.Info, "injected: monitor", "agent", "apps/agent.yaml", 0, false},
		{kptfn.Info, "injected: nginx", "odd", "apps/odd.yaml", 0, false},
		{kptfn.Warning, `sidecar-injector.io/inject is "false" on the workload but "true" on its pod template; the template wins`, "odd", "apps/odd.yaml", 0, false},
	}
	if len(rs) != len(wants) {
		t.Fatalf("got %d results, want %d:\n%s", len(rs), len(wants), rs.String())
	}
	for i, w := range wants {
		r := rs[i]
		if r.Severity != w.severity || r.Message != w.message {
			t.Errorf("result %d: [%s] %q, want [%s] %q", i, r.Severity, r.Message, w.severity, w.message)
		}
		if w.noRefFile {
			continue
		}
		ref := kptfn.ResourceRef{APIVersion: "apps/v1", Kind: "Deployment", Name: w.name, Namespace: "shop"}
		if r.ResourceRef == nil || *r.ResourceRef != ref {
			t.Errorf("result %d: resourceRef %+v, want %+v", i, r.ResourceRef, ref)
		}
		if r.File == nil || r.File.Path != w.path || r.File.Index != w.index {
			t.Errorf("result %d: file %+v, want %s index %d", i, r.File, w.path, w.index)
		}
	}
	if !strings.Contains(stderr, "warning: sidecar-injector.io/inject is \"false\" on the workload") {
		t.Errorf("stderr lacks the warning:\n%s", stderr)
	}
}

// Results pair with their items even when a resource of another group has
// the same kind and name (it is not a workload, so the engine skips it).
func TestResultsPairWithItems(t *testing.T) {
	crd := strings.Replace(deployment("web", "web.yaml", 0, "true"), "apps/v1", "example.com/v1", 1)
	out, stderr, code := run(t, resourceList(t, injectorConfig, crd, deployment("web", "web.yaml", 1, "true")))
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	rs := results(t, mustRead(t, out))
	if len(rs) != 1 || rs[0].ResourceRef.APIVersion != "apps/v1" || rs[0].File.Index != 1 {
		t.Errorf("want one result for apps/v1 at index 1, got:\n%s", rs.String())
	}
}

// One bad workload fails the run: nothing changes, every error is named
// with its resource, field and file, and the exit code is not 0.
func TestAllOrNothing(t *testing.T) {
	bad := strings.Replace(deployment("broken", "apps/broken.yaml", 0, "true"), "      containers:\n      - name: app\n        image: app:1\n", "      containers: {}\n", 1)
	unknown := deployment("unknown", "apps/unknown.yaml", 2, "mesh")
	in := resourceList(t, injectorConfig, deployment("web", "apps/web.yaml", 0, "true"), bad, unknown)
	out, stderr, code := run(t, in)
	if code != fn.ExitFailed {
		t.Fatalf("exit code %d, want %d", code, fn.ExitFailed)
	}
	rl := mustRead(t, out)
	if got, want := itemsText(t, rl), itemsText(t, mustRead(t, in)); got != want {
		t.Errorf("items changed although the run failed:\n%s", golden.Diff([]byte(want), []byte(got)))
	}
	rs := results(t, rl)
	wants := []struct{ message, field, path, name string }{
		{"Deployment shop/broken (apps/broken.yaml): spec.template.spec.containers: expected a list, got a map",
			"spec.template.spec.containers", "apps/broken.yaml", "broken"},
		{`Deployment shop/unknown (apps/unknown.yaml): spec.template.metadata.annotations["sidecar-injector.io/inject"]: unknown sidecar set "mesh"; use "true", "false" or set names (nginx, monitor)`,
			`spec.template.metadata.annotations["sidecar-injector.io/inject"]`, "apps/unknown.yaml", "unknown"},
	}
	if len(rs) != len(wants) {
		t.Fatalf("got %d results, want %d errors:\n%s", len(rs), len(wants), rs.String())
	}
	for i, w := range wants {
		r := rs[i]
		if r.Severity != kptfn.Error || r.Message != w.message {
			t.Errorf("result %d: [%s] %q\nwant [error] %q", i, r.Severity, r.Message, w.message)
		}
		if r.Field == nil || r.Field.Path != w.field {
			t.Errorf("result %d: field %+v, want %q", i, r.Field, w.field)
		}
		if r.File == nil || r.File.Path != w.path || r.ResourceRef == nil || r.ResourceRef.Name != w.name || r.ResourceRef.APIVersion != "apps/v1" {
			t.Errorf("result %d: file %+v ref %+v", i, r.File, r.ResourceRef)
		}
		if !strings.Contains(stderr, "error: "+w.message+"\n") {
			t.Errorf("stderr lacks %q:\n%s", w.message, stderr)
		}
	}
}

// Rendering the output again changes nothing; after a config change, the
// next render upgrades the sidecars and nothing else.
func TestRerenderAndUpgrade(t *testing.T) {
	in := resourceList(t, injectorConfig, deployment("web", "web.yaml", 0, "true"), service, deployment("agent", "agent.yaml", 0, "monitor"))
	first, stderr, code := run(t, in)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	again, _, code := run(t, first)
	if code != 0 {
		t.Fatalf("second run: exit code %d", code)
	}
	rl := mustRead(t, again)
	if got, want := itemsText(t, rl), itemsText(t, mustRead(t, first)); got != want {
		t.Errorf("second run changed items:\n%s", golden.Diff([]byte(want), []byte(got)))
	}
	for _, r := range results(t, rl)[2:] { // after the first run's two
		if !strings.HasPrefix(r.Message, "unchanged: ") {
			t.Errorf("second run: %q, want unchanged", r.Message)
		}
	}

	// New nginx image: the next render upgrades the nginx sidecar only.
	changed := mustRead(t, first)
	changed.Results = nil
	changed.FunctionConfig = yaml.MustParse(strings.Replace(injectorConfig, "nginx:1.12.2", "nginx:1.27.0", 1))
	var upgraded bytes.Buffer
	if err := changed.Write(&upgraded); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, upgraded.Bytes())
	if code != 0 {
		t.Fatalf("upgrade: exit code %d; stderr:\n%s", code, stderr)
	}
	rl = mustRead(t, out)
	rs := results(t, rl)
	if len(rs) != 2 || rs[0].Message != "upgraded: nginx" || rs[1].Message != "unchanged: monitor" {
		t.Errorf("upgrade results:\n%s", rs.String())
	}
	before, after := itemsText(t, mustRead(t, first)), itemsText(t, rl)
	var diff []string
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	if len(bl) != len(al) {
		t.Fatalf("upgrade changed the number of lines:\n%s", golden.Diff([]byte(before), []byte(after)))
	}
	for i := range bl {
		if bl[i] != al[i] {
			diff = append(diff, strings.TrimSpace(al[i]))
		}
	}
	// the image, and the digest in the status annotation
	if len(diff) != 2 || diff[1] != "image: nginx:1.27.0" || !strings.Contains(diff[0], `sidecar-injector.io/status: '{"sets":["nginx"],"digest":"sha256:`) {
		t.Errorf("upgrade changed more than the sidecar:\n%s", strings.Join(diff, "\n"))
	}
}

func indentBlock(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimRight(s, "\n")+"\n", "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}

func TestBadInput(t *testing.T) {
	cases := map[string]struct {
		in     string
		code   int
		stderr string
	}{
		"empty":            {"", fn.ExitNoInput, "expected a ResourceList on stdin"},
		"only a comment":   {"# nothing\n", fn.ExitNoInput, "expected a ResourceList on stdin"},
		"a plain manifest": {service, fn.ExitFailed, `expected kind ResourceList, got "Service"`},
		"two documents":    {"kind: ResourceList\n---\nkind: ResourceList\n", fn.ExitFailed, "expected one YAML document, got several"},
		"items not a list": {"kind: ResourceList\nitems: {}\n", fn.ExitFailed, "items: expected a list"},
		"invalid YAML":     {"kind: ResourceList\nitems: [\n", fn.ExitFailed, "yaml: line"},
		"not UTF-8":        {"kind: ResourceList\nitems:\n- data: {a: \"caf\xe9\"}\n", fn.ExitFailed, "line 3: not valid UTF-8"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, stderr, code := run(t, []byte(c.in))
			if code != c.code || len(out) != 0 {
				t.Errorf("exit code %d with %d bytes out, want %d and nothing", code, len(out), c.code)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, c.stderr)
			}
		})
	}
}

// An empty ResourceList is valid: no items, no results, exit 0.
func TestNoItems(t *testing.T) {
	out, stderr, code := run(t, resourceList(t, injectorConfig))
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if !bytes.Contains(out, []byte("\nitems: []\nfunctionConfig:\n")) || bytes.Contains(out, []byte("results:")) {
		t.Errorf("output:\n%s", out)
	}
}

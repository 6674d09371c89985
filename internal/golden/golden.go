// Package golden runs the cases under testdata/cases, shared by every front
// (engine, CLI, KRM function, webhook), and compares or rewrites their
// expected files.
//
// A case is a directory with:
//
//	config.yaml    the injector config (required)
//	input.yaml     the manifests (required), or input.json for a JSON file
//	options.yaml   optional: annotationPrefix, uninject, roundTrip, webhook, policy
//	expected.yaml  the output, when the case succeeds (expected.json for input.json)
//	report.txt     the per-resource report, when the case succeeds
//	errors.txt     the errors, when the case fails
//	check.txt      what `sidecar-injector check` prints for the input, then
//	               its exit code ("exit: 1"); the KRM function's validate
//	               mode must say the same
//
// `go test ./... -update` (or UPDATE_GOLDEN=1, or `make update-golden`)
// rewrites the expected files and deletes stale ones; otherwise a missing,
// different or stale file fails the test.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// Updating reports whether golden files are to be rewritten.
func Updating() bool { return *update || os.Getenv("UPDATE_GOLDEN") != "" }

// Options are a case's optional settings.
type Options struct {
	AnnotationPrefix string `yaml:"annotationPrefix"`
	Uninject         bool   `yaml:"uninject"`
	// RoundTrip: uninject(expected) must give back input. On by default;
	// off for cases where it cannot hold (onConflict: replace, prior status).
	RoundTrip *bool `yaml:"roundTrip"`
	// Webhook: false leaves the case out of the webhook front, where the
	// design differs on purpose (the options file says why in a comment).
	Webhook *bool `yaml:"webhook"`
	// Policy: why `sidecar-injector policy` refuses the case's config
	// (docs/policy.md); empty when it accepts it. The policy tests fail
	// when this is stale either way.
	Policy string `yaml:"policy"`
}

// ForWebhook reports whether the webhook front runs the case.
func (c *Case) ForWebhook() bool { return c.Options.Webhook == nil || *c.Options.Webhook }

// Case is one directory of testdata/cases.
type Case struct {
	Name    string
	Dir     string
	Config  []byte
	Input   []byte
	Options Options
	// InputFile is input.yaml or input.json, as fronts name it in messages;
	// ExpectedFile is expected.yaml or expected.json to match.
	InputFile, ExpectedFile string
}

// RoundTrip reports whether uninject(expected) must equal the input.
func (c *Case) RoundTrip() bool {
	return !c.Options.Uninject && (c.Options.RoundTrip == nil || *c.Options.RoundTrip)
}

// Path returns a file of the case.
func (c *Case) Path(name string) string { return filepath.Join(c.Dir, name) }

// Root returns the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Cases loads every case under testdata/cases.
func Cases(t testing.TB) []*Case {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(Root(), "testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases found: %v", err)
	}
	var cases []*Case
	for _, dir := range dirs {
		c := &Case{Name: filepath.Base(dir), Dir: dir}
		var err error
		if c.Config, err = os.ReadFile(c.Path("config.yaml")); err != nil {
			t.Fatalf("case %s: %v", c.Name, err)
		}
		c.InputFile, c.ExpectedFile = "input.yaml", "expected.yaml"
		if _, err := os.Stat(c.Path("input.json")); err == nil {
			c.InputFile, c.ExpectedFile = "input.json", "expected.json"
			if _, err := os.Stat(c.Path("input.yaml")); err == nil {
				t.Fatalf("case %s: input.yaml and input.json: keep one", c.Name)
			}
		}
		if c.Input, err = os.ReadFile(c.Path(c.InputFile)); err != nil {
			t.Fatalf("case %s: %v", c.Name, err)
		}
		if opts, err := os.ReadFile(c.Path("options.yaml")); err == nil {
			if err := yaml.Unmarshal(opts, &c.Options); err != nil {
				t.Fatalf("case %s: options.yaml: %v", c.Name, err)
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// Outcome is what a front produced for a case.
type Outcome struct {
	Output []byte // the transformed stream, on success
	Report string // one line per resource, on success
	Errors string // the errors, one per line, on failure
}

// Check compares an outcome with the case's expected files, or rewrites them.
// Only the files the outcome calls for may exist: others are stale.
func (c *Case) Check(t *testing.T, got Outcome) {
	t.Helper()
	want := map[string][]byte{}
	if got.Errors != "" {
		want["errors.txt"] = []byte(strings.TrimRight(got.Errors, "\n") + "\n")
	} else {
		want[c.ExpectedFile] = got.Output
		want["report.txt"] = []byte(got.Report)
	}
	for _, name := range []string{c.ExpectedFile, "report.txt", "errors.txt"} {
		path := c.Path(name)
		data, err := os.ReadFile(path)
		exists := err == nil
		w, wanted := want[name]
		switch {
		case Updating() && wanted:
			if err := os.WriteFile(path, w, 0o644); err != nil {
				t.Fatal(err)
			}
		case Updating() && exists:
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		case wanted && !exists:
			t.Errorf("%s: missing %s; run `make update-golden` and review the diff. Got:\n%s", c.Name, name, w)
		case !wanted && exists:
			t.Errorf("%s: stale %s: this case now %s; run `make update-golden`", c.Name, name, map[bool]string{true: "fails", false: "succeeds"}[got.Errors != ""])
		case wanted && !bytes.Equal(data, w):
			t.Errorf("%s: %s differs (run `make update-golden` and review):\n%s", c.Name, name, Diff(data, w))
		}
	}
}

// CheckFile compares a file every case has, such as check.txt, with what
// a front produced, or rewrites it.
func (c *Case) CheckFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := c.Path(name)
	data, err := os.ReadFile(path)
	switch {
	case Updating():
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	case err != nil:
		t.Errorf("%s: missing %s; run `make update-golden` and review the diff. Got:\n%s", c.Name, name, got)
	case !bytes.Equal(data, got):
		t.Errorf("%s: %s differs (run `make update-golden` and review):\n%s", c.Name, name, Diff(data, got))
	}
}

// Diff renders a short line diff of want and got for test failures.
func Diff(want, got []byte) string {
	wl := strings.Split(string(want), "\n")
	gl := strings.Split(string(got), "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  want: %q\n  got:  %q\n", i+1, w, g)
			if shown++; shown == 5 {
				b.WriteString("  ...\n")
				break
			}
		}
	}
	return b.String()
}

// keepField matches the keep of a status annotation: its last field, a
// flat JSON object.
var keepField = regexp.MustCompile(`,"keep":\{[^{}]*\}`)

// WithoutAnchorForms drops, from the statuses in an expected file, the
// keep entries that record YAML anchors ("*name", "<<"). The KRM function
// and the webhook see documents with their anchors expanded (kustomize
// expands them when it reads; the API server gets JSON), so they have none
// to record.
func WithoutAnchorForms(data []byte) []byte {
	return keepField.ReplaceAllFunc(data, func(field []byte) []byte {
		var keep map[string]string
		if json.Unmarshal(field[len(`,"keep":`):], &keep) != nil {
			return field
		}
		for path, v := range keep {
			if v == "<<" || strings.HasPrefix(v, "*") {
				delete(keep, path)
			}
		}
		if len(keep) == 0 {
			return nil
		}
		b, err := json.Marshal(keep)
		if err != nil {
			return field
		}
		return append([]byte(`,"keep":`), b...)
	})
}

// Pods reads the pods of a case's input, for the fronts that admit pods:
// its Pods, and the pod template of every workload (in Lists too) as a Pod
// named after the workload. Input that is not manifests gives none.
func Pods(input []byte) []*corev1.Pod {
	nodes, err := kio.FromBytes(input)
	if err != nil {
		return nil
	}
	var pods []*corev1.Pod
	var walk func(rn *yaml.RNode)
	walk = func(rn *yaml.RNode) {
		if items, _ := rn.Pipe(yaml.Lookup("items")); items != nil && strings.HasSuffix(rn.GetKind(), "List") {
			elems, _ := items.Elements()
			for _, it := range elems {
				walk(it)
			}
			return
		}
		if p := podOf(rn); p != nil {
			pods = append(pods, p)
		}
	}
	for _, rn := range nodes {
		walk(rn)
	}
	return pods
}

// podOf is a Pod, or a workload's pod template as a Pod; nil for others.
func podOf(rn *yaml.RNode) *corev1.Pod {
	name := rn.GetName()
	if rn.GetKind() != "Pod" {
		var tmpl *yaml.RNode
		for _, path := range [][]string{{"spec", "template"}, {"spec", "jobTemplate", "spec", "template"}} {
			if tmpl, _ = rn.Pipe(yaml.Lookup(path...)); tmpl != nil {
				break
			}
		}
		if tmpl == nil {
			return nil
		}
		rn = tmpl
	}
	raw, err := rn.MarshalJSON()
	if err != nil {
		return nil
	}
	var p corev1.Pod
	if err := json.Unmarshal(raw, &p); err != nil || len(p.Spec.Containers) == 0 {
		return nil
	}
	p.APIVersion, p.Kind = "v1", "Pod"
	if p.Name == "" {
		p.Name = name
	}
	return &p
}

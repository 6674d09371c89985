package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// runCLI runs the binary's entry point in-process.
func runCLI(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(args, bytes.NewReader(stdin), &out, &errw)
	return out.String(), errw.String(), code
}

// TestGolden runs every shared case through the CLI front, from the case's
// directory so that messages name input.yaml (or .json) as the goldens do.
func TestGolden(t *testing.T) {
	for _, c := range golden.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Chdir(c.Dir)
			mode := "inject"
			if c.Options.Uninject {
				mode = "uninject"
			}
			args := []string{mode, "-c", "config.yaml", "-f", c.InputFile}
			if p := c.Options.AnnotationPrefix; p != "" {
				args = append(args, "--annotation-prefix", p)
			}
			stdout, stderr, code := runCLI(t, nil, args...)
			switch code {
			case 0:
				c.Check(t, golden.Outcome{Output: []byte(stdout), Report: stderr})
			case 1:
				if stdout != "" {
					t.Errorf("failed run wrote to stdout:\n%s", stdout)
				}
				lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
				if last := lines[len(lines)-1]; last != "sidecar-injector: nothing written" {
					t.Errorf("last line of stderr = %q, want the nothing-written notice", last)
				}
				var errs []string
				for _, l := range lines[:len(lines)-1] {
					e, ok := strings.CutPrefix(l, "error: ")
					if !ok {
						t.Errorf("stderr line without error prefix: %q", l)
					}
					errs = append(errs, e)
				}
				c.Check(t, golden.Outcome{Errors: strings.Join(errs, "\n")})
			default:
				t.Fatalf("exit code %d: %s", code, stderr)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string // part of the usage error; "" for success
	}{
		"ok":                 {[]string{"-c", "c.yaml", "-f", "a.yaml"}, ""},
		"positional files":   {[]string{"-c", "c.yaml", "a.yaml", "b.yaml"}, ""},
		"long names":         {[]string{"--config", "c.yaml", "--filename", "-", "--quiet"}, ""},
		"no config":          {[]string{"-f", "a.yaml"}, "missing -c CONFIG"},
		"no files":           {[]string{"-c", "c.yaml"}, "missing -f"},
		"in-place and -o":    {[]string{"-c", "c.yaml", "-f", "a.yaml", "--in-place", "-o", "x"}, "exclude each other"},
		"in-place and stdin": {[]string{"-c", "c.yaml", "-f", "-", "--in-place"}, "cannot rewrite stdin"},
		"bad limit":          {[]string{"-c", "c.yaml", "-f", "a", "--max-input-mb", "0"}, "must be positive"},
		"unknown flag":       {[]string{"-c", "c.yaml", "-f", "a", "--nope"}, "flag provided but not defined"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := transformFlags("inject", tc.args, false, io.Discard, &stderr)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want)):
				t.Fatalf("error = %v (stderr %q), want it to mention %q", err, stderr.String(), tc.want)
			case tc.want == "" && len(o.files) == 0:
				t.Fatal("no files parsed")
			}
		})
	}
	if _, err := transformFlags("uninject", []string{"-f", "a.yaml"}, false, io.Discard, &bytes.Buffer{}); err != nil {
		t.Errorf("uninject without -c: %v", err)
	}
}

var nginxConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: nginx
spec:
  sidecars:
` + fixture.Indent(fixture.NginxSet, 2)

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      annotations:
        sidecar-injector.io/inject: "true"
    spec:
      containers:
      - name: web
        image: web:1
`

// TestBadInput: every bad input gets a clear error naming the resource or
// file and the field, exit code 1, no output, no panic, no hang.
func TestBadInput(t *testing.T) {
	deploy := func(spec string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n" +
			"  annotations:\n    sidecar-injector.io/inject: \"true\"\n" + spec
	}
	bomb := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  annotations:\n    sidecar-injector.io/inject: \"true\"\n" +
		"spec:\n  containers:\n  - name: web\n    image: web:1\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 12; i++ {
		bomb += "  a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [" + strings.Repeat("*a"+strconv.Itoa(i-1)+", ", 9) + "*a" + strconv.Itoa(i-1) + "]\n"
	}
	cases := map[string]struct {
		config, input string
		want          []string
	}{
		"invalid YAML":      {nginxConfig, "a: [1, 2\n", []string{"input.yaml:1: invalid YAML"}},
		"containers map":    {nginxConfig, deploy("spec:\n  template:\n    spec:\n      containers: {name: web}\n"), []string{"Deployment shop/web (input.yaml:1)", "spec.template.spec.containers: expected a list, got a map"}},
		"containers string": {nginxConfig, deploy("spec:\n  template:\n    spec:\n      containers: web\n"), []string{"spec.template.spec.containers: expected a list, got a string"}},
		"null spec":         {nginxConfig, deploy("spec: null\n"), []string{"Deployment shop/web", "spec: missing"}},
		"no containers":     {nginxConfig, deploy("spec:\n  template:\n    spec:\n      containers: []\n"), []string{"spec.template.spec.containers: empty"}},
		"null template":     {nginxConfig, deploy("spec:\n  template: ~\n"), []string{"spec.template: missing"}},
		"duplicate names": {nginxConfig, deploy("spec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: a}\n      - {name: web, image: b}\n"),
			[]string{`spec.template.spec.containers[1].name: duplicate container name "web"`}},
		"unknown set": {nginxConfig, strings.Replace(goodDeployment, `"true"`, "mesh", 1),
			[]string{`spec.template.metadata.annotations["sidecar-injector.io/inject"]: unknown sidecar set "mesh"`, "nginx"}},
		"config typo":       {strings.Replace(nginxConfig, "image:", "imgae:", 1), goodDeployment, []string{"config config.yaml:11: spec.sidecars[0].containers[0].imgae: unknown field"}},
		"config not a list": {strings.Replace(nginxConfig, "    - name: sidecar-nginx\n      image", "      name: sidecar-nginx\n      image", 1), goodDeployment, []string{"spec.sidecars[0].containers: expected a list, got a map"}},
		"config empty":      {"", goodDeployment, []string{"config config.yaml: is empty"}},
		"non-UTF-8":         {nginxConfig, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: \"\xff\xfe\"\n", []string{"input.yaml:6: not valid UTF-8"}},
		"alias bomb":        {nginxConfig, bomb, []string{"Pod bomb (input.yaml:1)", "alias"}},
		"metadata a list":   {nginxConfig, "apiVersion: v1\nkind: Pod\nmetadata: [a]\nspec: {}\n", []string{"metadata: expected a map, got a list"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			testio.WriteFile(t, "config.yaml", tc.config)
			testio.WriteFile(t, "input.yaml", tc.input)
			for _, inPlace := range []bool{false, true} {
				args := []string{"inject", "-c", "config.yaml", "-f", "input.yaml"}
				if inPlace {
					args = append(args, "--in-place")
				}
				stdout, stderr, code := runCLI(t, nil, args...)
				if code != 1 || stdout != "" {
					t.Fatalf("in-place=%v: exit %d, stdout %q; want exit 1 and no output", inPlace, code, stdout)
				}
				for _, w := range tc.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("in-place=%v: stderr does not mention %q:\n%s", inPlace, w, stderr)
					}
				}
				if got, _ := os.ReadFile("input.yaml"); string(got) != tc.input {
					t.Fatalf("in-place=%v: the input file was changed", inPlace)
				}
			}
		})
	}
}

// TestInputLimit: an input over the limit is refused with a clear error
// before it is parsed, from a file and from stdin. The default limit is
// tried on a sparse file (33 MiB that cost nothing to make); the reading
// stops at the limit, so stdin is tried with a small limit.
func TestInputLimit(t *testing.T) {
	inConfigDir(t)
	f, err := os.Create("big.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(goodDeployment + "---\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(33 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	stdout, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "big.yaml")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "inputs exceed 32 MiB") {
		t.Errorf("file over the default limit: exit %d, stdout %d bytes, stderr %q", code, len(stdout), stderr)
	}
	over := bytes.Repeat([]byte(goodDeployment+"---\n"), 1<<20/(len(goodDeployment)+4)+1) // just over 1 MiB
	stdout, stderr, code = runCLI(t, over, "inject", "-c", "config.yaml", "--max-input-mb", "1", "-f", "-")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "inputs exceed 1 MiB") {
		t.Errorf("stdin over the limit: exit %d, stdout %d bytes, stderr %q", code, len(stdout), stderr)
	}
	// the limit is the total of all inputs, and can be raised on purpose
	if err := os.WriteFile("small.yaml", over, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "small.yaml", "--max-input-mb", "1")
	if code != 1 || !strings.Contains(stderr, "inputs exceed 1 MiB") {
		t.Errorf("1 MiB limit: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code = runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "small.yaml", "--max-input-mb", "2")
	if code != 0 || !strings.Contains(stdout, "sidecar-nginx") {
		t.Errorf("raised limit: exit %d, stderr %q", code, stderr)
	}
}

// TestInPlaceAllOrNothing: when one file of a directory is bad, no file is
// rewritten; when all are good, only changed files are, keeping their mode.
func TestInPlaceAllOrNothing(t *testing.T) {
	inConfigDir(t, "manifests/a/good.yaml")
	testio.WriteFile(t, "manifests/b/bad.yaml", strings.Replace(goodDeployment, "      containers:\n      - name: web\n        image: web:1\n", "      containers: web\n", 1))
	testio.WriteFile(t, "manifests/untouched.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	testio.WriteFile(t, "manifests/.hidden/skip.yaml", "not: [valid\n")
	testio.WriteFile(t, "manifests/notes.txt", "not yaml at all: [")
	if err := os.Chmod("manifests/a/good.yaml", 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "manifests", "--in-place")
	if code != 1 || !strings.Contains(stderr, "manifests/b/bad.yaml:1") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if got := testio.ReadFile(t, "manifests/a/good.yaml"); got != goodDeployment {
		t.Fatalf("good.yaml was rewritten although bad.yaml failed:\n%s", got)
	}
	testio.WriteFile(t, "manifests/b/bad.yaml", goodDeployment)
	if _, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "manifests", "--in-place"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"manifests/a/good.yaml", "manifests/b/bad.yaml"} {
		if !strings.Contains(testio.ReadFile(t, f), "name: sidecar-nginx") {
			t.Errorf("%s not injected", f)
		}
	}
	if st, _ := os.Stat("manifests/a/good.yaml"); st.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", st.Mode().Perm())
	}
	if got := testio.ReadFile(t, "manifests/untouched.yml"); got != "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n" {
		t.Errorf("untouched file changed: %q", got)
	}
	leftovers, _ := filepath.Glob("manifests/*/.*.tmp-*")
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

// TestStdinPipeline is `kubectl get deploy x -o yaml | sidecar-injector inject -c c.yaml -f - | kubectl apply -f -`.
func TestStdinPipeline(t *testing.T) {
	inConfigDir(t)
	out, stderr, code := runCLI(t, []byte(goodDeployment), "inject", "-c", "config.yaml", "-f", "-")
	if code != 0 || !strings.Contains(out, "name: sidecar-nginx") || !strings.Contains(stderr, "injected   Deployment web (stdin:1): nginx") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	again, _, _ := runCLI(t, []byte(out), "inject", "-q", "-c", "config.yaml", "-f", "-")
	if again != out {
		t.Errorf("second run changed the output:\n%s", golden.Diff([]byte(out), []byte(again)))
	}
	back, _, _ := runCLI(t, []byte(out), "uninject", "-q", "-f", "-")
	if back != goodDeployment {
		t.Errorf("uninject did not restore the input:\n%s", golden.Diff([]byte(goodDeployment), []byte(back)))
	}
}

// TestMultipleFilesToStdout keeps the documents of several files apart.
func TestMultipleFilesToStdout(t *testing.T) {
	inConfigDir(t)
	testio.WriteFile(t, "a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}") // no final newline
	testio.WriteFile(t, "b.yaml", goodDeployment)
	out, _, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "a.yaml", "-f", "b.yaml", "-o", "out.yaml")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	got := testio.ReadFile(t, "out.yaml")
	if !strings.HasPrefix(got, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\n") {
		t.Errorf("files not separated:\n%s", got)
	}
}

// TestDocumentLimit: one document over an eighth of --max-input-mb is
// refused (its tree would take up to 160 times its text), naming its line;
// many small documents of the same total are fine.
func TestDocumentLimit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("containers: [{name: s, image: s}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var list, stream strings.Builder
	list.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for i := 0; list.Len() < 200<<10; i++ {
		fmt.Fprintf(&list, "- {apiVersion: v1, kind: Pod, metadata: {name: p%d}, spec: {containers: [{name: a, image: a}]}}\n", i)
		fmt.Fprintf(&stream, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec: {containers: [{name: a, image: a}]}\n", i)
	}
	_, stderr, code := runCLI(t, []byte("# a List\n"+list.String()), "inject", "-c", cfg, "-f", "-", "--max-input-mb", "1")
	if code != 1 || !strings.Contains(stderr, "stdin:1: one document of 0.2 MiB, over the limit of 0.1 MiB for one document") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	if _, stderr, code := runCLI(t, []byte(stream.String()), "inject", "-c", cfg, "-f", "-", "--max-input-mb", "1"); code != 0 {
		t.Errorf("small documents: exit %d:\n%s", code, stderr)
	}
}

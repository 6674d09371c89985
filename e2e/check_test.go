//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The CI gate: `sidecar-injector check` as the GitHub Actions job, the git
// pre-commit hook and the kustomize build of examples/ci run it, and the
// function in validate mode under kpt and kustomize.

// stepScript returns the run script of a named step of a workflow's job.
func stepScript(t *testing.T, workflow, job, step string) string {
	t.Helper()
	steps, err := readYAML(t, workflow).Pipe(yaml.Lookup("jobs", job, "steps"))
	if err != nil || steps == nil {
		t.Fatalf("%s has no jobs.%s.steps: %v", workflow, job, err)
	}
	for _, s := range steps.Content() {
		rn := yaml.NewRNode(s)
		if name, _ := rn.GetString("name"); name == step {
			script, _ := rn.GetString("run")
			return script
		}
	}
	t.Fatalf("%s has no step %q", workflow, step)
	return ""
}

// bumpNginx changes the nginx image of a config file: a config change that
// leaves every injected nginx sidecar outdated.
func bumpNginx(t *testing.T, config string) {
	t.Helper()
	replaceInFile(t, config, "image: nginx:1.12.2", "image: nginx:1.27.0")
}

const staleTomcat = "manifests/tomcat.yaml:1: Deployment shop/tomcat: outdated: injected with another config"

func TestExampleCI(t *testing.T) {
	dir, binDir := exampleCopy(t, "ci")
	env := pathEnv(binDir)
	script := stepScript(t, filepath.Join(dir, "github-workflow.yaml"), "check", "Check")
	// GitHub reads ::add-matcher:: from stdout; here it is just a line.
	checkStep := func() ([]byte, []byte, int) { return runEnv(t, dir, env, nil, "bash", "-e", "-c", script) }

	out, stderr, code := checkStep()
	if code != 0 || !strings.Contains(string(stderr), "2 workloads, all as inject leaves them") {
		t.Fatalf("the committed example fails its check: exit %d\n%s%s", code, out, stderr)
	}
	before := readTree(t, dir, nil)
	bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
	out, _, code = checkStep()
	if code != 1 || !strings.Contains(string(out), staleTomcat) || !strings.Contains(string(out), "\x1b[32m+        image: nginx:1.27.0") {
		t.Errorf("after a config change: exit %d\n%s", code, out)
	}
	if diff := changedLines(t, before, readTree(t, dir, nil)); len(diff) != 1 || !strings.HasPrefix(diff[0], "sidecar-injector.yaml:") {
		t.Errorf("check wrote files: %v", diff)
	}

	// The problem matcher turns check's lines into annotations, and no
	// line of the diff.
	var matcher struct {
		ProblemMatcher []struct{ Pattern []struct{ Regexp string } }
	}
	data, err := os.ReadFile(filepath.Join(dir, "sidecar-injector-matcher.json"))
	if err != nil || json.Unmarshal(data, &matcher) != nil || len(matcher.ProblemMatcher) != 1 {
		t.Fatalf("sidecar-injector-matcher.json: %v", err)
	}
	re := regexp.MustCompile(matcher.ProblemMatcher[0].Pattern[0].Regexp)
	plain, _, _ := runEnv(t, dir, env, nil, filepath.Join(binDir, "sidecar-injector"), "check", "-c", "sidecar-injector.yaml", "-f", "manifests/", "--diff")
	var matched []string
	for _, line := range strings.Split(strings.TrimSpace(string(plain)), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			matched = append(matched, m[1]+":"+m[2])
		}
	}
	if strings.Join(matched, " ") != "manifests/tomcat.yaml:1" {
		t.Errorf("the matcher matches %v in:\n%s", matched, plain)
	}

	t.Run("kustomize", func(t *testing.T) {
		kustomize := tool(t, "kustomize")
		dir, binDir := exampleCopy(t, "ci")
		env := pathEnv(binDir, filepath.Dir(kustomize))
		build := func() ([]byte, []byte, int) {
			return runEnv(t, dir, env, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", ".")
		}
		out := must(t)(build())
		for _, f := range []string{"manifests/tomcat.yaml", "manifests/nightly-capture.yaml"} {
			want, _ := os.ReadFile(filepath.Join(dir, f))
			if got := semanticDocs(t, out, "Deployment", "CronJob"); !strings.Contains(got, semanticDocs(t, want, "Deployment", "CronJob")) {
				t.Errorf("the build changed %s:\n%s", f, out)
			}
		}
		bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
		_, stderr, code := build()
		if code == 0 || !strings.Contains(string(stderr), "error: Deployment shop/tomcat: outdated: injected with another config") {
			t.Errorf("the build of a stale repository: exit %d\n%s", code, stderr)
		}
	})

	t.Run("pre-commit hook", func(t *testing.T) {
		git := tool(t, "git")
		dir, binDir := exampleCopy(t, "ci")
		env := append(pathEnv(binDir, filepath.Dir(git)), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@local",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@local", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
		g := func(args ...string) ([]byte, []byte, int) { return runEnv(t, dir, env, nil, git, args...) }
		must(t)(g("init", "-q", "-b", "main"))
		copyTree(t, filepath.Join(dir, "pre-commit"), filepath.Join(dir, ".git", "hooks", "pre-commit"))
		must(t)(g("add", "."))
		must(t)(g("commit", "-q", "-m", "injected manifests"))

		bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
		must(t)(g("add", "sidecar-injector.yaml"))
		_, stderr, code := g("commit", "-q", "-m", "new nginx, not rolled out")
		if code == 0 || !strings.Contains(string(stderr), "fix with: sidecar-injector inject") {
			t.Fatalf("the hook let a stale commit in: exit %d\n%s", code, stderr)
		}
		// Fixed in the working tree only: the index is still stale.
		must(t)(runEnv(t, dir, env, nil, filepath.Join(binDir, "sidecar-injector"), "inject", "-q", "-c", "sidecar-injector.yaml", "-f", "manifests/", "--in-place"))
		if _, _, code := g("commit", "-q", "-m", "still not staged"); code == 0 {
			t.Fatal("the hook checked the working tree, not what is committed")
		}
		must(t)(g("add", "manifests/"))
		must(t)(g("commit", "-q", "-m", "new nginx, rolled out"))

		// The pre-commit framework's hook runs the same command.
		cfg := readYAML(t, filepath.Join(dir, "pre-commit-config.yaml"))
		entry, err := cfg.Pipe(yaml.Lookup("repos", "0", "hooks", "0", "entry"))
		if err != nil || entry == nil {
			t.Fatalf("pre-commit-config.yaml has no entry: %v", err)
		}
		must(t)(runEnv(t, dir, env, nil, "sh", "-c", entry.YNode().Value))
	})
}

// semanticDocs renders the documents of a stream of the given kinds as
// JSON, one per line, for comparisons of meaning.
func semanticDocs(t *testing.T, data []byte, kinds ...string) string {
	t.Helper()
	var lines []string
	for _, doc := range strings.Split(string(data), "\n---\n") {
		rn, err := yaml.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !containsString(kinds, rn.GetKind()) {
			continue
		}
		j, err := rn.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(j))
	}
	return strings.Join(lines, "\n")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kustomize's validators: field: the validating function fails the build
// on a stale workload, with its errors. On a repository that is current,
// kustomize v5.8.2 itself fails the build: it adds path annotations to the
// items, then calls them a change (kubernetes-sigs/kustomize#5036, the
// same with a validator that is just `cat`). This test pins that, so that
// the docs' advice (run the validator under transformers:) is revisited
// when kustomize fixes it.
func TestKustomizeValidatorsField(t *testing.T) {
	kustomize := tool(t, "kustomize")
	dir, binDir := exampleCopy(t, "ci")
	env := pathEnv(binDir, filepath.Dir(kustomize))
	replaceInFile(t, filepath.Join(dir, "kustomization.yaml"), "\ntransformers:\n", "\nvalidators:\n")
	build := func() ([]byte, []byte, int) {
		return runEnv(t, dir, env, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", ".")
	}
	_, stderr, code := build()
	if code == 0 || !strings.Contains(string(stderr), "validator shouldn't modify the resource map") {
		t.Errorf("kustomize's validators: now passes a current repository (exit %d); kustomize#5036 may be fixed: "+
			"update docs/krm-function.md and examples/ci\n%s", code, stderr)
	}
	bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
	_, stderr, code = build()
	if code == 0 || !strings.Contains(string(stderr), "error: Deployment shop/tomcat: outdated: injected with another config") {
		t.Errorf("a stale repository under validators: exit %d\n%s", code, stderr)
	}
}

// kpt's pipeline.validators: `kpt fn render` runs the function in validate
// mode on a copy of the package's resources: it passes on a current
// package, and fails with one error result per stale workload (resource,
// field, file), changing no file.
func TestKptValidator(t *testing.T) {
	kpt := tool(t, "kpt")
	example, binDir := exampleCopy(t, "ci")
	// A package of the example's manifests and config (kpt takes only
	// KRM files: not the workflow, nor the kustomization).
	dir := filepath.Join(filepath.Dir(example), "shop")
	copyTree(t, filepath.Join(example, "manifests"), filepath.Join(dir, "manifests"))
	copyTree(t, filepath.Join(example, "sidecar-injector.yaml"), filepath.Join(dir, "sidecar-injector.yaml"))
	kptfile := `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: shop
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  validators:
  - exec: sidecar-injector
    configPath: sidecar-injector.yaml
`
	if err := os.WriteFile(filepath.Join(dir, "Kptfile"), []byte(kptfile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := pathEnv(binDir, filepath.Dir(kpt))
	render := func() ([]byte, []byte, int) {
		return runEnv(t, dir, env, nil, kpt, "fn", "render", "--allow-exec", "--truncate-output=false", "--results-dir", t.TempDir())
	}
	before := readTree(t, dir, nil)
	must(t)(render())
	if diff := changedLines(t, before, readTree(t, dir, nil)); len(diff) > 0 {
		t.Errorf("a passing validator changed: %v", diff)
	}
	bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
	stale := readTree(t, dir, nil)
	_, stderr, code := render()
	want := `[error] apps/v1/Deployment/shop/tomcat spec.template.metadata.annotations["sidecar-injector.io/status"]: Deployment shop/tomcat (manifests/tomcat.yaml): outdated: injected with another config`
	if code == 0 || !strings.Contains(string(stderr), want) {
		t.Errorf("kpt render of a stale package: exit %d, want %q in:\n%s", code, want, stderr)
	}
	if diff := changedLines(t, stale, readTree(t, dir, nil)); len(diff) > 0 {
		t.Errorf("a failing validator changed: %v", diff)
	}
}

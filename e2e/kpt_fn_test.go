//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The function under kpt (1.0, on PATH): `kpt fn render` of a package whose
// Kptfile pipeline declares it (exec), and `kpt fn eval --exec`.

func TestKptRender(t *testing.T) {
	kpt := tool(t, "kpt")
	dir, _ := exampleCopy(t, "kpt")
	render := func() ([]byte, []byte, int) {
		return run(t, dir, nil, kpt, "fn", "render", "--allow-exec", "--truncate-output=false", "--results-dir", t.TempDir())
	}
	before := readTree(t, dir, notPackage)
	_, stderr, code := render()
	if code != 0 {
		t.Fatalf("render: exit code %d:\n%s", code, stderr)
	}
	// kpt shows the function's results, one per workload.
	for _, want := range []string{
		"[info] apps/v1/Deployment/shop/tomcat: injected: nginx",
		"[info] apps/v1/Deployment/shop/shop-frontend: injected: monitor",
		"[info] batch/v1/CronJob/shop/nightly-report: skipped: not requested",
	} {
		if !strings.Contains(string(stderr), want) {
			t.Errorf("kpt's output lacks %q:\n%s", want, stderr)
		}
	}
	rendered := readTree(t, dir, notPackage)
	for _, name := range []string{"tomcat.yaml", "packet-agent.yaml"} {
		if rendered[name] == before[name] {
			t.Fatalf("render left %s as it was", name)
		}
	}

	t.Run("again", func(t *testing.T) {
		must(t)(render())
		if diff := changedLines(t, rendered, readTree(t, dir, notPackage)); len(diff) > 0 {
			t.Errorf("a second render changed: %v", diff)
		}
	})

	// A new nginx image in the config: the next render upgrades the sidecar
	// (its image, and the digest in the status annotation), nothing else.
	t.Run("config change", func(t *testing.T) {
		bumpNginx(t, filepath.Join(dir, "sidecar-injector.yaml"))
		changedConfig := readTree(t, dir, notPackage)
		_, stderr, code := render()
		if code != 0 {
			t.Fatalf("render: exit code %d:\n%s", code, stderr)
		}
		if !strings.Contains(string(stderr), "[info] apps/v1/Deployment/shop/tomcat: upgraded: nginx") {
			t.Errorf("kpt's output lacks the upgrade:\n%s", stderr)
		}
		diff := changedLines(t, changedConfig, readTree(t, dir, notPackage))
		if len(diff) != 2 || !strings.HasPrefix(diff[0], `tomcat.yaml: sidecar-injector.io/status: '{"sets":["nginx"],"digest":"sha256:`) ||
			diff[1] != "tomcat.yaml: image: nginx:1.27.0" {
			t.Errorf("the upgrade changed:\n%s", strings.Join(diff, "\n"))
		}
	})

	// A workload asking for a set that does not exist: the render fails,
	// kpt shows the error (resource, field, file), and no file changes.
	t.Run("error", func(t *testing.T) {
		replaceInFile(t, filepath.Join(dir, "packet-agent.yaml"), "inject: monitor", "inject: monitr")
		broken := readTree(t, dir, notPackage)
		_, stderr, code := render()
		if code == 0 {
			t.Fatal("render succeeded")
		}
		want := `Deployment shop/shop-frontend (packet-agent.yaml): spec.template.metadata.annotations["sidecar-injector.io/inject"]: unknown sidecar set "monitr"`
		if !strings.Contains(string(stderr), want) {
			t.Errorf("kpt's output lacks %q:\n%s", want, stderr)
		}
		if diff := changedLines(t, broken, readTree(t, dir, notPackage)); len(diff) > 0 {
			t.Errorf("a failed render changed: %v", diff)
		}
	})
}

// kpt fn eval runs the binary once on a directory, here with the nginx and packet-capture
// ConfigMap as the config and the tutorial's annotations.
func TestKptEval(t *testing.T) {
	kpt := tool(t, "kpt")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "manifests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sleep := workloadYAML("Deployment", "sleep", `sidecar-injector-webhook.morven.me/inject: "true"`)
	if err := os.WriteFile(filepath.Join(dir, "sleep.yaml"), []byte(sleep), 0o644); err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(seedConfigMap, execAnnotation, "", 1)
	configPath := filepath.Join(tmp, "sidecar-injector-configmap.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	eval := func() ([]byte, []byte, int) {
		return run(t, tmp, nil, kpt, "fn", "eval", dir, "--exec", binary, "--fn-config", configPath)
	}
	_, stderr, code := eval()
	if code != 0 {
		t.Fatalf("eval: exit code %d:\n%s", code, stderr)
	}
	out, err := os.ReadFile(filepath.Join(dir, "sleep.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(containersOf(t, out, "Deployment", "sleep"), " "); got != "app sidecar-nginx" {
		t.Errorf("containers %q after eval:\n%s", got, out)
	}
	must(t)(eval())
	if again, _ := os.ReadFile(filepath.Join(dir, "sleep.yaml")); string(again) != string(out) {
		t.Errorf("a second eval changed the file:\n%s", again)
	}

	// No config: an error naming what is expected.
	_, stderr, code = run(t, tmp, nil, kpt, "fn", "eval", dir, "--exec", binary)
	if code == 0 || !strings.Contains(string(stderr), "missing: expected kind SidecarInjector") {
		t.Errorf("eval without a config: exit code %d:\n%s", code, stderr)
	}
}

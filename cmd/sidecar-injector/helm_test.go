package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// helmOutput is what `helm template` writes for a chart named shop: each
// document opened by a comment naming its template.
const helmOutput = `---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
---
# Source: shop/templates/deployment.yaml
` + goodDeployment

// TestFlagsWithoutCommand: flags and no command mean inject, from stdin
// unless files are named, so that Helm 3 needs one post-renderer argument
// (--post-renderer sidecar-injector --post-renderer-args=-c=mesh.yaml).
func TestFlagsWithoutCommand(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "mesh.yaml")
	file := filepath.Join(dir, "web.yaml")
	for p, data := range map[string]string{config: nginxConfig, file: goodDeployment} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	stdout, stderr, code := runCLI(t, []byte(helmOutput), "-c="+config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, _, _ := runCLI(t, []byte(helmOutput), "inject", "-c", config, "-f", "-")
	if stdout != want || !strings.Contains(stdout, "sidecar-nginx") {
		t.Errorf("flags alone differ from inject -f -:\n%s\nwant:\n%s", stdout, want)
	}
	if !strings.HasPrefix(stdout, "---\n# Source: shop/templates/service.yaml\n") {
		t.Errorf("Helm's comments lost:\n%s", stdout)
	}
	if !strings.Contains(stderr, "injected   Deployment web (stdin:11, template shop/templates/deployment.yaml): nginx") {
		t.Errorf("report does not name the template:\n%s", stderr)
	}

	// Files named: stdin is not read.
	stdout, stderr, code = runCLI(t, []byte("not: [yaml"), "--config", config, file)
	if code != 0 || !strings.Contains(stdout, "sidecar-nginx") {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// Missing config: the usage error of inject.
	_, stderr, code = runCLI(t, []byte(helmOutput), "-q")
	if code != 2 || !strings.Contains(stderr, "sidecar-injector inject: missing -c CONFIG") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestErrorNamesTemplate: a post-renderer reads stdin, so errors name the
// chart template that Helm's comment gives, beside the line.
func TestErrorNamesTemplate(t *testing.T) {
	config := filepath.Join(t.TempDir(), "mesh.yaml")
	if err := os.WriteFile(config, []byte(nginxConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(helmOutput, `inject: "true"`, `inject: "mesh"`, 1)
	stdout, stderr, code := runCLI(t, []byte(bad), "inject", "-c", config, "-f", "-")
	want := `error: Deployment web (stdin:11, template shop/templates/deployment.yaml): spec.template.metadata.annotations["sidecar-injector.io/inject"]: `
	if code != 1 || stdout != "" || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to contain %q", code, stdout, stderr, want)
	}

	// Invalid YAML, which has no resource to name.
	bad = strings.Replace(helmOutput, "  - port: 80\n", "  - port: [80\n", 1)
	_, stderr, code = runCLI(t, []byte(bad), "inject", "-c", config, "-f", "-")
	if want := "error: stdin:8, template shop/templates/service.yaml: invalid YAML"; code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr:\n%s\nwant it to contain %q", code, stderr, want)
	}
}

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

//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The container form (`container: {image: ...}`) as kustomize runs it:
// `docker run --rm -i ... IMAGE`, no arguments after the image, the
// ResourceList on stdin. No Docker engine runs here, so a stand-in docker
// on PATH runs the freshly built binary as the image's entrypoint would
// (the Dockerfile's ENTRYPOINT is the binary alone, see fn_image_test.go).
// This checks kustomize's side and the binary's no-argument contract, not
// the image.
func TestKustomizeContainerForm(t *testing.T) {
	kustomize := tool(t, "kustomize")
	const image = "ghcr.io/sidecar-injector/sidecar-injector:v0.1.0"
	shimDir := t.TempDir()
	argsFile := filepath.Join(shimDir, "docker.args")
	shim := "#!/bin/sh\n" +
		"printf '%s\\n' \"$@\" > '" + argsFile + "'\n" +
		"[ \"$1\" = run ] || exit 97\n" +
		"exec '" + binary + "'\n"
	if err := os.WriteFile(filepath.Join(shimDir, "docker"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	resources := []string{
		workloadYAML("Deployment", "tomcat", `sidecar-injector.io/inject: "true"`),
		workloadYAML("Deployment", "monitored", `sidecar-injector.io/inject: monitor`),
	}
	container := strings.Replace(injector, execAnnotation, `  annotations:
    config.kubernetes.io/function: |
      container:
        image: `+image+"\n", 1)
	dir := kustomization(t, container, resources...)
	out := must(t)(runEnv(t, dir, pathEnv(shimDir), nil, kustomize, "build", "--enable-alpha-plugins", "."))

	execDir := kustomization(t, injector, resources...)
	want := must(t)(run(t, execDir, nil, kustomize, "build", "--enable-alpha-plugins", "--enable-exec", "."))
	if !bytes.Equal(out, want) {
		t.Errorf("the container form and the exec form differ:\ncontainer:\n%s\nexec:\n%s", out, want)
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("kustomize did not run docker: %v", err)
	}
	args := strings.Split(strings.TrimSpace(string(data)), "\n")
	if args[0] != "run" || args[len(args)-1] != image || !strings.Contains(string(data), "--network\nnone\n") {
		t.Errorf("docker %q: want `run ... --network none ... %s` with nothing after the image", args, image)
	}
}

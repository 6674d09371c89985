//go:build e2e

// Package e2e runs the built binary with the real tools users run it with:
// the kustomize CLI, kpt, and a kube-apiserver backed by etcd. `make e2e`
// installs the tools (hack/install-tools.sh) and runs these tests.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// exampleSets is the spec of a SidecarInjector with the two sets of the examples: the
// nginx reverse proxy (the default) and the packet-capture agent.
var exampleSets = `spec:
  sidecars:
` + fixture.Indent(fixture.NginxSet, 2) + fixture.Indent(fixture.PacketAgentSet, 2)

// binary is the sidecar-injector built for this test run.
var binary string

// root is the repository's root directory.
var root = golden.Root()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sidecar-injector-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sidecar-injector")
	build := exec.Command("go", "build", "-o", binary, "./cmd/sidecar-injector")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sidecar-injector: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tool returns the path of a required command, failing the test when it is
// missing: end-to-end tests never skip silently.
func tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH: run `make tools` (or `make e2e`, which does)", name)
	}
	return path
}

// run runs a command and returns its stdout, stderr and exit code.
func run(t testing.TB, dir string, stdin []byte, name string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	return runEnv(t, dir, nil, stdin, name, args...)
}

// runEnv is run with an environment (nil: this process's).
func runEnv(t testing.TB, dir string, env []string, stdin []byte, name string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return out.Bytes(), errb.Bytes(), exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.Bytes(), errb.Bytes(), 0
}

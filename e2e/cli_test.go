//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// cliExamples are the README's CLI commands on the bundled examples.
var cliExamples = []struct {
	name, dir, input string
	args             []string
}{
	{"nginx", "examples/nginx", "app.yaml", []string{"-c", "examples/nginx/config.yaml"}},
	{"packet-capture", "examples/packet-capture", "nginx-deployment.yaml",
		[]string{"-c", "examples/packet-capture/sidecarconfig.yaml", "--annotation-prefix", "sidecar-injector-webhook.morven.me"}},
	{"parameters", "examples/parameters", "app.yaml", []string{"-c", "examples/parameters/config.yaml"}},
}

// TestExampleCLI runs the built binary on each example and compares with
// its expected.yaml; then checks that a second run changes nothing and
// that uninject gives the input back, byte for byte.
func TestExampleCLI(t *testing.T) {
	for _, ex := range cliExamples {
		t.Run(ex.name, func(t *testing.T) {
			input := filepath.Join(ex.dir, ex.input)
			args := append([]string{"inject"}, ex.args...)
			out, stderr, code := run(t, root, nil, binary, append(args, "-f", input)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			expected := filepath.Join(root, ex.dir, "expected.yaml")
			if golden.Updating() {
				if err := os.WriteFile(expected, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(expected)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("output differs from %s (UPDATE_GOLDEN=1 to rewrite, then review):\n%s", expected, golden.Diff(want, out))
			}
			if !strings.Contains(string(stderr), "injected") {
				t.Errorf("no report on stderr: %q", stderr)
			}
			again, _, code := run(t, root, out, binary, append(args, "-q", "-f", "-")...)
			if code != 0 || !bytes.Equal(again, out) {
				t.Errorf("second run (exit %d) changed the output:\n%s", code, golden.Diff(out, again))
			}
			back, _, code := run(t, root, out, binary, append(append([]string{"uninject"}, ex.args...), "-q", "-f", "-")...)
			original, _ := os.ReadFile(filepath.Join(root, input))
			if code != 0 || !bytes.Equal(back, original) {
				t.Errorf("uninject (exit %d) did not give back %s:\n%s", code, input, golden.Diff(original, back))
			}
		})
	}
}

// TestCLIExitCodes: 0 on success, 1 on bad input (with nothing on stdout),
// 2 on bad usage.
func TestCLIExitCodes(t *testing.T) {
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    sidecar-injector.io/inject: \"true\"\nspec:\n  template:\n    spec:\n      containers: {}\n")
	out, stderr, code := run(t, root, bad, binary, "inject", "-c", "examples/nginx/config.yaml", "-f", "-")
	if code != 1 || len(out) != 0 || !strings.Contains(string(stderr), "Deployment web (stdin:1): spec.template.spec.containers: expected a list, got a map") {
		t.Errorf("bad input: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, _, code := run(t, root, nil, binary, "inject", "-f", "x.yaml"); code != 2 {
		t.Errorf("missing -c: exit %d, want 2", code)
	}
	if _, _, code := run(t, root, nil, binary, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if out, _, code := run(t, root, nil, binary, "version"); code != 0 || len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

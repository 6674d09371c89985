//go:build e2e

package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// The binary as orchestrators start it: no arguments, a ResourceList on
// stdin. `sidecar-injector fn` is the same function, said explicitly.
func TestFnBinary(t *testing.T) {
	in := workload.ResourceList(3)
	implicit := must(t)(run(t, root, in, binary))
	explicit := must(t)(run(t, root, in, binary, "fn"))
	if !bytes.Equal(implicit, explicit) {
		t.Error("`sidecar-injector` and `sidecar-injector fn` differ")
	}
	if n := bytes.Count(itemsOf(implicit), []byte("- name: sidecar-nginx")); n != 3 {
		t.Errorf("%d sidecars injected, want 3:\n%s", n, implicit)
	}
	if again := must(t)(run(t, root, implicit, binary)); !bytes.Equal(itemsOf(again), itemsOf(implicit)) {
		t.Error("running the function on its own output changed the items")
	}

	cases := map[string]struct {
		stdin  []byte
		args   []string
		code   int
		stdout string
		stderr string
	}{
		"error result": {
			stdin: bytes.Replace(in, []byte("image: nginx:1.12.2"), []byte("image: [nginx]"), 1),
			code:  1, stdout: "severity: error",
			stderr: "error: config functionConfig: spec.sidecars[0].containers[0].image: expected a string, got a list",
		},
		"empty stdin":    {stdin: []byte{}, code: 2, stderr: "expected a ResourceList on stdin"},
		"no list":        {stdin: []byte("kind: Deployment\n"), code: 1, stderr: `expected kind ResourceList, got "Deployment"`},
		"an argument":    {stdin: in, args: []string{"fn", "config.yaml"}, code: 2, stderr: "takes no arguments"},
		"fn help":        {stdin: in, args: []string{"fn", "-h"}, code: 0, stdout: "Usage: sidecar-injector fn"},
		"listed in help": {args: []string{"help"}, code: 0, stdout: "  fn "},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := run(t, root, c.stdin, binary, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(string(stdout), c.stdout) || !strings.Contains(string(stderr), c.stderr) {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant %q and %q", stdout, stderr, c.stdout, c.stderr)
			}
			if c.code != 0 && c.stdout == "" && len(stdout) > 0 {
				t.Errorf("wrote to stdout although nothing could be read:\n%s", stdout)
			}
		})
	}
}

// itemsOf cuts a written ResourceList down to its items.
func itemsOf(rl []byte) []byte {
	if i := bytes.Index(rl, []byte("\nfunctionConfig:\n")); i >= 0 {
		return rl[:i]
	}
	return rl
}

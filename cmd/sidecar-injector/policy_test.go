package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// examples/policy/policy.yaml is what the command prints for the example.
func TestPolicyExample(t *testing.T) {
	dir := filepath.Join(golden.Root(), "examples", "policy")
	var out, errw bytes.Buffer
	code := runPolicy([]string{"-c", filepath.Join(dir, "config.yaml"), "--namespace-selector", "sidecar-injector=enabled"}, nil, &out, &errw)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	(&golden.Case{Name: "examples/policy", Dir: dir}).CheckFile(t, "policy.yaml", out.Bytes())
	for _, want := range []string{"kind: MutatingAdmissionPolicy\n", "kind: MutatingAdmissionPolicyBinding\n", "kind: ValidatingAdmissionPolicy\n",
		"kind: ValidatingAdmissionPolicyBinding\n", "sidecar-injector: enabled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	skip := filepath.Join(dir, "skip.yaml")
	if err := os.WriteFile(skip, []byte(`apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: x}
spec:
  onConflict: skip
  sidecars:
  - {name: a, default: true, containers: [{name: a, image: "a:1"}]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// parameters: examples/parameters' config
	params := filepath.Join("..", "..", "examples", "parameters", "config.yaml")
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "missing -c CONFIG"},
		{[]string{"-c", skip, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"-c", skip, "--namespace-selector", "a in (b"}, 2, "--namespace-selector"},
		{[]string{"-c", filepath.Join(dir, "none.yaml")}, 1, "none.yaml"},
		{[]string{"-c", skip}, 1, skip + `: onConflict: cannot be expressed as an admission policy: "skip"`},
		{[]string{"-c", params}, 1, `parameters: cannot be expressed as an admission policy: set "nginx" declares parameters`},
	}
	for _, c := range cases {
		var out, errw bytes.Buffer
		code := runPolicy(c.args, nil, &out, &errw)
		if code != c.code || !strings.Contains(errw.String(), c.stderr) || out.Len() > 0 {
			t.Errorf("policy %v: exit %d, stderr %q, stdout %d bytes; want exit %d, stderr with %q and no stdout",
				c.args, code, errw.String(), out.Len(), c.code, c.stderr)
		}
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// kustomize and kpt start the binary with no arguments: the function is
// the default command, and `fn` names it.
func TestFnCommand(t *testing.T) {
	in := workload.ResourceList(2)
	var implicit, explicit, stderr bytes.Buffer
	if code := run(nil, bytes.NewReader(in), &implicit, &stderr); code != 0 {
		t.Fatalf("no arguments: exit code %d: %s", code, stderr.String())
	}
	if code := run([]string{"fn"}, bytes.NewReader(in), &explicit, &stderr); code != 0 {
		t.Fatalf("fn: exit code %d: %s", code, stderr.String())
	}
	if !bytes.Equal(implicit.Bytes(), explicit.Bytes()) {
		t.Error("the default command and `fn` differ")
	}
	if !bytes.Contains(explicit.Bytes(), []byte("message: 'injected: nginx'")) {
		t.Errorf("no injection reported:\n%s", explicit.String())
	}

	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"fn", "-h"}, 0, "Usage: sidecar-injector fn"},
		{[]string{"fn", "extra"}, 2, "takes no arguments"},
		{[]string{"help"}, 0, "  fn "},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, strings.NewReader(""), &out, &errb)
		if code != c.code || !strings.Contains(out.String()+errb.String(), c.out) {
			t.Errorf("%v: exit code %d, output %q; want %d and %q", c.args, code, out.String()+errb.String(), c.code, c.out)
		}
	}
}

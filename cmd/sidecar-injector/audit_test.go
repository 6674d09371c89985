package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// TestGoldenCheck runs check on every shared case's input and compares its
// output with check.txt. check passes exactly where inject would leave the
// input as it is (live objects aside: they are judged by meaning), and
// always passes on inject's output.
func TestGoldenCheck(t *testing.T) {
	for _, c := range golden.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Chdir(c.Dir)
			args := []string{"check", "-c", "config.yaml", "-f", c.InputFile}
			if p := c.Options.AnnotationPrefix; p != "" {
				args = append(args, "--annotation-prefix", p)
			}
			stdout, stderr, code := runCLI(t, nil, args...)
			if code == 2 {
				t.Fatalf("exit code 2: %s", stderr)
			}
			c.CheckFile(t, "check.txt", []byte(fmt.Sprintf("%sexit: %d\n", stdout, code)))

			injected, injectErr, injectCode := runCLI(t, nil, append([]string{"inject"}, args[1:]...)...)
			switch {
			case injectCode != 0 && code != 1:
				t.Errorf("inject fails (%s) but check exits %d", injectErr, code)
			case injectCode == 0 && injected != string(c.Input) && code != 1 && !strings.Contains(string(c.Input), "resourceVersion:"):
				t.Errorf("inject changes the input but check exits %d", code)
			case injectCode == 0 && injected == string(c.Input) && code != 0:
				t.Errorf("inject leaves the input as it is but check exits %d:\n%s", code, stdout)
			}
			if injectCode != 0 {
				return
			}
			out, stderr, code := runCLI(t, []byte(injected), append(args[:len(args)-2], "-f", "-")...)
			if code != 0 || out != "" {
				t.Errorf("check of inject's output: exit %d:\n%s%s", code, out, stderr)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
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

func TestAuditFlags(t *testing.T) {
	cases := map[string]struct {
		mode string
		args []string
		want string // part of the usage error; "" for success
	}{
		"check":          {"check", []string{"-c", "c.yaml", "-f", "a.yaml", "--diff", "--color", "never", "-q"}, ""},
		"report":         {"report", []string{"-c", "c.yaml", "-f", "-", "-o", "json", "--kube-version", "1.28"}, ""},
		"no config":      {"check", []string{"-f", "a.yaml"}, "missing -c CONFIG"},
		"no files":       {"report", []string{"-c", "c.yaml"}, "missing -f"},
		"bad color":      {"check", []string{"-c", "c.yaml", "-f", "a", "--color", "red"}, "--color: expected auto, always or never"},
		"bad output":     {"report", []string{"-c", "c.yaml", "-f", "a", "-o", "xml"}, "-o: expected table, json or yaml"},
		"diff on report": {"report", []string{"-c", "c.yaml", "-f", "a", "--diff"}, "flag provided but not defined"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, append([]string{tc.mode}, tc.args...)...)
			if tc.want == "" {
				if code == 2 {
					t.Fatalf("usage error: %s", stderr)
				}
				return
			}
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}

// check writes nothing, and its --diff is the patch inject would apply:
// applied to the input, it gives inject's output. Colour only when asked
// (the tests' stdout is no terminal).
func TestCheckDiff(t *testing.T) {
	inConfigDir(t)
	other := strings.Replace(goodDeployment, "name: web\n", "name: api\n", 1)
	input := "# two workloads\n" + goodDeployment + "---\n" + strings.Replace(other, `"true"`, `"false"`, 1) + "---\n" + other
	testio.WriteFile(t, "input.yaml", input)
	stdout, stderr, code := runCLI(t, nil, "check", "-c", "config.yaml", "-f", "input.yaml", "--diff")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.SplitN(stdout, "--- a/input.yaml\n", 2)
	if len(lines) != 2 {
		t.Fatalf("no diff:\n%s", stdout)
	}
	if want := "input.yaml:1: Deployment web: not injected: asks for nginx\ninput.yaml:30: Deployment api: not injected: asks for nginx\n"; lines[0] != want {
		t.Errorf("lines:\n%s\nwant:\n%s", lines[0], want)
	}
	if !strings.Contains(stderr, "2 of 3 workloads stale") {
		t.Errorf("summary: %s", stderr)
	}
	if got, _ := os.ReadFile("input.yaml"); string(got) != input {
		t.Fatal("check changed the file")
	}
	injected, _, _ := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "input.yaml")
	testio.WriteFile(t, "fix.patch", "--- a/input.yaml\n"+lines[1])
	if out, err := exec.Command("patch", "-p1", "--dry-run", "-o", "patched.yaml", "-i", "fix.patch").CombinedOutput(); err != nil {
		t.Skipf("no usable patch(1): %v %s", err, out)
	}
	if out, err := exec.Command("patch", "-p1", "-o", "patched.yaml", "-i", "fix.patch").CombinedOutput(); err != nil {
		t.Fatalf("patch: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile("patched.yaml"); string(got) != injected {
		t.Errorf("the diff applied gives\n%s\nwant inject's output\n%s", got, injected)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Error("coloured output on a pipe")
	}
	colored, _, _ := runCLI(t, nil, "check", "-c", "config.yaml", "-f", "input.yaml", "--diff", "--color", "always")
	if !strings.Contains(colored, "\x1b[32m+") {
		t.Error("--color always did not colour")
	}
	again, _, code := runCLI(t, []byte(injected), "check", "-c", "config.yaml", "-f", "-", "--diff")
	if code != 0 || again != "" {
		t.Errorf("check of inject's output: exit %d\n%s", code, again)
	}
}

func TestReportFormats(t *testing.T) {
	inConfigDir(t)
	injected, _, code := runCLI(t, []byte(goodDeployment), "inject", "-q", "-c", "config.yaml", "-f", "-")
	if code != 0 {
		t.Fatal("inject failed")
	}
	live := strings.Replace(injected, "  name: web\n", "  name: web\n  resourceVersion: \"42\"\n", 1)
	testio.WriteFile(t, "app.yaml", injected+"---\n"+strings.Replace(goodDeployment, "name: web\n", "name: api\n", 1))

	table, stderr, code := runCLI(t, nil, "report", "-c", "config.yaml", "-f", "app.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// api starts on the line after injected and the separator.
	want := fmt.Sprintf(`KIND        NAMESPACE/NAME  SOURCE      ASKED  INJECTED  DIGEST                   CURRENT  STATE
Deployment  web             app.yaml:1  nginx  nginx     sha256:DIGEST  yes      current
Deployment  api             app.yaml:%d  nginx  -         -                        -        not injected
`, strings.Count(injected, "\n")+2)
	digest := regexp.MustCompile(`sha256:[0-9a-f]{16}`).FindString(injected)
	got := strings.ReplaceAll(table, digest, "sha256:DIGEST")
	if strings.Fields(got) == nil || strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
		t.Errorf("table:\n%s\nwant:\n%s", table, want)
	}
	if !strings.Contains(stderr, "2 workloads, 1 current, 1 not injected") {
		t.Errorf("summary: %s", stderr)
	}

	out, _, code := runCLI(t, []byte(live), "report", "-c", "config.yaml", "-f", "-", "-o", "json")
	var rows []reportRow
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	if len(rows) != 1 || !rows[0].Live || rows[0].State != "current" || !rows[0].DigestCurrent || rows[0].Source != "stdin:1" ||
		strings.Join(rows[0].Injected, ",") != "nginx" {
		t.Errorf("json rows: %+v", rows)
	}
	out, _, code = runCLI(t, nil, "report", "-c", "config.yaml", "-f", "app.yaml", "-o", "yaml")
	var yrows []reportRow
	if err := sigsyaml.Unmarshal([]byte(out), &yrows); code != 0 || err != nil || len(yrows) != 2 || yrows[1].State != "not injected" {
		t.Errorf("yaml: exit %d, %v, %+v\n%s", code, err, yrows, out)
	}
	empty, _, code := runCLI(t, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"), "report", "-c", "config.yaml", "-f", "-", "-o", "json")
	if code != 0 || strings.TrimSpace(empty) != "[]" {
		t.Errorf("no workloads: exit %d, %q", code, empty)
	}
}

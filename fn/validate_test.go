package fn_test

import (
	"regexp"
	"strings"
	"testing"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// checkLine is a line of check.txt: "input.yaml:12: Deployment web: not injected: ...".
var checkLine = regexp.MustCompile(`^(input\.(?:yaml|json)):\d+: (.*?): ((?:not injected|outdated|drifted|should be removed|error): .*)$`)

// Every shared case runs through the function as a validator
// (functionMode: validate): it changes no item, and its error results say
// what `sidecar-injector check` says in check.txt, one per line.
func TestGoldenValidate(t *testing.T) {
	ran := 0
	for _, c := range golden.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			checkTxt, err := readFile(c, "check.txt")
			if err != nil {
				t.Fatal(err)
			}
			if errs, err := readFile(c, "errors.txt"); err == nil && strings.HasPrefix(errs, "config ") {
				t.Skip("a config error: the same in either mode, see TestGolden")
			}
			in, ok := caseResourceListWith(t, c, map[string]string{"functionMode": "validate"})
			if !ok {
				t.Skip("not YAML: no orchestrator could send it, see TestGolden")
			}
			ran++
			out, stderr, code := run(t, in)
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(checkTxt), "\n") {
				if strings.HasPrefix(line, "exit: ") {
					continue
				}
				m := checkLine.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("check.txt line not understood: %q", line)
				}
				want = append(want, m[2]+" ("+m[1]+"): "+m[3])
			}
			if wantCode := map[bool]int{true: fn.ExitFailed, false: fn.ExitOK}[len(want) > 0]; code != wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, wantCode, stderr)
			}
			rl := mustRead(t, out)
			var got []string
			for _, r := range results(t, rl) {
				if r.Severity != kptfn.Error {
					continue
				}
				got = append(got, r.Message)
				if r.ResourceRef == nil || r.File == nil || r.File.Path != c.InputFile {
					t.Errorf("error result without resourceRef or file: %+v", r)
				}
				if r.Field == nil && !strings.Contains(r.Message, "): error: ") {
					t.Errorf("a stale workload's result without a field: %+v", r)
				}
			}
			if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
				t.Errorf("error results differ from check.txt:\n%s", golden.Diff([]byte(w), []byte(g)))
			}
			if got, want := itemsText(t, rl), itemsText(t, mustRead(t, in)); got != want {
				t.Errorf("the validator changed the items:\n%s", golden.Diff([]byte(want), []byte(got)))
			}
		})
	}
	if ran < 50 {
		t.Errorf("only %d cases ran through the validator", ran)
	}
}

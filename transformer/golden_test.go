package transformer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/manifest"
)

// runCase runs the engine over a case's input the way the CLI does.
func runCase(c *golden.Case, input []byte, uninject bool) ([]byte, string, error) {
	cfg, err := LoadConfig(c.Config, "config.yaml")
	if err != nil {
		return nil, "", err
	}
	if p := c.Options.AnnotationPrefix; p != "" {
		if err := cfg.SetAnnotationPrefix(p); err != nil {
			return nil, "", err
		}
	}
	out, _, results, err := runStream(cfg, input, c.InputFile, uninject)
	if err != nil {
		return nil, "", err
	}
	return out, Report(results), nil
}

func errorLines(err error) string {
	var lines []string
	for _, e := range ErrorList(err) {
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

func TestGolden(t *testing.T) {
	defer func() {
		if n := manifest.SpliceMismatches(); n > 0 {
			t.Errorf("the writer's splice did not parse back to the edited tree %d times", n)
		}
	}()
	for _, c := range golden.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			out, report, err := runCase(c, c.Input, c.Options.Uninject)
			if err != nil {
				c.Check(t, golden.Outcome{Errors: errorLines(err)})
				return
			}
			c.Check(t, golden.Outcome{Output: out, Report: report})

			// Idempotent: a second run changes nothing, byte for byte.
			again, _, err := runCase(c, out, c.Options.Uninject)
			if err != nil {
				t.Fatalf("second run failed: %v", err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("second run changed the output:\n%s", golden.Diff(out, again))
			}
			// uninject gives back the input.
			if c.RoundTrip() {
				back, _, err := runCase(c, out, true)
				if err != nil {
					t.Fatalf("uninject failed: %v", err)
				}
				if !bytes.Equal(back, c.Input) {
					t.Errorf("uninject(inject(input)) != input:\n%s", golden.Diff(c.Input, back))
				}
			}
		})
	}
}

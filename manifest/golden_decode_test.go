package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// TestGoldenOutputsDecodeAsKubectlReads: every expected output of the
// shared cases reads, as kubectl reads YAML (sigs.k8s.io/yaml, YAML 1.1),
// into its Kubernetes type: no injected string turned into a boolean or a
// number, no unknown or duplicate field.
func TestGoldenOutputsDecodeAsKubectlReads(t *testing.T) {
	for _, c := range golden.Cases(t) {
		data, err := os.ReadFile(c.Path(c.ExpectedFile))
		if err != nil {
			continue // a case that fails: no output
		}
		t.Run(c.Name, func(t *testing.T) { decodeStrict(t, filepath.Join(c.Name, c.ExpectedFile), data) })
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

const jsonDeployment = `{
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api"},
    "spec": {
        "template": {
            "metadata": {"annotations": {"sidecar-injector.io/inject": "true"}},
            "spec": {
                "containers": [
                    {"name": "api", "image": "api:1"}
                ]
            }
        }
    }
}
`

// TestDirectoryJSON: a directory's *.json manifests are injected in place
// as JSON, and uninject gives back their bytes.
func TestDirectoryJSON(t *testing.T) {
	inConfigDir(t)
	testio.WriteFile(t, "manifests/api.json", jsonDeployment)
	testio.WriteFile(t, "manifests/web.yaml", goodDeployment)
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "manifests", "--in-place")
	if code != 0 || !strings.Contains(stderr, "injected   Deployment api (manifests/api.json:1)") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var obj map[string]any
	if got := testio.ReadFile(t, "manifests/api.json"); json.Unmarshal([]byte(got), &obj) != nil || !strings.Contains(got, `"name": "sidecar-nginx"`) {
		t.Fatalf("api.json is not injected JSON:\n%s", got)
	}
	if _, stderr, code := runCLI(t, nil, "uninject", "-f", "manifests", "--in-place"); code != 0 {
		t.Fatalf("uninject: exit %d, stderr:\n%s", code, stderr)
	}
	if got := testio.ReadFile(t, "manifests/api.json"); got != jsonDeployment {
		t.Errorf("uninject did not give back api.json:\n%s", got)
	}
}

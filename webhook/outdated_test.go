package webhook

import (
	"bytes"
	"strings"
	"testing"
)

// A pod made from a template injected at build time with another config is
// admitted as it is, and counted by set in
// sidecar_injector_outdated_pods_total: the sets it does not hold as the
// config defines them now. Set names the config does not hold share one
// label, since the status is written by the pod's author.
func TestOutdatedMetric(t *testing.T) {
	both := strings.Replace(servedPod, `"sidecar-injector.io/inject":"true"`, `"sidecar-injector.io/inject":"nginx,monitor"`, 1)
	if both == servedPod {
		t.Fatal("servedPod does not ask for the default sets")
	}
	old := loadInjector(t, strings.Replace(nginxConfig, "nginx:1.12.2", "nginx:1.11.0", 1))
	injectedOld := applyPatch(t, []byte(both), admitPod(t, testHandler(old), []byte(both), false).Patch)
	current := loadInjector(t, nginxConfig)
	injectedNow := applyPatch(t, []byte(both), admitPod(t, testHandler(current), []byte(both), false).Patch)
	forged := bytes.Replace(injectedOld, []byte(`\"sets\":[\"nginx\",\"monitor\"]`), []byte(`\"sets\":[\"nginx\",\"monitor\",\"x1\",\"x2\"]`), 1)
	if bytes.Equal(forged, injectedOld) {
		t.Fatalf("no sets list to forge in %s", injectedOld)
	}

	h := testHandler(current)
	for _, pod := range [][]byte{injectedOld, injectedOld, injectedNow, forged} {
		if resp := admitPod(t, h, pod, false); !resp.Allowed || resp.Patch != nil {
			t.Fatalf("want admitted as it is, got %+v", resp)
		}
	}
	for set, want := range map[string]uint64{"nginx": 3, "monitor": 0, "unconfigured": 1, "x1": 0} {
		if got := h.Metrics.outdated.get(set); got != want {
			t.Errorf("outdated{set=%q} = %d, want %d", set, got, want)
		}
	}
	var b bytes.Buffer
	if _, err := h.Metrics.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `sidecar_injector_outdated_pods_total{set="nginx"} 3`+"\n") {
		t.Errorf("metrics lack the outdated count:\n%s", b.String())
	}
}

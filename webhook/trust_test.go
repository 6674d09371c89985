package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
)

// Pods whose authors wrote the status annotation themselves: the webhook
// believes it only for what the pod holds (see transformer/trust.go).

// enabledConfig: the packet agent for every pod that does not opt out.
var enabledConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: capture}
spec:
  policy: enabled
  sidecars:
` + fixture.Indent(fixture.PacketAgentHead, 2) + `    default: true
` + fixture.Indent(fixture.PacketAgentSidecar, 4)

// requiredConfig: the packet agent with limits (the API server adds
// requests from them), required, next to the nginx proxy.
var requiredConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: capture}
spec:
  sidecars:
` + fixture.Indent(fixture.PacketAgentHead, 2) + `    required: true
` + fixture.Indent(fixture.PacketAgentSidecar, 4) + `      resources:
        limits: {cpu: "0.5", memory: 64Mi}
  - name: nginx
    default: true
    containers:
    - name: sidecar-nginx
      image: nginx:1.12.2
`

func podWith(annotations map[string]string, containers string) []byte {
	ann, _ := json.Marshal(annotations)
	return []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":` + string(ann) +
		`},"spec":{"containers":[` + containers + `]}}`)
}

const appContainer = `{"name":"app","image":"example.com/app:1"}`

// containerNames applies a response's patch and lists the pod's containers
// and init containers.
func containerNames(t *testing.T, pod []byte, patch []byte) []string {
	t.Helper()
	if patch != nil {
		pod = applyPatch(t, pod, patch)
	}
	var p struct {
		Spec struct{ Containers, InitContainers []struct{ Name string } }
	}
	if err := json.Unmarshal(pod, &p); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
		names = append(names, c.Name)
	}
	return names
}

func TestWrittenStatusCannotBypassPolicyEnabled(t *testing.T) {
	h := testHandler(loadInjector(t, enabledConfig))
	for name, status := range map[string]string{
		"empty status":             `{"sets":[],"digest":""}`,
		"tutorial's value":         "injected",
		"lists an absent sidecar":  `{"sets":["monitor"],"digest":"sha256:0000000000000000","containers":{"sidecar-monitor":"000000000000"}}`,
		"earlier format, absent":   `{"sets":["monitor"],"digest":"x","containers":["sidecar-monitor"]}`,
		"lists nothing but a set":  `{"sets":["monitor"],"digest":"sha256:e2457b09a8cb0983"}`,
		"uppercase keys, no items": `{"Sets":["monitor"],"Digest":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			pod := podWith(map[string]string{"sidecar-injector.io/status": status}, appContainer)
			resp := admitPod(t, h, pod, false)
			if !resp.Allowed {
				// a status the injector cannot read is denied, never trusted
				if !strings.Contains(resp.Result.Message, "status") {
					t.Fatalf("denied for another reason: %s", resp.Result.Message)
				}
				return
			}
			got := containerNames(t, pod, resp.Patch)
			if strings.Join(got, ",") != "app,sidecar-monitor" {
				t.Errorf("containers %v: the status let the pod skip the agent", got)
			}
		})
	}
}

func TestWrittenStatusCannotRemoveAppItems(t *testing.T) {
	h := testHandler(loadInjector(t, enabledConfig))
	for name, status := range map[string]string{
		"earlier format names the app":  `{"sets":["monitor"],"digest":"x","containers":["app"]}`,
		"fingerprint that does not fit": `{"sets":["monitor"],"digest":"x","containers":{"app":"0123456789ab"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			pod := podWith(map[string]string{"sidecar-injector.io/status": status}, appContainer)
			resp := admitPod(t, h, pod, false)
			if resp.Allowed {
				t.Fatalf("allowed with containers %v", containerNames(t, pod, resp.Patch))
			}
			if msg := resp.Result.Message; !strings.Contains(msg, `container "app"`) {
				t.Errorf("message does not name the item: %s", msg)
			}
		})
	}
}

// TestBuildTimeInjectionAsServed: a pod made from a template injected at
// build time reaches the webhook with the API server's defaults in its
// sidecar (imagePullPolicy, terminationMessagePath, requests from limits,
// canonical quantities); its status is still believed.
func TestBuildTimeInjectionAsServed(t *testing.T) {
	inj := loadInjector(t, requiredConfig)
	h := testHandler(inj)
	pod := podWith(map[string]string{"sidecar-injector.io/inject": "true"}, appContainer)
	injected := applyPatch(t, pod, admitPod(t, h, pod, false).Patch)
	served := strings.Replace(string(injected), `"resources":{"limits":{"cpu":"0.5","memory":"64Mi"}}`,
		`"resources":{"limits":{"cpu":"500m","memory":"64Mi"},"requests":{"cpu":"500m","memory":"64Mi"}},`+
			`"imagePullPolicy":"IfNotPresent","terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"`, 1)
	if served == string(injected) {
		t.Fatalf("test pod not as expected: %s", injected)
	}
	resp := admitPod(t, h, []byte(served), false)
	if !resp.Allowed || resp.Patch != nil || !strings.Contains(strings.Join(resp.Warnings, " "), "already injected") {
		t.Fatalf("want left alone as already injected, got %+v", resp)
	}
}

func TestRequiredSets(t *testing.T) {
	inj := loadInjector(t, requiredConfig)
	h := testHandler(inj)
	t.Run("not asked", func(t *testing.T) {
		pod := podWith(map[string]string{}, appContainer)
		resp := admitPod(t, h, pod, false)
		if got := containerNames(t, pod, resp.Patch); strings.Join(got, ",") != "app,sidecar-monitor" {
			t.Errorf("containers %v", got)
		}
	})
	t.Run("opted out", func(t *testing.T) {
		pod := podWith(map[string]string{"sidecar-injector.io/inject": "false"}, appContainer)
		resp := admitPod(t, h, pod, false)
		if got := containerNames(t, pod, resp.Patch); strings.Join(got, ",") != "app,sidecar-monitor" {
			t.Errorf("containers %v", got)
		}
		if !strings.Contains(strings.Join(resp.Warnings, " "), "overridden") {
			t.Errorf("no warning about the override: %q", resp.Warnings)
		}
	})
	t.Run("believed status without the required set", func(t *testing.T) {
		pod := podWith(map[string]string{"sidecar-injector.io/inject": "nginx"}, appContainer)
		withNginx := applyPatch(t, pod, admitPod(t, testHandler(loadInjector(t, strings.Replace(requiredConfig, "required: true", "required: false", 1))), pod, false).Patch)
		resp := admitPod(t, h, withNginx, false)
		if got := containerNames(t, withNginx, resp.Patch); strings.Join(got, ",") != "app,sidecar-monitor,sidecar-nginx" {
			t.Errorf("containers %v", got)
		}
	})
	t.Run("required sidecar swapped by the author", func(t *testing.T) {
		pod := podWith(map[string]string{}, appContainer)
		injected := applyPatch(t, pod, admitPod(t, h, pod, false).Patch)
		swapped := strings.Replace(string(injected), "centos-packet-agent:v1", "busybox", 1)
		resp := admitPod(t, h, []byte(swapped), false)
		if resp.Allowed {
			t.Fatalf("a pod with its required sidecar replaced was allowed: %+v", resp)
		}
	})
}

func TestDuplicateInjectKeysAreOneError(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	for _, order := range [][2]string{{"false", "true"}, {"true", "false"}} {
		pod := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"` + order[0] +
			`","sidecar-injector.io/inject":"` + order[1] + `"}},"spec":{"containers":[` + appContainer + `]}}`)
		resp := admitPod(t, h, pod, false)
		if resp.Allowed || !strings.Contains(resp.Result.Message, "duplicate key") {
			t.Errorf("%v: want a duplicate-key denial, got %+v", order, resp)
		}
	}
}

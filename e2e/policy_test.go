//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// The policies `sidecar-injector policy` prints, on a real kube-apiserver
// 1.36 (MutatingAdmissionPolicy is GA there: served, and its admission
// plugin on, with no flag), against the webhook on the same server: every
// pod of the golden corpus, and the pod template of every workload as a
// Pod, is created once through each, and the stored pods must be equal.

func startCluster(t *testing.T) *whCluster {
	t.Helper()
	env := startControlPlane(t)
	c := &whCluster{warnings: &whWarnings{}}
	c.cfg = rest.CopyConfig(env.Config)
	c.cfg.WarningHandler = c.warnings
	var err error
	if c.cs, err = kubernetes.NewForConfig(c.cfg); err != nil {
		t.Fatal(err)
	}
	c.certDir = t.TempDir()
	if c.caBundle, err = base64.StdEncoding.DecodeString(c.makeCerts(t)); err != nil {
		t.Fatalf("caBundle: %v", err)
	}
	c.pool = x509.NewCertPool()
	if !c.pool.AppendCertsFromPEM(c.caBundle) {
		t.Fatal("the caBundle holds no certificate")
	}
	return c
}

func TestPolicy(t *testing.T) {
	c := startCluster(t)
	t.Run("the API server serves MutatingAdmissionPolicy v1", func(t *testing.T) {
		list, err := c.cs.Discovery().ServerResourcesForGroupVersion("admissionregistration.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range list.APIResources {
			names = append(names, r.Name)
		}
		for _, want := range []string{"mutatingadmissionpolicies", "mutatingadmissionpolicybindings", "validatingadmissionpolicies"} {
			if !slices.Contains(names, want) {
				t.Fatalf("admissionregistration.k8s.io/v1 does not serve %s (serves %v)", want, names)
			}
		}
	})
	t.Run("golden pods: the policy stores what the webhook stores", func(t *testing.T) {
		c.testGoldenEqual(t)
	})
	t.Run("server-side dry run shows the injection and stores nothing", func(t *testing.T) {
		c.testPolicyDryRun(t)
	})
}

// applyPolicy runs `sidecar-injector policy` and creates what it prints.
// It returns the objects' deleters, or the command's error output.
func (c *whCluster) applyPolicy(t *testing.T, args ...string) (cleanup func(), stderr string) {
	t.Helper()
	out, errOut, code := run(t, root, nil, binary, append([]string{"policy"}, args...)...)
	if code != 0 {
		return nil, string(errOut)
	}
	ctx := context.Background()
	api := c.cs.AdmissionregistrationV1()
	var undo []func()
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var meta metav1.TypeMeta
		if err := sigsyaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		var remove func()
		var err error
		switch meta.Kind {
		case "MutatingAdmissionPolicy":
			remove, err = createStrict[admissionregistrationv1.MutatingAdmissionPolicy](t, ctx, doc, api.MutatingAdmissionPolicies())
		case "MutatingAdmissionPolicyBinding":
			remove, err = createStrict[admissionregistrationv1.MutatingAdmissionPolicyBinding](t, ctx, doc, api.MutatingAdmissionPolicyBindings())
		case "ValidatingAdmissionPolicy":
			remove, err = createStrict[admissionregistrationv1.ValidatingAdmissionPolicy](t, ctx, doc, api.ValidatingAdmissionPolicies())
		case "ValidatingAdmissionPolicyBinding":
			remove, err = createStrict[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, ctx, doc, api.ValidatingAdmissionPolicyBindings())
		default:
			t.Fatalf("policy printed a %q", meta.Kind)
		}
		if err != nil {
			t.Fatalf("creating the %s: %v", meta.Kind, err)
		}
		undo = append(undo, remove)
	}
	if len(undo) != 4 {
		t.Fatalf("policy printed %d objects, want 4", len(undo))
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}, ""
}

// createStrict decodes doc strictly as a T, creates it with client, and
// returns its deleter.
func createStrict[T any, PT interface {
	*T
	metav1.Object
}](t *testing.T, ctx context.Context, doc []byte, client interface {
	Create(context.Context, PT, metav1.CreateOptions) (PT, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
}) (remove func(), err error) {
	t.Helper()
	o := PT(new(T))
	mustUnmarshalStrict(t, doc, o)
	if _, err := client.Create(ctx, o, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	return func() { client.Delete(ctx, o.GetName(), metav1.DeleteOptions{}) }, nil
}

func mustUnmarshalStrict(t *testing.T, doc []byte, v any) {
	t.Helper()
	if err := sigsyaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

func (c *whCluster) testGoldenEqual(t *testing.T) {
	equal, rejected, stricter, carried := 0, 0, 0, 0
	for i, gc := range golden.Cases(t) {
		name, dir, opts := gc.Name, gc.Dir, gc.Options
		if strings.HasPrefix(name, "err-") {
			continue // not pods (one is an alias bomb)
		}
		if opts.Uninject || gc.InputFile != "input.yaml" {
			continue // the JSON cases are compared in process only (policy/equal_test.go)
		}
		cfg, err := transformer.LoadConfig(gc.Config, "config.yaml")
		if err != nil {
			continue // the config error cases
		}
		pods := e2ePods(gc.Input)
		if len(pods) == 0 {
			continue
		}
		var prefixArgs []string
		if opts.AnnotationPrefix != "" {
			prefixArgs = []string{"--annotation-prefix", opts.AnnotationPrefix}
			if err := cfg.SetAnnotationPrefix(opts.AnnotationPrefix); err != nil {
				t.Fatal(err)
			}
		}
		label := fmt.Sprintf("case-%d", i)
		cleanup, refused := c.applyPolicy(t, append([]string{"-c", filepath.Join(dir, "config.yaml"), "--name", label,
			"--namespace-selector", "e2e-policy=" + label}, prefixArgs...)...)
		if reason := opts.Policy; reason != "" {
			if refused == "" {
				cleanup()
				t.Errorf("%s: options.yaml says policy refuses it (%s), but policy accepts its config", name, reason)
			} else {
				t.Logf("%s: unsupported (%s): %s", name, reason, strings.TrimSpace(refused))
			}
			continue
		}
		if refused != "" {
			t.Errorf("%s: policy refuses the config: %s", name, refused)
			continue
		}
		wh := c.startWebhook(t, label, append([]string{"webhook", "--config", filepath.Join(dir, "config.yaml"),
			"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"), "--tls-key-file", filepath.Join(c.certDir, "tls.key")}, prefixArgs...)...)
		c.register(t, label, wh.port, admissionregistrationv1.Fail, map[string]string{"e2e-webhook": label})
		viaPolicy := c.namespace(t, "p-"+label, map[string]string{"e2e-policy": label})
		viaWebhook := c.namespace(t, "w-"+label, map[string]string{"e2e-webhook": label})
		c.waitBoth(t, cfg, pods, viaPolicy, viaWebhook)
		plain := c.namespace(t, "n-"+label, nil)
		for _, pod := range pods {
			what := name + "/" + pod.Name
			fromPolicy, perr := c.create(viaPolicy, pod.DeepCopy(), false)
			fromWebhook, werr := c.create(viaWebhook, pod.DeepCopy(), false)
			if st, ok := pod.Annotations[cfg.StatusAnnotation()]; ok && st != "injected" &&
				(werr != nil || perr == nil && !apiequality.Semantic.DeepEqual(stored(fromPolicy), stored(fromWebhook))) {
				// The webhook checks the status against the pod
				// (fingerprints); the policy cannot, and leaves the pod
				// alone (docs/policy.md): as stored with no injector.
				untouched, err := c.create(plain, pod.DeepCopy(), false)
				switch {
				case err != nil && perr != nil:
					rejected++ // invalid as it is: the API server's own validation
					t.Logf("%s: invalid with no injector too: %v", what, err)
				case err != nil:
					t.Errorf("%s: invalid with no injector (%v), yet the policy admits it", what, err)
				case perr != nil:
					t.Errorf("%s: carries a status; the policy rejects it: %v", what, perr)
				case !apiequality.Semantic.DeepEqual(stored(fromPolicy), stored(untouched)):
					t.Errorf("%s: carries a status, yet the policy changed it\nthrough the policy:\n%s\nwith no injector:\n%s", what, podJSON(t, stored(fromPolicy)), podJSON(t, stored(untouched)))
				default:
					carried++
					t.Logf("%s: carries a status the webhook does not believe (%v); the policy leaves it alone (docs/policy.md)", what, werr)
				}
				continue
			}
			switch {
			case perr != nil && werr != nil:
				rejected++
				t.Logf("%s: rejected by both:\n  policy:  %v\n  webhook: %v", what, perr, werr)
			case perr != nil && strings.Contains(perr.Error(), "already exists"):
				stricter++
				t.Logf("%s: rejected by the policy only (an item of the same name; docs/policy.md): %v", what, perr)
			case perr != nil:
				t.Errorf("%s: the policy rejects the pod, the webhook admits it: %v", what, perr)
			case werr != nil:
				t.Errorf("%s: the webhook rejects the pod, the policy admits it: %v", what, werr)
			default:
				a, b := stored(fromPolicy), stored(fromWebhook)
				if !apiequality.Semantic.DeepEqual(a, b) {
					t.Errorf("%s: stored pods differ\nthrough the policy:\n%s\nthrough the webhook:\n%s", what, podJSON(t, a), podJSON(t, b))
				} else {
					equal++
				}
			}
		}
		c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), "e2e-"+label, metav1.DeleteOptions{})
		cleanup()
		wh.stop(t)
	}
	t.Logf("%d pods stored equal, %d rejected by both, %d rejected by the policy only (a same-named item), %d carrying a status the webhook does not believe, left alone by the policy",
		equal, rejected, stricter, carried)
	if equal < 30 {
		t.Errorf("only %d pods compared equal: the corpus was not read as expected", equal)
	}
}

// waitBoth waits until the policy and the webhook answer for their
// namespaces: a pod that the engine injects is injected by dry runs.
func (c *whCluster) waitBoth(t *testing.T, cfg *transformer.Config, pods []*corev1.Pod, viaPolicy, viaWebhook string) {
	t.Helper()
	probes := injectedProbes(cfg, pods)
	for _, ns := range []string{viaPolicy, viaWebhook} {
		c.waitFor(t, func() (bool, string) {
			for _, probe := range probes {
				p, err := c.create(ns, probe.DeepCopy(), true)
				if apierrors.IsInvalid(err) {
					continue // not a pod on its own (a StatefulSet's template lacks its claims' volumes)
				}
				if err != nil {
					return false, err.Error()
				}
				// injected: a status, and not the one it came with
				st, ok := p.Annotations[cfg.StatusAnnotation()]
				return ok && st != probe.Annotations[cfg.StatusAnnotation()], fmt.Sprint(p.Annotations)
			}
			// nothing to tell them by; policies take effect in well under that
			time.Sleep(2 * time.Second)
			return true, ""
		})
	}
	c.warnings.take()
}

// injectedProbes returns the pods the engine injects.
func injectedProbes(cfg *transformer.Config, pods []*corev1.Pod) []*corev1.Pod {
	var probes []*corev1.Pod
	for _, p := range pods {
		if _, ok := p.Annotations[cfg.StatusAnnotation()]; ok {
			continue // the policy leaves a pod with a status alone, whatever the engine thinks of it
		}
		raw, _ := json.Marshal(p)
		rn, err := yaml.Parse(string(raw))
		if err != nil {
			continue
		}
		r, err := (&transformer.Injector{Config: cfg, Admission: true}).Apply(rn, "")
		if err == nil && r.Action == transformer.Injected {
			probes = append(probes, p)
		}
	}
	return probes
}

// stored is a pod with what the API server sets per object left out.
func stored(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	p.Namespace, p.UID, p.ResourceVersion, p.Generation = "", "", "", 0
	p.CreationTimestamp = metav1.Time{}
	p.ManagedFields = nil
	return p
}

func podJSON(t *testing.T, v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// e2ePods reads the pods of a case's input (golden.Pods), to be created in
// one namespace each: without their own namespace, with unique names.
func e2ePods(input []byte) []*corev1.Pod {
	pods := golden.Pods(input)
	for _, p := range pods {
		p.Namespace = ""
		if p.Name == "" {
			p.GenerateName = "pod-"
		}
	}
	// names must be unique in a namespace
	seen := map[string]int{}
	for _, p := range pods {
		if n := seen[p.Name]; n > 0 {
			p.Name = fmt.Sprintf("%s-%d", p.Name, n)
		}
		seen[p.Name]++
	}
	return pods
}

func (c *whCluster) testPolicyDryRun(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(whConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cleanup, refused := c.applyPolicy(t, "-c", cfg, "--name", "dry-run", "--namespace-selector", "e2e-policy=dry-run")
	if refused != "" {
		t.Fatal(refused)
	}
	defer cleanup()
	ns := c.namespace(t, "policy-dry-run", map[string]string{"e2e-policy": "dry-run"})
	pod := whPod("dry", map[string]string{"sidecar-injector.io/inject": "true"})
	var got *corev1.Pod
	c.waitFor(t, func() (bool, string) {
		p, err := c.create(ns, pod.DeepCopy(), true)
		if err != nil {
			return false, err.Error()
		}
		got = p
		return whContainer(p, "sidecar-nginx") != nil, fmt.Sprint(whContainerNames(p))
	})
	if _, ok := got.Annotations["sidecar-injector.io/status"]; !ok {
		t.Errorf("the dry-run pod has no status annotation: %v", got.Annotations)
	}
	if _, err := c.cs.CoreV1().Pods(ns).Get(context.Background(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run stored the pod (get: %v)", err)
	}
}

// Command policy-latency measures pod creation through a real
// kube-apiserver (envtest: KUBEBUILDER_ASSETS) in three namespaces of the
// same server, in the same run, interleaved: one where the generated
// MutatingAdmissionPolicy injects, one where the webhook (the built binary
// on 127.0.0.1) injects, and one where nothing does. It prints a markdown
// table of latencies and their ratios to "neither" (hack/bench-policy.sh,
// docs/BENCHMARKS.md).
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/policy"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

var config = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: bench}
spec:
  sidecars:
` + fixture.Indent(fixture.NginxSetWith("", `env: [{name: PROXY, value: "localhost:80"}]
annotations: {prometheus.io/scrape: "true"}
`), 2)

func main() {
	binary := flag.String("binary", "", "the built sidecar-injector")
	n := flag.Int("n", 300, "pods per namespace")
	flag.Parse()
	if err := run(*binary, *n); err != nil {
		fmt.Fprintln(os.Stderr, "policy-latency:", err)
		os.Exit(1)
	}
}

func run(binary string, n int) error {
	if binary == "" {
		return fmt.Errorf("-binary is required")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: os.Getenv("KUBEBUILDER_ASSETS"), ControlPlaneStopTimeout: 30 * time.Second}
	restCfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	defer env.Stop()
	restCfg.QPS, restCfg.Burst = 1000, 1000
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "policy-latency-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return err
	}

	// the policy
	cfg, err := transformer.LoadConfig([]byte(config), cfgPath)
	if err != nil {
		return err
	}
	p, err := policy.Generate(cfg, policy.Options{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "policy"}}})
	if err != nil {
		return err
	}
	api := cs.AdmissionregistrationV1()
	if _, err := api.MutatingAdmissionPolicies().Create(ctx, p.Mutating, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := api.MutatingAdmissionPolicyBindings().Create(ctx, p.MutatingBinding, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := api.ValidatingAdmissionPolicies().Create(ctx, p.Validating, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(ctx, p.ValidatingBinding, metav1.CreateOptions{}); err != nil {
		return err
	}

	// the webhook
	out, err := exec.Command(binary, "certs", "--service", "sidecar-injector", "--namespace", "sidecar-injector", "--out", dir, "--ip", "127.0.0.1").Output()
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	ca, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(out)))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	wh := exec.Command(binary, "webhook", "--config", cfgPath, "--tls-cert-file", filepath.Join(dir, "tls.crt"),
		"--tls-key-file", filepath.Join(dir, "tls.key"), "--port", fmt.Sprint(port), "--bind-address", "127.0.0.1")
	if err := wh.Start(); err != nil {
		return err
	}
	defer func() { wh.Process.Signal(os.Interrupt); wh.Wait() }()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", port)); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("webhook not ready")
		}
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/mutate", port)
	none, fail := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Fail
	if _, err := api.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "bench.sidecar-injector.io", AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "webhook"}},
			SideEffects:       &none, FailurePolicy: &fail,
		}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}

	fronts := []string{"policy", "webhook", "neither"}
	for _, f := range fronts {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f, Labels: map[string]string{"bench": f}}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"sidecar-injector.io/inject": "true"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", Env: []corev1.EnvVar{{Name: "MODE", Value: "prod"}}}}},
		}
	}
	// wait until both injectors answer (dry runs)
	for _, f := range fronts[:2] {
		for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
			got, err := cs.CoreV1().Pods(f).Create(ctx, pod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil && len(got.Spec.Containers) == 2 {
				break
			}
			if time.Since(start) > time.Minute {
				return fmt.Errorf("%s does not inject (last: %v)", f, err)
			}
		}
	}
	lat := map[string][]time.Duration{}
	warm := n / 10
	for i := range n + warm {
		for _, f := range fronts {
			start := time.Now()
			got, err := cs.CoreV1().Pods(f).Create(ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{})
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if injected := len(got.Spec.Containers) == 2; injected != (f != "neither") {
				return fmt.Errorf("%s: pod has %d containers", f, len(got.Spec.Containers))
			}
			if i >= warm {
				lat[f] = append(lat[f], d)
			}
		}
	}
	fmt.Printf("| pod create, %d per namespace, interleaved | p50 | p90 | p99 | mean | p50 / neither |\n|---|---|---|---|---|---|\n", n)
	base := pct(lat["neither"], 50)
	for _, f := range fronts {
		l := lat[f]
		var sum time.Duration
		for _, d := range l {
			sum += d
		}
		fmt.Printf("| %s | %v | %v | %v | %v | %.2f |\n", f, pct(l, 50), pct(l, 90), pct(l, 99), (sum / time.Duration(len(l))).Round(10*time.Microsecond),
			float64(pct(l, 50))/float64(base))
	}
	return nil
}

func pct(l []time.Duration, p int) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond)
}

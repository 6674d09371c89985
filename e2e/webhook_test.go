//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"
)

// The admission webhook against a real kube-apiserver and etcd (envtest,
// with the binaries hack/install-envtest.sh builds), the webhook being the
// built binary on 127.0.0.1, registered by clientConfig.url with the
// caBundle that `sidecar-injector certs` prints.

var whConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: sidecars
` + exampleSets

const whTutorialPrefix = "sidecar-injector-webhook.morven.me"

// whCluster is the API server of one test run and what the cases share.
type whCluster struct {
	cs       *kubernetes.Clientset
	cfg      *rest.Config
	warnings *whWarnings
	certDir  string // made by `sidecar-injector certs`
	caBundle []byte // PEM
	pool     *x509.CertPool
}

type whWarnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *whWarnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns and forgets the warnings received so far.
func (w *whWarnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

func TestWebhook(t *testing.T) {
	c := startCluster(t)

	// The main webhook: the product's config, in a directory laid out as the
	// kubelet mounts a ConfigMap, so that a reload is a `..data` swap.
	cfgDir := testio.NewMountedDir(t, map[string][]byte{"config.yaml": []byte(whConfig)})
	main := c.startWebhook(t, "main", "webhook", "--config", cfgDir.Path("config.yaml"),
		"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"), "--tls-key-file", filepath.Join(c.certDir, "tls.key"),
		"--reload-interval", "200ms")
	c.register(t, "main", main.port, admissionregistrationv1.Fail, map[string]string{"sidecar-injector": "enabled"})
	labelled := c.namespace(t, "labelled", map[string]string{"sidecar-injector": "enabled"})
	c.waitInjected(t, labelled, "sidecar-injector.io", "sidecar-nginx")

	t.Run("labelled namespace gets the sidecars", func(t *testing.T) {
		c.testLabelled(t, labelled)
	})
	t.Run("unlabelled namespace and opted-out pod do not", func(t *testing.T) {
		c.testNotInjected(t, labelled)
	})
	t.Run("template injected at build time comes back unchanged", func(t *testing.T) {
		c.testBuildTime(t, labelled)
	})
	t.Run("server-side dry run shows the injection and stores nothing", func(t *testing.T) {
		c.testDryRun(t, labelled)
	})
	t.Run("nginx config with the tutorial's flags and no subcommand", func(t *testing.T) {
		c.testTutorialNginx(t)
	})
	t.Run("packet agent config with --annotation-prefix", func(t *testing.T) {
		c.testTutorialPacketAgent(t)
	})
	t.Run("parameters: out of range denied with the message, in range tuned", func(t *testing.T) {
		c.testParameters(t)
	})
	t.Run("changed config takes effect without a restart", func(t *testing.T) {
		c.testConfigReload(t, labelled, cfgDir, main)
	})
	t.Run("replaced certificate is served without a restart", func(t *testing.T) {
		c.testCertRotation(t, labelled, main)
	})
	t.Run("webhook stopped: Fail rejects, Ignore admits", func(t *testing.T) {
		c.testFailurePolicy(t)
	})
	t.Run("examples render with kustomize and the API server accepts them", func(t *testing.T) {
		c.testExamples(t)
	})
}

// makeCerts runs `sidecar-injector certs` for a webhook on 127.0.0.1 and
// returns the caBundle it prints.
func (c *whCluster) makeCerts(t *testing.T) string {
	t.Helper()
	out, stderr, code := run(t, root, nil, binary, "certs", "--service", "sidecar-injector", "--namespace", "sidecar-injector",
		"--out", c.certDir, "--ip", "127.0.0.1")
	if code != 0 {
		t.Fatalf("sidecar-injector certs: exit %d: %s", code, stderr)
	}
	return strings.TrimSpace(string(out))
}

// whProc is a running `sidecar-injector` webhook process.
type whProc struct {
	name string
	cmd  *exec.Cmd
	port int
	logs *testio.Buffer
	done chan error
}

func whFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startWebhook runs the binary with args (plus a free port on 127.0.0.1,
// unless args hold the tutorial's -port) and waits until /readyz answers.
func (c *whCluster) startWebhook(t *testing.T, name string, args ...string) *whProc {
	t.Helper()
	port := whFreePort(t)
	full := append([]string{}, args...)
	if len(args) > 0 && args[0] == "webhook" {
		full = append(full, "--port", fmt.Sprint(port), "--bind-address", "127.0.0.1")
	} else {
		full = append(full, fmt.Sprintf("-port=%d", port))
	}
	p := &whProc{name: name, port: port, logs: &testio.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(binary, full...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("webhook %s log:\n%s", name, p.logs)
		}
	})
	client := c.httpClient()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard: a loaded machine is slow
	for {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/readyz", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("webhook %s exited: %v\n%s", name, err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s not ready after 15s (last: %v)\n%s", name, err, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a graceful exit with status 0.
func (p *whProc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil || p.cmd.Process == nil {
		return
	}
	select {
	case err := <-p.done:
		p.done <- err
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("webhook %s: SIGTERM: %v (want a graceful exit 0)\n%s", p.name, err, p.logs)
		}
		p.done <- err
	case <-time.After(2 * time.Minute):
		p.cmd.Process.Kill()
		t.Errorf("webhook %s did not stop on SIGTERM", p.name)
	}
}

func (c *whCluster) httpClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool}}}
}

// register creates (or updates) a MutatingWebhookConfiguration that sends
// pod CREATEs in namespaces with the given labels to the webhook on port.
func (c *whCluster) register(t *testing.T, name string, port int, policy admissionregistrationv1.FailurePolicyType, nsLabels map[string]string) {
	t.Helper()
	url := fmt.Sprintf("https://127.0.0.1:%d/mutate", port)
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	ifNeeded := admissionregistrationv1.IfNeededReinvocationPolicy
	timeout := int32(5)
	scope := admissionregistrationv1.NamespacedScope
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    name + ".e2e.sidecar-injector.io",
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: c.caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}, Scope: &scope},
			}},
			NamespaceSelector:  &metav1.LabelSelector{MatchLabels: nsLabels},
			FailurePolicy:      &policy,
			MatchPolicy:        &equivalent,
			SideEffects:        &none,
			TimeoutSeconds:     &timeout,
			ReinvocationPolicy: &ifNeeded,
		}},
	}
	api := c.cs.AdmissionregistrationV1().MutatingWebhookConfigurations()
	ctx := context.Background()
	existing, err := api.Get(ctx, mwc.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, mwc, metav1.CreateOptions{})
	case err == nil:
		existing.Webhooks = mwc.Webhooks
		_, err = api.Update(ctx, existing, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("registering webhook %s: %v", name, err)
	}
}

func (c *whCluster) namespace(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func whPod(name string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "example.com/app:1.0",
			Env:       []corev1.EnvVar{{Name: "MODE", Value: "prod"}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{}},
		}}},
	}
}

func (c *whCluster) create(ns string, pod *corev1.Pod, dryRun bool) (*corev1.Pod, error) {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.cs.CoreV1().Pods(ns).Create(context.Background(), pod, opts)
}

func whContainerNames(p *corev1.Pod) []string {
	var names []string
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

func whContainer(p *corev1.Pod, name string) *corev1.Container {
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	return nil
}

// waitInjected polls with server-side dry-run creates until the webhook
// answers for the namespace (a new configuration takes ~0.2 s).
func (c *whCluster) waitInjected(t *testing.T, ns, prefix, sidecar string) {
	t.Helper()
	c.waitFor(t, func() (bool, string) {
		p, err := c.create(ns, whPod("probe", map[string]string{prefix + "/inject": "true"}), true)
		if err != nil {
			return false, err.Error()
		}
		return whContainer(p, sidecar) != nil, fmt.Sprint(whContainerNames(p))
	})
	c.warnings.take()
}

func (c *whCluster) waitFor(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard: a loaded machine is slow
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("timed out; last state: %s", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *whCluster) testLabelled(t *testing.T, ns string) {
	pod, err := c.create(ns, whPod("web", map[string]string{"sidecar-injector.io/inject": "true", "team.example.com/owner": "shop"}), false)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.cs.CoreV1().Pods(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*corev1.Pod{pod, stored} {
		if got := whContainerNames(p); len(got) != 2 || got[0] != "app" || got[1] != "sidecar-nginx" {
			t.Fatalf("containers %v, want [app sidecar-nginx]", got)
		}
		if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].Name != "nginx-conf" || p.Spec.Volumes[0].ConfigMap == nil {
			t.Errorf("volumes %+v", p.Spec.Volumes)
		}
		if p.Annotations["team.example.com/owner"] != "shop" || !strings.Contains(p.Annotations["sidecar-injector.io/status"], `"sets":["nginx"]`) {
			t.Errorf("annotations %v", p.Annotations)
		}
	}
	// The app's own container is exactly what it is without the webhook.
	plain := c.namespace(t, "plain", nil)
	bare, err := c.create(plain, whPod("web", map[string]string{"sidecar-injector.io/inject": "true"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := whYAML(t, bare.Spec.Containers[0]), whYAML(t, stored.Spec.Containers[0]); a != b {
		t.Errorf("the app container changed:\nwithout the webhook:\n%s\nwith it:\n%s", a, b)
	}
	if got := whContainerNames(bare); len(got) != 1 {
		t.Errorf("pod in an unlabelled namespace: containers %v", got)
	}
}

func whYAML(t *testing.T, v any) string {
	b, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *whCluster) testNotInjected(t *testing.T, labelled string) {
	unlabelled := c.namespace(t, "unlabelled", map[string]string{"team": "shop"})
	c.warnings.take()
	p, err := c.create(unlabelled, whPod("asks", map[string]string{"sidecar-injector.io/inject": "true"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := whContainerNames(p); len(got) != 1 {
		t.Errorf("unlabelled namespace: containers %v", got)
	}
	if w := c.warnings.take(); len(w) > 0 {
		t.Errorf("the webhook was called for an unlabelled namespace: warnings %q", w)
	}
	p, err = c.create(labelled, whPod("opted-out", map[string]string{"sidecar-injector.io/inject": "false"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := whContainerNames(p); len(got) != 1 {
		t.Errorf("opted-out pod: containers %v", got)
	}
	if w := strings.Join(c.warnings.take(), "\n"); !strings.Contains(w, "sidecar-injector: not injected: opted out") {
		t.Errorf("no warning saying why: %q", w)
	}
	p, err = c.create(labelled, whPod("not-asking", nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := whContainerNames(p); len(got) != 1 {
		t.Errorf("pod that does not ask (opt-in): containers %v", got)
	}
	// An annotation may not bring in what the config does not hold.
	_, err = c.create(labelled, whPod("unknown-set", map[string]string{"sidecar-injector.io/inject": "metrics"}), false)
	if err == nil || !strings.Contains(err.Error(), `unknown sidecar set "metrics"`) {
		t.Errorf("a pod asking for an unknown set: %v", err)
	}
	c.warnings.take()
}

// testBuildTime injects a Deployment at build time with the KRM function,
// then creates its template as a Pod, as the ReplicaSet controller would.
func (c *whCluster) testBuildTime(t *testing.T, ns string) {
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: tomcat
spec:
  selector:
    matchLabels: {app: tomcat}
  template:
    metadata:
      labels: {app: tomcat}
      annotations:
        sidecar-injector.io/inject: "true"
    spec:
      containers:
      - name: tomcat
        image: tomcat:9.0
        ports:
        - containerPort: 8080
`
	var fnConfig, item any
	if err := sigsyaml.Unmarshal([]byte(whConfig), &fnConfig); err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal([]byte(deploy), &item); err != nil {
		t.Fatal(err)
	}
	rl, err := sigsyaml.Marshal(map[string]any{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
		"functionConfig": fnConfig, "items": []any{item}})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, root, rl, binary, "fn")
	if code != 0 {
		t.Fatalf("sidecar-injector fn: exit %d: %s\n%s", code, stderr, out)
	}
	var result struct{ Items []appsv1.Deployment }
	if err := sigsyaml.Unmarshal(out, &result); err != nil || len(result.Items) != 1 {
		t.Fatalf("function output: %v\n%s", err, out)
	}
	tmpl := result.Items[0].Spec.Template
	if len(tmpl.Spec.Containers) != 2 || tmpl.Annotations["sidecar-injector.io/status"] == "" {
		t.Fatalf("the function did not inject the template:\n%s", out)
	}
	pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
	pod.Name = "tomcat-7d9f8-abcde"
	c.warnings.take()
	got, err := c.create(ns, pod, false)
	if err != nil {
		t.Fatal(err)
	}
	if names := whContainerNames(got); len(names) != 2 || names[0] != "tomcat" || names[1] != "sidecar-nginx" {
		t.Errorf("containers %v, want [tomcat sidecar-nginx] (injected once)", names)
	}
	if len(got.Spec.Volumes) != 1 {
		t.Errorf("volumes %+v, want the one nginx-conf", got.Spec.Volumes)
	}
	if got.Annotations["sidecar-injector.io/status"] != tmpl.Annotations["sidecar-injector.io/status"] {
		t.Errorf("status annotation changed:\n%s\n%s", tmpl.Annotations["sidecar-injector.io/status"], got.Annotations["sidecar-injector.io/status"])
	}
	if w := strings.Join(c.warnings.take(), "\n"); !strings.Contains(w, "already injected: nginx") {
		t.Errorf("warnings %q do not say the pod was already injected", w)
	}
}

func (c *whCluster) testDryRun(t *testing.T, ns string) {
	p, err := c.create(ns, whPod("dry", map[string]string{"sidecar-injector.io/inject": "nginx,monitor"}), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := whContainerNames(p); len(got) != 3 || got[1] != "sidecar-nginx" || got[2] != "sidecar-monitor" {
		t.Errorf("dry run: containers %v, want [app sidecar-nginx sidecar-monitor]", got)
	}
	if m := whContainer(p, "sidecar-monitor"); m == nil || !m.Stdin || !m.TTY {
		t.Errorf("packet agent without stdin/tty: %+v", m)
	}
	if _, err := c.cs.CoreV1().Pods(ns).Get(context.Background(), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry-run create stored the pod: %v", err)
	}
}

// testTutorialNginx runs the binary exactly as the tutorial's Deployment
// does (no subcommand; its flags, glog flags and "2>&1" included), with
// the nginx case's config file and the certificate files named as it names them.
func (c *whCluster) testTutorialNginx(t *testing.T) {
	dir := t.TempDir()
	for src, dst := range map[string]string{"tls.crt": "cert.pem", "tls.key": "key.pem"} {
		b, err := os.ReadFile(filepath.Join(c.certDir, src))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, dst), b, 0o600)
	}
	cfg := filepath.Join(dir, "sidecarconfig.yaml")
	// The nginx case's ConfigMap key as a file: the tutorial mounts it at
	// /etc/webhook/config/sidecarconfig.yaml.
	testio.WriteFile(t, cfg, fixture.NginxSidecar)
	p := c.startWebhook(t, "tutorial-nginx", "-sidecarCfgFile="+cfg, "-tlsCertFile="+filepath.Join(dir, "cert.pem"),
		"-tlsKeyFile="+filepath.Join(dir, "key.pem"), "-alsologtostderr", "-v=4", "2>&1")

	// The tutorial's sleep pod, annotated as the tutorial annotates it.
	sleep := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "sleep", Labels: map[string]string{"app": "sleep"},
			Annotations: map[string]string{whTutorialPrefix + "/inject": "true"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "sleep", Image: "tutum/curl", Command: []string{"/bin/sleep", "infinity"}, ImagePullPolicy: corev1.PullIfNotPresent}}},
	}
	ns, got := c.tutorialCreate(t, "nginx", p.port, "sidecar-nginx", sleep)
	nginx := whContainer(got, "sidecar-nginx")
	if nginx == nil || nginx.Image != "nginx:1.12.2" || len(nginx.Ports) != 1 || nginx.Ports[0].ContainerPort != 80 {
		t.Fatalf("sidecar-nginx: %+v", nginx)
	}
	if len(got.Spec.Volumes) != 1 || got.Spec.Volumes[0].ConfigMap == nil || got.Spec.Volumes[0].ConfigMap.Name != "nginx-configmap" {
		t.Errorf("volumes %+v", got.Spec.Volumes)
	}
	if got.Annotations[whTutorialPrefix+"/status"] == "" {
		t.Errorf("no %s/status annotation: %v", whTutorialPrefix, got.Annotations)
	}
	// Without the annotation, nothing (the tutorial's second sleep deployment).
	plain := sleep.DeepCopy()
	plain.Name, plain.Annotations = "sleep-plain", nil
	if got, err := c.create(ns, plain, true); err != nil || len(got.Spec.Containers) != 1 {
		t.Errorf("pod without the annotation: %v %v", err, whContainerNames(got))
	}
}

func (c *whCluster) testTutorialPacketAgent(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "configmap.yaml")
	// The packet-capture case's whole ConfigMap.
	testio.WriteFile(t, cfg, fixture.PacketAgentConfigMap)
	p := c.startWebhook(t, "tutorial-packet-agent", "webhook", "--config", cfg, "--annotation-prefix", whTutorialPrefix,
		"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"), "--tls-key-file", filepath.Join(c.certDir, "tls.key"))
	// The packet-capture case's nginx-deployment pod, after its `kubectl patch` annotation.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nginx-deployment-abc", Labels: map[string]string{"app": "nginx"},
			Annotations: map[string]string{whTutorialPrefix + "/inject": "true"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.7.9", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
	}
	_, got := c.tutorialCreate(t, "packet-agent", p.port, "sidecar-monitor", pod)
	m := whContainer(got, "sidecar-monitor")
	if m == nil || m.Image != "docker.io/s1240zsw/centos-packet-agent:v1" || !m.Stdin || !m.TTY {
		t.Errorf("packet agent: %+v (containers %v)", m, whContainerNames(got))
	}
}

// tutorialCreate registers the webhook listening on port for a new
// namespace, tutorial-<name>, waits until it injects sidecar there into
// pods opted in as the tutorial opts them in, and creates pod in that
// namespace: it returns the namespace and the pod as the API server stored it.
func (c *whCluster) tutorialCreate(t *testing.T, name string, port int, sidecar string, pod *corev1.Pod) (ns string, got *corev1.Pod) {
	t.Helper()
	labels := map[string]string{"e2e-tutorial": name}
	c.register(t, "tutorial-"+name, port, admissionregistrationv1.Fail, labels)
	ns = c.namespace(t, "tutorial-"+name, labels)
	c.waitInjected(t, ns, whTutorialPrefix, sidecar)
	got, err := c.create(ns, pod, false)
	if err != nil {
		t.Fatal(err)
	}
	return ns, got
}

func (c *whCluster) testConfigReload(t *testing.T, ns string, cfg *testio.MountedDir, main *whProc) {
	sidecarImage := func() (bool, string) {
		p, err := c.create(ns, whPod("reload", map[string]string{"sidecar-injector.io/inject": "true"}), true)
		if err != nil {
			return false, err.Error()
		}
		if s := whContainer(p, "sidecar-nginx"); s != nil {
			return true, s.Image
		}
		return false, fmt.Sprint(whContainerNames(p))
	}
	cfg.Update(map[string][]byte{"config.yaml": []byte(strings.Replace(whConfig, "nginx:1.12.2", "nginx:1.27.3", 1))})
	c.waitFor(t, func() (bool, string) {
		ok, img := sidecarImage()
		return ok && img == "nginx:1.27.3", img
	})
	// A bad config is rejected with a log line; the last good one stays.
	cfg.Update(map[string][]byte{"config.yaml": []byte(strings.Replace(whConfig, "imagePullPolicy", "imagePullPolcy", 1))})
	c.waitFor(t, func() (bool, string) {
		return strings.Contains(main.logs.String(), "config rejected; the last good one stays in force"), "no rejection logged"
	})
	if !strings.Contains(main.logs.String(), "imagePullPolcy: unknown field") {
		t.Errorf("the log does not say what is wrong:\n%s", main.logs)
	}
	if ok, img := sidecarImage(); !ok || img != "nginx:1.27.3" {
		t.Errorf("after a bad config: %v %s, want the last good config (nginx:1.27.3)", ok, img)
	}
	cfg.Update(map[string][]byte{"config.yaml": []byte(whConfig)})
	c.waitFor(t, func() (bool, string) {
		ok, img := sidecarImage()
		return ok && img == "nginx:1.12.2", img
	})
	c.warnings.take()
}

func (c *whCluster) testCertRotation(t *testing.T, ns string, main *whProc) {
	serial := func() string {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", main.port), &tls.Config{RootCAs: c.pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	if bundle := c.makeCerts(t); bundle != base64.StdEncoding.EncodeToString(c.caBundle) {
		t.Fatal("`certs` run again changed the CA; the caBundle should stay")
	}
	c.waitFor(t, func() (bool, string) { s := serial(); return s != before, "still serving serial " + s })
	// The API server still trusts it: same CA.
	p, err := c.create(ns, whPod("after-rotation", map[string]string{"sidecar-injector.io/inject": "true"}), false)
	if err != nil || whContainer(p, "sidecar-nginx") == nil {
		t.Errorf("after the rotation: %v", err)
	}
	if !strings.Contains(main.logs.String(), `"msg":"serving certificate loaded"`) {
		t.Errorf("the reload was not logged")
	}
}

func (c *whCluster) testFailurePolicy(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	testio.WriteFile(t, cfg, whConfig)
	p := c.startWebhook(t, "failure", "webhook", "--config", cfg,
		"--tls-cert-file", filepath.Join(c.certDir, "tls.crt"), "--tls-key-file", filepath.Join(c.certDir, "tls.key"))
	labels := map[string]string{"e2e-failure-policy": "yes"}
	c.register(t, "failure", p.port, admissionregistrationv1.Fail, labels)
	ns := c.namespace(t, "failure-policy", labels)
	c.waitInjected(t, ns, "sidecar-injector.io", "sidecar-nginx")

	p.stop(t) // SIGTERM: a graceful exit 0 is checked
	pod := whPod("while-down", map[string]string{"sidecar-injector.io/inject": "true"})
	c.waitFor(t, func() (bool, string) {
		_, err := c.create(ns, pod, true)
		return err != nil && strings.Contains(err.Error(), "failed calling webhook"), fmt.Sprint(err)
	})
	if _, err := c.create(ns, pod, false); err == nil {
		t.Fatal("failurePolicy Fail admitted a pod while the webhook was down")
	}
	c.register(t, "failure", p.port, admissionregistrationv1.Ignore, labels)
	c.waitFor(t, func() (bool, string) {
		got, err := c.create(ns, pod, true)
		return err == nil && len(got.Spec.Containers) == 1, fmt.Sprint(err)
	})
	got, err := c.create(ns, pod, false)
	if err != nil || len(got.Spec.Containers) != 1 {
		t.Errorf("failurePolicy Ignore: %v, containers %v", err, whContainerNames(got))
	}
}

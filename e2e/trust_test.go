//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/testio"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// trustConfig injects items with many fields the API server defaults or
// rewrites: fingerprints must survive the trip (transformer/defaults.go).
const trustConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: trust}
spec:
  sidecars:
  - name: proxy
    default: true
    initContainers:
    - name: proxy-init
      image: example.com/proxy-init
      resources:
        limits: {cpu: "0.1", memory: 32Mi}
    containers:
    - name: proxy
      image: example.com/proxy:1.2
      ports:
      - containerPort: 15001
      - {containerPort: 15090, name: metrics}
      readinessProbe:
        httpGet: {port: 15021}
      livenessProbe:
        tcpSocket: {port: 15001}
      startupProbe:
        grpc: {port: 15020}
      lifecycle:
        preStop:
          httpGet: {port: 15021, path: /quit}
      resources:
        limits: {cpu: "0.5", memory: 0.25Gi}
        requests: {cpu: 50m}
      env:
      - name: POD_NAME
        valueFrom:
          fieldRef: {fieldPath: metadata.name}
      - name: CPU
        valueFrom:
          resourceFieldRef: {resource: limits.cpu, divisor: 1m}
      volumeMounts:
      - {name: proxy-config, mountPath: /etc/proxy}
      - {name: proxy-token, mountPath: /var/run/proxy}
      - {name: podinfo, mountPath: /etc/podinfo}
      - {name: scratch, mountPath: /tmp}
      securityContext:
        runAsUser: 1337
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
      stdin: false
    volumes:
    - name: proxy-config
      configMap: {name: proxy-config}
    - name: proxy-token
      projected:
        sources:
        - serviceAccountToken: {path: token, audience: proxy}
        - secret: {name: proxy-certs}
    - name: podinfo
      downwardAPI:
        items:
        - path: labels
          fieldRef: {fieldPath: metadata.labels}
    - name: scratch
    imagePullSecrets:
    - name: registry
    env:
    - name: PROXY_NODE
      valueFrom:
        fieldRef: {fieldPath: spec.nodeName}
    volumeMounts:
    - {name: proxy-config, mountPath: /etc/app-proxy, readOnly: true}
    annotations:
      proxy.example.com/version: "1.2"
    labels:
      proxy.example.com/injected: "true"
  - name: agent
    native: true
    containers:
    - name: agent
      image: docker.io/s1240zsw/centos-packet-agent:v1
      stdin: true
      tty: true
      volumeMounts:
      - {name: host-logs, mountPath: /host/logs, readOnly: true}
    volumes:
    - name: host-logs
      hostPath: {path: /var/log}
`

// TestFingerprintsSurviveTheAPIServer: manifests injected at build time,
// created in a real kube-apiserver and read back with kubectl (defaults
// added, quantities canonical, keys reordered), still carry a status the
// engine believes: uninject removes exactly what was injected, inject adds
// nothing twice, and the webhook leaves pods made from them alone.
func TestFingerprintsSurviveTheAPIServer(t *testing.T) {
	kubectl, dir, write, kc := kubectlCluster(t)
	cfgFile := write("config.yaml", trustConfig)
	app := write("app.yaml", `apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: default
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar-injector.io/inject: proxy,agent
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: example.com/web:1.0
        ports: [{containerPort: 8080}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - {name: data, emptyDir: {}}
---
apiVersion: v1
kind: Pod
metadata:
  name: worker
  namespace: default
  annotations:
    sidecar-injector.io/inject: "true"
spec:
  serviceAccountName: web
  hostNetwork: true
  containers:
  - name: worker
    image: example.com/worker:latest
`)
	injected, stderr, code := run(t, dir, nil, binary, "inject", "-c", cfgFile, "-f", app)
	if code != 0 {
		t.Fatalf("inject: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run(t, dir, injected, kubectl, "--kubeconfig", kc, "apply", "-f", "-"); code != 0 {
		t.Fatalf("kubectl apply: exit %d: %s\n%s", code, stderr, injected)
	}
	for _, obj := range []string{"deployment/web", "pod/worker"} {
		t.Run(obj, func(t *testing.T) {
			live, stderr, code := run(t, dir, nil, kubectl, "--kubeconfig", kc, "get", "-n", "default", obj, "-o", "yaml")
			if code != 0 {
				t.Fatalf("kubectl get: exit %d: %s", code, stderr)
			}
			if !strings.Contains(string(live), "terminationMessagePath") || !strings.Contains(string(live), "cpu: 500m") {
				t.Fatalf("the API server did not default the injected items as expected:\n%s", live)
			}
			liveFile := write(strings.ReplaceAll(obj, "/", "-")+".yaml", string(live))

			back, stderr, code := run(t, dir, nil, binary, "uninject", "-c", cfgFile, "-f", liveFile)
			if code != 0 {
				t.Fatalf("uninject of the live object: exit %d: %s", code, stderr)
			}
			// last-applied-configuration holds the injected manifest: look
			// at the pod, not at the text.
			pod := podFromLive(t, back)
			got := pod.MustString()
			for _, gone := range []string{"name: proxy", "name: agent", "sidecar-injector.io/status", "proxy-config", "registry", "PROXY_NODE", "proxy.example.com"} {
				if strings.Contains(got, gone) {
					t.Errorf("uninject left %q:\n%s", gone, got)
				}
			}
			if !strings.Contains(got, "image: example.com/") || !strings.Contains(got, "sidecar-injector.io/inject") {
				t.Errorf("uninject removed the app's own items:\n%s", got)
			}

			again, stderr, code := run(t, dir, nil, binary, "inject", "-c", cfgFile, "-f", liveFile)
			if code != 0 {
				t.Fatalf("inject of the live object: exit %d: %s", code, stderr)
			}
			if n := strings.Count(podFromLive(t, again).MustString(), "name: proxy\n"); n != 1 {
				t.Errorf("inject of the live object holds %d proxy containers:\n%s", n, again)
			}

			cfg, err := transformer.LoadConfig([]byte(trustConfig), "config.yaml")
			if err != nil {
				t.Fatal(err)
			}
			pod = podFromLive(t, live)
			r, err := (&transformer.Injector{Config: cfg, Admission: true}).Apply(pod, "")
			if err != nil || r.Reason != transformer.AlreadyInjected {
				t.Errorf("at admission: %v, %+v; want already injected\n%s", err, r, pod.MustString())
			}
		})
	}
	t.Run("a List from kubectl get", func(t *testing.T) { testLiveList(t, dir, kubectl, kc, cfgFile) })
}

// testLiveList: `kubectl get -o yaml` of several objects prints a
// List; uninject and inject work inside it, and the API server takes the
// result back.
func testLiveList(t *testing.T, dir, kubectl, kc, cfgFile string) {
	list, stderr, code := run(t, dir, nil, kubectl, "--kubeconfig", kc, "get", "-n", "default", "deployment/web", "pod/worker", "-o", "yaml")
	if code != 0 {
		t.Fatalf("kubectl get: exit %d: %s", code, stderr)
	}
	if !strings.Contains(string(list), "kind: List") {
		t.Fatalf("kubectl did not print a List:\n%s", list)
	}
	back, stderr, code := run(t, dir, list, binary, "uninject", "-c", cfgFile, "-f", "-")
	if code != 0 || strings.Count(string(stderr), "uninjected ") != 2 {
		t.Fatalf("uninject of the List: exit %d:\n%s", code, stderr)
	}
	again, stderr, code := run(t, dir, back, binary, "inject", "-c", cfgFile, "-f", "-")
	if code != 0 || strings.Count(string(stderr), "injected ") != 2 {
		t.Fatalf("inject of the uninjected List: exit %d:\n%s", code, stderr)
	}
	if _, stderr, code := run(t, dir, again, kubectl, "--kubeconfig", kc, "apply", "--dry-run=server", "-f", "-"); code != 0 {
		t.Errorf("the API server refuses the re-injected List: %s", stderr)
	}
}

// podFromLive makes a pod of a live object: itself, or its pod template,
// without kubectl's record of the last applied manifest.
func podFromLive(t *testing.T, live []byte) *yaml.RNode {
	t.Helper()
	rn := yaml.MustParse(string(live))
	if rn.GetKind() == "Pod" {
		if err := rn.PipeE(yaml.ClearAnnotation("kubectl.kubernetes.io/last-applied-configuration")); err != nil {
			t.Fatal(err)
		}
		return rn
	}
	tmpl, err := rn.Pipe(yaml.Lookup("spec", "template"))
	if err != nil || tmpl == nil {
		t.Fatalf("no pod template: %v", err)
	}
	pod := yaml.MustParse("apiVersion: v1\nkind: Pod\n")
	for _, f := range []string{"metadata", "spec"} {
		if err := pod.PipeE(yaml.SetField(f, tmpl.Field(f).Value)); err != nil {
			t.Fatal(err)
		}
	}
	return pod
}

// adminUser adds a user in group system:masters to env: the user (for
// clients) and its kubeconfig (for kubectl and helm).
func adminUser(t *testing.T, env *envtest.Environment) (*envtest.AuthenticatedUser, []byte) {
	t.Helper()
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	return user, kubeconfig
}

// kubectlCluster starts a control plane for one test and returns kubectl,
// the test's scratch directory and a writer into it, and the path of an
// admin's kubeconfig written there.
func kubectlCluster(t *testing.T) (kubectl, dir string, write func(name, content string) string, kubeconfig string) {
	t.Helper()
	kubectl = tool(t, "kubectl")
	_, config := adminUser(t, startControlPlane(t))
	dir = t.TempDir()
	write = writer(t, dir)
	return kubectl, dir, write, write("kubeconfig", string(config))
}

// writer returns a function that writes a file into dir and returns its path.
func writer(t *testing.T, dir string) func(name, content string) string {
	return func(name, content string) string {
		p := filepath.Join(dir, name)
		testio.WriteFile(t, p, content)
		return p
	}
}

// startControlPlane starts a kube-apiserver and etcd for one test.
func startControlPlane(t *testing.T) *envtest.Environment {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make e2e`, or export KUBEBUILDER_ASSETS=\"$(hack/install-envtest.sh)\"")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("%s not in KUBEBUILDER_ASSETS=%s: run hack/install-envtest.sh (%v)", bin, assets, err)
		}
	}
	start := time.Now()
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStopTimeout: 30 * time.Second}
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Logf("control plane up in %v", time.Since(start).Round(time.Millisecond))
	// envtest stops the API server before etcd.
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return env
}

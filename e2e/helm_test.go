//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// Helm, as users run it: Helm 3 with the binary as its post-renderer, Helm
// 4 with the plugin of helm-plugin/, kustomize's helmCharts generator and
// an Argo CD plugin, on the chart of examples/helm. hack/install-helm.sh
// builds helm3 (v3.22.0) and helm4 (v4.3.1).

// helmSetup is a copy of examples/helm with the built binary on PATH and
// Helm's own directories kept inside the test.
type helmSetup struct {
	dir    string   // the copy of examples/helm
	binDir string   // holds sidecar-injector
	env    []string // PATH with binDir first, HELM_* under the test
}

func newHelmSetup(t *testing.T) *helmSetup {
	t.Helper()
	dir, binDir := exampleCopy(t, "helm")
	home := t.TempDir()
	env := pathEnv(binDir)
	// Not HELM_PLUGINS: Helm 4.3.1 installs a local plugin under
	// HELM_DATA_HOME whatever it says, and then does not find it.
	for _, kv := range []string{"HELM_CACHE_HOME=cache", "HELM_CONFIG_HOME=config", "HELM_DATA_HOME=data"} {
		name, sub, _ := strings.Cut(kv, "=")
		env = append(env, name+"="+filepath.Join(home, sub))
	}
	// no cluster unless a test gives one
	env = append(env, "KUBECONFIG="+filepath.Join(home, "no-kubeconfig"))
	return &helmSetup{dir: dir, binDir: binDir, env: env}
}

// helm runs a Helm binary in the example's directory.
func (h *helmSetup) helm(t *testing.T, helm string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	return runEnv(t, h.dir, h.env, nil, helm, args...)
}

// installPlugin installs the repository's Helm 4 plugin, as its docs say.
func (h *helmSetup) installPlugin(t *testing.T, helm4 string) {
	t.Helper()
	must(t)(h.helm(t, helm4, "plugin", "install", filepath.Join(root, "helm-plugin")))
	list := string(must(t)(h.helm(t, helm4, "plugin", "list")))
	if !strings.Contains(list, "sidecar-injector") || !strings.Contains(list, "postrenderer/v1") {
		t.Fatalf("helm plugin list does not show the plugin:\n%s", list)
	}
}

// The one-liners of the README: the same post-renderer arguments for both.
var helmPostRender = []string{"--post-renderer", "sidecar-injector", "--post-renderer-args=-c=sidecar-injector.yaml"}

func TestExampleHelm3(t *testing.T) {
	helm3 := tool(t, "helm3")
	h := newHelmSetup(t)
	out := must(t)(h.helm(t, helm3, append([]string{"template", "shop", "./shop"}, helmPostRender...)...))
	checkExpected(t, filepath.Join(root, "examples", "helm", "expected", "helm3.yaml"), out)

	// Helm's output, byte for byte, but for the lines injected into the
	// one Deployment that asks: documents, order, comments, the hook that
	// Helm 3 prints without handing it to the post-renderer.
	plain := must(t)(h.helm(t, helm3, "template", "shop", "./shop"))
	checkOnlyInjected(t, plain, out, "Deployment")

	// The long spelling says the same.
	long := must(t)(h.helm(t, helm3, "template", "shop", "./shop", "--post-renderer", "sidecar-injector",
		"--post-renderer-args", "inject", "--post-renderer-args", "-c", "--post-renderer-args", "sidecar-injector.yaml",
		"--post-renderer-args", "-f", "--post-renderer-args", "-"))
	if !bytes.Equal(long, out) {
		t.Errorf("inject -c ... -f - differs from -c=... alone:\n%s", golden.Diff(out, long))
	}
}

func TestExampleHelm4(t *testing.T) {
	helm4 := tool(t, "helm4")
	h := newHelmSetup(t)
	h.installPlugin(t, helm4)
	out := must(t)(h.helm(t, helm4, append([]string{"template", "shop", "./shop"}, helmPostRender...)...))
	checkExpected(t, filepath.Join(root, "examples", "helm", "expected", "helm4.yaml"), out)

	// Helm 4 re-encodes the manifests for any post-renderer; against an
	// identity post-renderer, only the injected lines differ. Helm 4 hands
	// the hook Job over too, and it gets the proxy as a native sidecar.
	identity := filepath.Join(t.TempDir(), "identity")
	testio.WriteFile(t, filepath.Join(identity, "plugin.yaml"), "apiVersion: v1\ntype: postrenderer/v1\nname: identity\nversion: 0.1.0\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: cat\n")
	must(t)(h.helm(t, helm4, "plugin", "install", identity))
	plain := must(t)(h.helm(t, helm4, "template", "shop", "./shop", "--post-renderer", "identity"))
	checkOnlyInjected(t, plain, out, "Deployment", "Job")
}

// checkOnlyInjected: after has the documents of before, in order, each
// byte-identical except the injected ones (kinds), which only gain lines.
func checkOnlyInjected(t *testing.T, before, after []byte, kinds ...string) {
	t.Helper()
	b, a := strings.Split(string(before), "\n---\n"), strings.Split(string(after), "\n---\n")
	if len(a) != len(b) {
		t.Fatalf("%d documents, Helm wrote %d:\n%s", len(a), len(b), golden.Diff(before, after))
	}
	injected := 0
	for i := range b {
		if a[i] == b[i] {
			continue
		}
		kind := yaml.MustParse(b[i]).GetKind()
		if !contains(kinds, kind) {
			t.Errorf("document %d (%s) changed:\n%s", i, kind, golden.Diff([]byte(b[i]), []byte(a[i])))
			continue
		}
		if !isSubsequence(strings.Split(b[i], "\n"), strings.Split(a[i], "\n")) {
			t.Errorf("document %d (%s) lost or changed lines, not only gained some:\n%s", i, kind, golden.Diff([]byte(b[i]), []byte(a[i])))
		}
		injected++
	}
	if injected != len(kinds) {
		t.Errorf("%d documents injected, want %d (%v)", injected, len(kinds), kinds)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isSubsequence reports whether every line of a is in b, in order.
func isSubsequence(a, b []string) bool {
	i := 0
	for _, line := range b {
		if i < len(a) && a[i] == line {
			i++
		}
	}
	return i == len(a)
}

// TestHelmErrorsNameTemplate: Helm gives a post-renderer stdin, which has
// no file names; a bad resource is named with the chart template it came
// from (Helm 3's comment, Helm 4's annotation), and the user sees it on
// Helm's stderr (Helm 4 drops a plugin's stderr: the plugin hands it over).
func TestHelmErrorsNameTemplate(t *testing.T) {
	for name, line := range map[string]int{"helm3": 2, "helm4": 1} {
		t.Run(name, func(t *testing.T) {
			helm := tool(t, name)
			h := newHelmSetup(t)
			if name == "helm4" {
				h.installPlugin(t, helm)
			}
			stdout, stderr, code := h.helm(t, helm, append([]string{"template", "shop", "./shop", "--set", "injectSidecars=mesh"}, helmPostRender...)...)
			want := fmt.Sprintf(`Deployment shop-web (stdin:%d, template shop/templates/deployment.yaml): spec.template.metadata.annotations["sidecar-injector.io/inject"]: unknown sidecar set "mesh"`, line)
			if code == 0 || len(stdout) > 0 || !strings.Contains(string(stderr), want) {
				t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s\nwant it to contain %q", code, stdout, stderr, want)
			}
		})
	}
}

// TestHelmRelease: a release's life with the post-renderer, against a real
// kube-apiserver, with Helm 3 and with Helm 4 (its plugin). No job
// controller runs, so the test completes the pre-install/pre-upgrade hook
// Job that Helm waits for, after recording how it was injected: Helm 3
// never hands hooks to the post-renderer; Helm 4 does, and the Job gets the
// proxy as a native sidecar (it runs to completion).
func TestHelmRelease(t *testing.T) {
	cp := startControlPlane(t)
	user, kubeconfig := adminUser(t, cp)
	cs, err := kubernetes.NewForConfig(user.Config())
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	testio.WriteFile(t, kc, string(kubeconfig))

	hookJob := map[string]string{
		"helm3": "shop-migrate: migrate=example.com/shop:1.0",
		"helm4": "shop-migrate: init:proxy=nginx:1.27 migrate=example.com/shop:1.0",
	}
	for _, name := range []string{"helm3", "helm4"} {
		t.Run(name, func(t *testing.T) {
			helm := tool(t, name)
			h := newHelmSetup(t)
			h.env = append(h.env, "KUBECONFIG="+kc)
			if name == "helm4" {
				h.installPlugin(t, helm)
			}
			ns := "shop-" + name
			hooks := completeHookJobs(t, cs, ns)
			upgradedConfig := strings.Replace(testio.ReadFile(t, filepath.Join(h.dir, "sidecar-injector.yaml")), "image: nginx:1.27", "image: nginx:1.28", 1)
			testio.WriteFile(t, filepath.Join(h.dir, "sidecar-injector-v2.yaml"), upgradedConfig)
			release := func(args ...string) {
				t.Helper()
				must(t)(h.helm(t, helm, append(args, "--namespace", ns, "--timeout", "5m")...))
			}

			// install: the Deployment that asks is injected, the
			// StatefulSet is not.
			release(append([]string{"install", "shop", "./shop", "--create-namespace"}, helmPostRender...)...)
			web := getDeployment(t, cs, ns, "shop-web")
			if got := containerImages(web.Spec.Template.Spec.Containers); got != "web=example.com/shop:1.0 proxy=nginx:1.27" {
				t.Fatalf("installed Deployment's containers: %s", got)
			}
			db, err := cs.AppsV1().StatefulSets(ns).Get(t.Context(), "shop-db", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := containerImages(db.Spec.Template.Spec.Containers); got != "db=postgres:17" || len(db.Spec.Template.Annotations) != 0 {
				t.Errorf("the StatefulSet, which does not ask, was changed: %s %v", got, db.Spec.Template.Annotations)
			}
			if got := hooks.seen(); got != hookJob[name] {
				t.Errorf("hook Jobs at install: %q, want %q", got, hookJob[name])
			}

			// upgrade with a new sidecar image: exactly the sidecar changes.
			release(append([]string{"upgrade", "shop", "./shop"}, "--post-renderer", "sidecar-injector", "--post-renderer-args=-c=sidecar-injector-v2.yaml")...)
			upgraded := getDeployment(t, cs, ns, "shop-web")
			want := web.Spec.Template.DeepCopy()
			want.Spec.Containers[1].Image = "nginx:1.28"
			want.Annotations["sidecar-injector.io/status"] = upgraded.Spec.Template.Annotations["sidecar-injector.io/status"]
			if !equality.Semantic.DeepEqual(want, &upgraded.Spec.Template) {
				t.Errorf("the upgrade changed more than the sidecar's image:\n%s", golden.Diff(toYAML(t, want), toYAML(t, &upgraded.Spec.Template)))
			}
			if web.Spec.Template.Annotations["sidecar-injector.io/status"] == want.Annotations["sidecar-injector.io/status"] {
				t.Error("the status did not record the new image")
			}
			if want := strings.Replace(hookJob[name], "nginx:1.27", "nginx:1.28", 1); hooks.seen() != want {
				t.Errorf("hook Jobs at upgrade: want %q", want)
			}

			// The caveat: an upgrade without the post-renderer applies the
			// chart's own manifests, and the sidecar is gone.
			release("upgrade", "shop", "./shop")
			plain := getDeployment(t, cs, ns, "shop-web")
			if got := containerImages(plain.Spec.Template.Spec.Containers); got != "web=example.com/shop:1.0" {
				t.Errorf("after an upgrade without the post-renderer: %s, want the sidecar gone (the documented caveat)", got)
			}
			if _, ok := plain.Spec.Template.Annotations["sidecar-injector.io/status"]; ok {
				t.Error("the status annotation survived an upgrade without the post-renderer")
			}
			// A rollback applies the stored, injected manifest: no
			// post-renderer needed.
			release("rollback", "shop", "2")
			back := getDeployment(t, cs, ns, "shop-web")
			if got := containerImages(back.Spec.Template.Spec.Containers); got != "web=example.com/shop:1.0 proxy=nginx:1.28" {
				t.Errorf("after a rollback to revision 2: %s", got)
			}

			// uninstall removes everything the release made.
			release("uninstall", "shop", "--wait")
			if _, err := cs.AppsV1().Deployments(ns).Get(t.Context(), "shop-web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("Deployment after uninstall: %v", err)
			}
			if _, err := cs.AppsV1().StatefulSets(ns).Get(t.Context(), "shop-db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("StatefulSet after uninstall: %v", err)
			}
			jobs, err := cs.BatchV1().Jobs(ns).List(t.Context(), metav1.ListOptions{})
			if err != nil || len(jobs.Items) != 0 {
				t.Errorf("Jobs after uninstall: %v %v", jobs, err)
			}
			secrets, err := cs.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "owner=helm"})
			if err != nil || len(secrets.Items) != 0 {
				t.Errorf("release records after uninstall: %d %v", len(secrets.Items), err)
			}
		})
	}
}

func getDeployment(t *testing.T, cs *kubernetes.Clientset, ns, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// podImages renders a pod's init containers and containers as
// "init:name=image ... name=image ...".
func podImages(pod corev1.PodSpec) string {
	var parts []string
	for _, c := range pod.InitContainers {
		parts = append(parts, "init:"+c.Name+"="+c.Image)
	}
	if s := containerImages(pod.Containers); s != "" {
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// containerImages renders containers as "name=image ...".
func containerImages(cs []corev1.Container) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Image)
	}
	return strings.Join(parts, " ")
}

func toYAML(t *testing.T, v any) []byte {
	t.Helper()
	out, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hookJobs stands in for the job controller in one namespace: it marks
// every Job complete, as a run of its pod would, and records the
// containers each Job had when Helm created it.
type hookJobs struct {
	mu   sync.Mutex
	jobs []string // "name: container=image ...", in the order seen
}

// seen returns, and forgets, the Jobs completed since the last call.
func (h *hookJobs) seen() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := strings.Join(h.jobs, "; ")
	h.jobs = nil
	return s
}

func completeHookJobs(t *testing.T, cs *kubernetes.Clientset, ns string) *hookJobs {
	h := &hookJobs{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		completed := map[types.UID]bool{}
		for ctx.Err() == nil {
			jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, j := range jobs.Items {
					if completed[j.UID] {
						continue
					}
					now := metav1.Now()
					j.Status.StartTime, j.Status.CompletionTime, j.Status.Succeeded = &now, &now, 1
					j.Status.Conditions = []batchv1.JobCondition{
						{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
						{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
					}
					if _, err := cs.BatchV1().Jobs(ns).UpdateStatus(ctx, &j, metav1.UpdateOptions{}); err != nil {
						if ctx.Err() == nil {
							t.Logf("completing Job %s: %v", j.Name, err)
						}
						continue
					}
					completed[j.UID] = true
					h.mu.Lock()
					h.jobs = append(h.jobs, j.Name+": "+podImages(j.Spec.Template.Spec))
					h.mu.Unlock()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return h
}

// kustomize's helmCharts generator renders the chart with Helm 3, then the
// transformer injects: the same workloads as with the post-renderer.
func TestExampleHelmKustomize(t *testing.T) {
	kustomize, helm3 := tool(t, "kustomize"), tool(t, "helm3")
	h := newHelmSetup(t)
	out := must(t)(runEnv(t, h.dir, h.env, nil, kustomize, "build", "--enable-helm", "--enable-alpha-plugins", "--enable-exec", "--helm-command", helm3, "."))
	checkExpected(t, filepath.Join(root, "examples", "helm", "expected", "kustomize.yaml"), out)
	checkSameWorkloads(t, out, []byte(testio.ReadFile(t, filepath.Join(root, "examples", "helm", "expected", "helm4.yaml"))))
}

// Argo CD runs the plugin's generate command in the application's
// directory (the chart), with the sidecar's PATH and environment: run
// exactly that command, with Helm 3 as `helm`.
func TestExampleHelmArgoCD(t *testing.T) {
	helm3 := tool(t, "helm3")
	h := newHelmSetup(t)
	plugin := readYAML(t, filepath.Join(h.dir, "argocd", "plugin.yaml"))
	words := generateCommand(t, plugin)
	helmDir := t.TempDir()
	if err := os.Symlink(helm3, filepath.Join(helmDir, "helm")); err != nil {
		t.Fatal(err)
	}
	env := append(pathEnv(h.binDir, helmDir), "ARGOCD_APP_NAME=shop", "ARGOCD_APP_NAMESPACE=shop",
		"SIDECAR_INJECTOR_CONFIG="+filepath.Join(h.dir, "sidecar-injector.yaml"))
	for _, kv := range h.env {
		if strings.HasPrefix(kv, "HELM_") {
			env = append(env, kv)
		}
	}
	chart := filepath.Join(h.dir, "shop")
	out := must(t)(runEnv(t, chart, env, nil, words[0], words[1:]...))
	checkExpected(t, filepath.Join(root, "examples", "helm", "expected", "argocd.yaml"), out)
	// helm template prints the hooks, and the injector gets them: the
	// workloads of Helm 4's post-renderer, not Helm 3's.
	checkSameWorkloads(t, out, []byte(testio.ReadFile(t, filepath.Join(root, "examples", "helm", "expected", "helm4.yaml"))))
	plain := must(t)(runEnv(t, chart, env, nil, helm3, "template", "shop", ".", "--namespace", "shop"))
	checkOnlyInjected(t, plain, out, "Deployment", "Job")

	// A chart that fails to render fails the plugin: no empty success
	// for Argo CD to prune the application down to.
	testio.WriteFile(t, filepath.Join(chart, "templates", "broken.yaml"), `{{ fail "broken chart" }}`)
	stdout, stderr, code := runEnv(t, chart, env, nil, words[0], words[1:]...)
	if code == 0 || !strings.Contains(string(stderr), "broken chart") {
		t.Errorf("exit %d with a broken chart; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// checkSameWorkloads: two renders of the chart hold the same workloads,
// with the same containers (kind/name: container=image ...).
func checkSameWorkloads(t *testing.T, got, want []byte) {
	t.Helper()
	if g, w := workloadContainers(t, got), workloadContainers(t, want); g != w {
		t.Errorf("workloads differ:\n got: %s\nwant: %s", g, w)
	}
}

func workloadContainers(t *testing.T, stream []byte) string {
	t.Helper()
	nodes, err := kio.FromBytes(stream)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		pod, _ := n.Pipe(yaml.Lookup("spec", "template", "spec"))
		if pod == nil {
			continue
		}
		var cs []string
		for _, field := range []string{"initContainers", "containers"} {
			list := pod.Field(field)
			if list == nil {
				continue
			}
			for _, c := range list.Value.Content() {
				rn := yaml.NewRNode(c)
				name := yaml.GetValue(rn.Field("name").Value) + "=" + yaml.GetValue(rn.Field("image").Value)
				if field == "initContainers" {
					name = "init:" + name
				}
				cs = append(cs, name)
			}
		}
		out = append(out, n.GetKind()+"/"+n.GetName()+": "+strings.Join(cs, " "))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// TestHelmHooksReachPostRenderer: Helm 4 hands hooks to its post-renderer,
// Helm 3 never does. By default (helmHooks: inject) Helm 4's hook Job gets
// the proxy as a native sidecar (the goldens); with helmHooks: skip
// neither Helm's is injected.
func TestHelmHooksReachPostRenderer(t *testing.T) {
	helm4 := tool(t, "helm4")
	h := newHelmSetup(t)
	h.installPlugin(t, helm4)
	config := strings.Replace(testio.ReadFile(t, filepath.Join(h.dir, "sidecar-injector.yaml")), "\nspec:\n", "\nspec:\n  helmHooks: skip\n", 1)
	testio.WriteFile(t, filepath.Join(h.dir, "hooks-skip.yaml"), config)
	for config, want := range map[string]string{
		"sidecar-injector.yaml": "init:proxy=nginx:1.27 migrate=example.com/shop:1.0",
		"hooks-skip.yaml":       "migrate=example.com/shop:1.0",
	} {
		out := must(t)(h.helm(t, helm4, "template", "shop", "./shop", "--post-renderer", "sidecar-injector", "--post-renderer-args=-c="+config))
		if got := workloadContainers(t, out); !strings.Contains(got+";", "Job/shop-migrate: "+want+";") {
			t.Errorf("%s: workloads: %s\nwant Job/shop-migrate: %s", config, got, want)
		}
	}
	helm3 := tool(t, "helm3")
	out := must(t)(h.helm(t, helm3, append([]string{"template", "shop", "./shop"}, helmPostRender...)...))
	if got, want := workloadContainers(t, out), "Job/shop-migrate: migrate=example.com/shop:1.0;"; !strings.Contains(got+";", want) {
		t.Errorf("Helm 3: workloads: %s\nwant %s", got, want)
	}
}

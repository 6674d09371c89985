package policy_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/policy"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// engineAdmit runs the engine on a pod as the webhook does.
func engineAdmit(t testing.TB, cfg *transformer.Config, pod *corev1.Pod) (*corev1.Pod, error) {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := yaml.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	in := &transformer.Injector{Config: cfg, Admission: true}
	if _, err := in.Apply(rn, ""); err != nil {
		return nil, err
	}
	out, err := rn.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var p corev1.Pod
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return &p, nil
}

// outcome compares the policy with the engine on one pod. The policy may
// be stricter in one documented way only: it rejects a pod that already
// holds an item of the same name as one it would add, where the engine
// keeps an identical one (docs/policy.md).
type outcome int

const (
	equalInjected outcome = iota
	equalUnchanged
	bothRejected
	stricter
	statusCarried
)

func compare(t *testing.T, what string, cfg *transformer.Config, ev *evaluator, pod *corev1.Pod) outcome {
	t.Helper()
	want, engineErr := engineAdmit(t, cfg, pod)
	got, denied, err := ev.admit(t, pod)
	if err != nil {
		t.Fatalf("%s: %v\npod:\n%s", what, err, toJSON(t, pod))
	}
	if st, ok := pod.Annotations[cfg.StatusAnnotation()]; ok && st != "injected" && (engineErr != nil || !apiequality.Semantic.DeepEqual(want, got)) {
		// The engine checks a status against the pod (fingerprints);
		// the policy cannot, and leaves the pod alone (docs/policy.md).
		if len(denied) == 0 && !apiequality.Semantic.DeepEqual(pod, got) {
			t.Errorf("%s: the pod carries a status, yet the policy changed it\npod:\n%s\npolicy's:\n%s", what, toJSON(t, pod), toJSON(t, got))
		}
		t.Logf("%s: carries a status the engine does not believe (%v); the policy leaves it alone", what, engineErr)
		return statusCarried
	}
	switch {
	case engineErr != nil && len(denied) > 0:
		return bothRejected
	case engineErr != nil:
		t.Errorf("%s: the engine rejects the pod (%v) but the policies admit it\npod:\n%s\npolicy's:\n%s", what, engineErr, toJSON(t, pod), toJSON(t, got))
		return bothRejected
	case len(denied) > 0:
		if !strings.Contains(strings.Join(denied, "\n"), "already exists") {
			t.Errorf("%s: the policies reject the pod (%s) but the engine admits it\npod:\n%s\nengine's:\n%s", what, denied, toJSON(t, pod), toJSON(t, want))
		}
		return stricter
	}
	if !apiequality.Semantic.DeepEqual(want, got) {
		t.Errorf("%s: the policy's pod differs from the engine's\npod:\n%s\nengine's:\n%s\npolicy's:\n%s", what, toJSON(t, pod), toJSON(t, want), toJSON(t, got))
	}
	if apiequality.Semantic.DeepEqual(want, pod) {
		return equalUnchanged
	}
	return equalInjected
}

func loadCaseConfig(t *testing.T, c *golden.Case) (*transformer.Config, error) {
	cfg, err := transformer.LoadConfig(c.Config, "config.yaml")
	if err != nil {
		return nil, err
	}
	if c.Options.AnnotationPrefix != "" {
		if err := cfg.SetAnnotationPrefix(c.Options.AnnotationPrefix); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// TestGoldenPods: every pod of the golden corpus, and the pod template of
// every workload, gets from the policies what the engine gives it.
func TestGoldenPods(t *testing.T) {
	counts := map[outcome]int{}
	refused := 0
	compiled := map[string]*evaluator{} // many cases share a config: compile each policy once
	for _, c := range golden.Cases(t) {
		if c.Options.Uninject || strings.HasPrefix(c.Name, "err-") { // err-: not pods (one is an alias bomb)
			continue
		}
		cfg, err := loadCaseConfig(t, c)
		if err != nil {
			continue
		}
		p, err := policy.Generate(cfg, policy.Options{})
		listed := c.Options.Policy != ""
		switch {
		case err != nil && !listed:
			t.Errorf("%s: refused, and its options.yaml gives no policy reason: %v", c.Name, err)
			continue
		case err != nil:
			refused++
			t.Logf("%s: refused: %v", c.Name, err)
			continue
		case listed:
			t.Errorf("%s: options.yaml says policy refuses it (%s), but it is accepted", c.Name, c.Options.Policy)
		}
		key := toJSON(t, []any{p.Mutating.Spec, p.Validating.Spec})
		ev, ok := compiled[key]
		if !ok {
			ev = compile(t, p)
			compiled[key] = ev
		}
		for _, pod := range golden.Pods(c.Input) {
			what := c.Name + "/" + pod.Name
			o := compare(t, what, cfg, ev, pod)
			counts[o]++
			if o == equalInjected {
				// a pod injected already is left alone by both
				again, _ := engineAdmit(t, cfg, pod)
				if compare(t, what+" (again)", cfg, ev, again) != equalUnchanged {
					t.Errorf("%s: injecting twice changed the pod", what)
				}
			}
		}
	}
	t.Logf("golden pods: %d injected equal, %d unchanged equal, %d rejected by both, %d rejected by the policy only (a same-named item), %d with a status the engine does not believe; %d configs refused; %d distinct policies",
		counts[equalInjected], counts[equalUnchanged], counts[bothRejected], counts[stricter], counts[statusCarried], refused, len(compiled))
	if counts[equalInjected] < 20 {
		t.Errorf("only %d golden pods injected: the corpus is not read as expected", counts[equalInjected])
	}
}

// The configs of the generated pods: every feature the policy supports.
var generatedConfigs = map[string]string{
	"rich": `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: rich}
spec:
  sidecars:
  - name: proxy
    default: true
    containers:
    - name: proxy
      image: envoy:1.30
      args: ["--port", "15001"]
      ports: [{containerPort: 15001, name: http}]
      resources: {limits: {cpu: 0.5, memory: 64Mi}}
      readinessProbe: {httpGet: {port: 15021, path: /ready}}
      env: [{name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
      volumeMounts: [{name: shared, mountPath: /shared}]
    volumes:
    - {name: shared, emptyDir: {}}
    - {name: proxy-conf, configMap: {name: proxy, items: [{key: a, path: a}]}}
    imagePullSecrets: [{name: regcred}]
    env: [{name: PROXY, value: "localhost:15001"}, {name: MESH, value: "on"}]
    volumeMounts: [{name: shared, mountPath: /var/run/shared, readOnly: true}]
    annotations: {prometheus.io/scrape: "true", example.com/sidecar: proxy}
    labels: {mesh: enabled}
  - name: agent
    runToCompletion: skip
    containers:
    - {name: monitor, image: "docker.io/s1240zsw/centos-packet-agent:v1", stdin: true, tty: true}
    imagePullSecrets: [{name: regcred}, {name: agentcred}]
    annotations: {agent/enabled: "yes"}
  - name: init
    position: first
    initContainers:
    - {name: init-perms, image: busybox, command: [sh, -c, "chmod 777 /shared"], volumeMounts: [{name: shared, mountPath: /shared}]}
    volumes: [{name: shared, emptyDir: {}}]
  - name: mesh
    native: true
    position: first
    containers:
    - {name: mesh-agent, image: mesh:2, securityContext: {runAsUser: 1337, runAsNonRoot: true}}
    env: [{name: MESH, value: "on"}]
    labels: {mesh: enabled, mesh-native: "true"}
  - name: logs
    runToCompletion: as-configured
    containers:
    - {name: logs, image: "fluent-bit:3", volumeMounts: [{name: app-logs, mountPath: /logs}]}
    volumeMounts: [{name: app-logs, mountPath: /var/log/app}]
`,
	"required-enabled": `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: required}
spec:
  policy: enabled
  helmHooks: skip
  annotationPrefix: mesh.example.com
  sidecars:
  - name: audit
    required: true
    containers: [{name: audit, image: "audit:1"}]
    env: [{name: AUDIT, value: "1"}]
  - name: proxy
    default: true
    containers: [{name: proxy, image: "envoy:1.30"}]
    volumes: [{name: certs, secret: {secretName: certs}}]
    volumeMounts: [{name: certs, mountPath: /certs}]
  - name: extra
    containers: [{name: extra, image: "extra:1"}]
    annotations: {extra: "1"}
`,
}

// TestGeneratedPods: many pods, made to hit every decision (what they ask,
// what they already hold, how they run), get the same from the policies as
// from the engine.
func TestGeneratedPods(t *testing.T) {
	n := 250
	if testing.Short() {
		n = 60
	}
	for name, text := range generatedConfigs {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each config has its own pods and policies
			cfg, err := transformer.LoadConfig([]byte(text), name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := policy.Generate(cfg, policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ev := compile(t, p)
			rng := rand.New(rand.NewPCG(1, uint64(len(name))))
			counts := map[outcome]int{}
			for i := range n {
				pod := randomPod(rng, cfg, i)
				o := compare(t, fmt.Sprintf("pod %d", i), cfg, ev, pod)
				counts[o]++
				if o == equalInjected {
					again, _ := engineAdmit(t, cfg, pod)
					if compare(t, fmt.Sprintf("pod %d (again)", i), cfg, ev, again) != equalUnchanged {
						t.Errorf("pod %d: injecting twice changed the pod", i)
					}
				}
			}
			t.Logf("%d injected equal, %d unchanged equal, %d rejected by both, %d rejected by the policy only",
				counts[equalInjected], counts[equalUnchanged], counts[bothRejected], counts[stricter])
			for _, o := range []outcome{equalInjected, bothRejected} {
				if counts[o] < n/20 {
					t.Errorf("outcome %d only %d times in %d pods: the generator misses cases", o, counts[o], n)
				}
			}
		})
	}
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// randomPod makes a pod that asks for sets in every way the annotation
// allows, and now and then holds something a set adds.
func randomPod(rng *rand.Rand, cfg *transformer.Config, i int) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i)}}
	ann := map[string]string{}
	names := cfg.SetNames()
	switch rng.IntN(10) {
	case 0: // not asked
	case 1:
		ann[cfg.InjectAnnotation()] = pick(rng, "true", " TRUE ", "True")
	case 2:
		ann[cfg.InjectAnnotation()] = pick(rng, "false", "FALSE ")
	case 3:
		ann[cfg.InjectAnnotation()] = pick(rng, "", " ", "nope", names[0]+",", ","+names[0], names[0]+",,"+names[len(names)-1], strings.ToUpper(names[0]))
	default:
		k := 1 + rng.IntN(len(names))
		chosen := slices.Clone(names)
		rng.Shuffle(len(chosen), func(a, b int) { chosen[a], chosen[b] = chosen[b], chosen[a] })
		ann[cfg.InjectAnnotation()] = pick(rng, "", " ") + strings.Join(chosen[:k], pick(rng, ",", " , ", ", "))
	}
	if rng.IntN(8) == 0 {
		ann[transformer.HelmHookAnnotation] = "pre-install"
	}
	if rng.IntN(10) == 0 { // the tutorial's status
		ann[cfg.StatusAnnotation()] = "injected"
	}
	if rng.IntN(6) == 0 {
		ann["prometheus.io/scrape"] = pick(rng, "true", "false")
	}
	if rng.IntN(4) == 0 {
		ann["team"] = "a"
	}
	if len(ann) > 0 {
		p.Annotations = ann
	}
	if rng.IntN(3) == 0 {
		p.Labels = map[string]string{"app": "x"}
		if rng.IntN(4) == 0 {
			p.Labels["mesh"] = pick(rng, "enabled", "disabled")
		}
	}
	p.Spec.RestartPolicy = pick(rng, "", "", corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure)
	apps := pick(rng, []string{"app"}, []string{"web", "app"}, []string{"b", "a", "c"}, []string{"app", pick(rng, "proxy", "monitor", "audit", "logs")})
	for _, n := range apps {
		c := corev1.Container{Name: n, Image: n + ":1"}
		if rng.IntN(3) == 0 {
			c.Env = []corev1.EnvVar{{Name: "OWN", Value: "1"}}
			if rng.IntN(6) == 0 {
				c.Env = append(c.Env, corev1.EnvVar{Name: pick(rng, "PROXY", "MESH", "AUDIT"), Value: "mine"})
			}
		}
		if rng.IntN(3) == 0 {
			c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
			if rng.IntN(6) == 0 {
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: pick(rng, "/var/run/shared", "/certs", "/var/log/app")})
			}
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	if rng.IntN(2) == 0 || slices.ContainsFunc(p.Spec.Containers, func(c corev1.Container) bool { return len(c.VolumeMounts) > 0 }) {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		switch rng.IntN(6) {
		case 0:
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: pick(rng, "shared", "certs", "proxy-conf")})
		case 1:
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "app-logs"})
		}
	}
	if rng.IntN(3) == 0 {
		p.Spec.InitContainers = []corev1.Container{{Name: pick(rng, "migrate", "migrate", "init-perms"), Image: "migrate:1"}}
	}
	if rng.IntN(3) == 0 {
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pick(rng, "own", "regcred", "agentcred")}}
	}
	return p
}

// TestExample: the example's pod gets the proxy from its policy, as from
// the engine.
func TestExample(t *testing.T) {
	dir := filepath.Join(golden.Root(), "examples", "policy")
	text, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := transformer.LoadConfig(text, "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Generate(cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	podText, err := os.ReadFile(filepath.Join(dir, "pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pods := golden.Pods(podText)
	if len(pods) != 1 {
		t.Fatalf("pod.yaml holds %d pods", len(pods))
	}
	if o := compare(t, "examples/policy/pod.yaml", cfg, compile(t, p), pods[0]); o != equalInjected {
		t.Errorf("outcome %d, want injected", o)
	}
}

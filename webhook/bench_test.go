package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	gomodulesjsonpatch "gomodules.xyz/jsonpatch/v2"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/transformer"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/jsonpatch"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// benchPod is a ~4 KB pod as the API server sends it for a ReplicaSet's
// pod, opted in; the load test (bench/webhook-load) sends the same one.
func benchPod(b *testing.B) []byte {
	b.Helper()
	pod, err := os.ReadFile("testdata/bench-pod.json")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.TrimSpace(pod)
}

// BenchmarkServeHTTP is the whole request path but TLS and the network,
// with the memory budget as the server sets it (the pod weighed before its
// tree is built), and without.
func BenchmarkServeHTTP(b *testing.B) {
	inj := loadInjector(b, nginxConfig)
	body := reviewBody(b, benchPod(b), reviewOpts{})
	for _, budget := range []bool{true, false} {
		h := testHandler(inj)
		name := "no-budget"
		if budget {
			name = "budget"
			h.Budget = NewBudget(DefaultMaxInflightBytes, DefaultBudgetWait, DefaultBudgetWaiters)
			h.ContainerNodes = func() int { return containerNodes(inj) }
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Body)
				}
			}
		})
	}
}

// BenchmarkAdmit is the decision alone: envelope parsed, pod injected, patch made.
func BenchmarkAdmit(b *testing.B) {
	inj := loadInjector(b, nginxConfig)
	m := &Mutator{Injector: func() *transformer.Injector { return inj }}
	req, meta, err := ParseReview(reviewBody(b, benchPod(b), reviewOpts{}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := m.Admit(req, meta); d.Patch == nil {
			b.Fatal(d.Err)
		}
	}
}

// BenchmarkAdmitNotConcerned: a pod that does not ask, decided from its
// annotations without building the tree.
func BenchmarkAdmitNotConcerned(b *testing.B) { benchNotConcerned(b, true) }

// BenchmarkAdmitNotConcernedSlowPath: the same pod decided without the
// fast path (what it saves): its tree built and the engine run on it.
func BenchmarkAdmitNotConcernedSlowPath(b *testing.B) { benchNotConcerned(b, false) }

func benchNotConcerned(b *testing.B, fastPath bool) {
	inj := loadInjector(b, nginxConfig)
	m := &Mutator{Injector: func() *transformer.Injector { return inj }}
	pod := bytes.Replace(benchPod(b), []byte(`"sidecar-injector.io/inject":"true"`), []byte(`"team":"shop"`), 1)
	req, meta, err := ParseReview(reviewBody(b, pod, reviewOpts{}))
	if err != nil {
		b.Fatal(err)
	}
	if !fastPath {
		meta.OK = false // what the fast path takes for a pod it cannot decide
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := m.Admit(req, meta); d.Reason == "" {
			b.Fatal("not skipped")
		}
	}
}

func BenchmarkParseReview(b *testing.B) {
	body := reviewBody(b, benchPod(b), reviewOpts{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseReview(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePod(b *testing.B) {
	pod := benchPod(b)
	b.SetBytes(int64(len(pod)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nodejson.Decode(pod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEngineApply(b *testing.B) {
	inj := loadInjector(b, nginxConfig)
	pod := benchPod(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		n, _ := nodejson.Decode(pod)
		b.StartTimer()
		if r, err := inj.Apply(yaml.NewRNode(n), ""); err != nil || !r.Action.Changed() {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	inj := loadInjector(b, nginxConfig)
	pod := benchPod(b)
	orig, _ := nodejson.Decode(pod)
	n, _ := nodejson.Decode(pod)
	inj.Apply(yaml.NewRNode(n), "")
	b.ReportAllocs()
	for b.Loop() {
		if p, err := jsonpatch.Diff(orig, n); err != nil || p == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKyamlPath is the straightforward way, for comparison: the pod
// parsed by kyaml (JSON is YAML), the engine, kyaml's MarshalJSON, and a
// patch from gomodules.xyz/jsonpatch as controller-runtime's
// PatchResponseFromRaw makes it.
func BenchmarkKyamlPath(b *testing.B) {
	inj := loadInjector(b, nginxConfig)
	pod := benchPod(b)
	b.ReportAllocs()
	for b.Loop() {
		rn, err := yaml.Parse(string(pod))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := inj.Apply(rn, ""); err != nil {
			b.Fatal(err)
		}
		out, err := rn.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		ops, err := gomodulesjsonpatch.CreatePatch(pod, out)
		if err != nil || len(ops) == 0 {
			b.Fatal(err)
		}
	}
}

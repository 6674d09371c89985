package webhook

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/transformer"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/patchtest"
)

// FuzzAdmit checks the decision on any pod against the engine itself: no
// panic; a patch, applied as the API server applies it, gives exactly the
// engine's result on the pod; the patch rewrites nothing wholesale; and the
// patched pod is left alone the next time.
func FuzzAdmit(f *testing.F) {
	bench, err := os.ReadFile("testdata/bench-pod.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, pod := range []string{servedPod, string(bench),
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"sidecar-nginx","image":"mine"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"nginx,monitor"}},"spec":{"containers":[{"name":"a","image":"a","env":[{"name":"PROXIED","value":"true"}]}],"volumes":[]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"sidecar-injector.io/inject":"monitor"}},"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"a"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"logging":"off"}},"spec":{"initContainers":[{"name":"proxy-init","image":"old"}],"containers":[{"name":"a","env":[{"name":"LOG_DIR","value":"/tmp"}],"volumeMounts":[{"name":"x","mountPath":"/var/log/app"}]},{"name":"proxy"}],"volumes":[{"name":"app-logs","hostPath":{"path":"/"}}],"imagePullSecrets":[{"name":"registry-creds"}]}}`,
	} {
		f.Add([]byte(pod))
	}
	injectors := []*transformer.Injector{loadInjector(f, nginxConfig), loadInjector(f, fuzzConfig)}
	f.Fuzz(func(t *testing.T, pod []byte) {
		for _, inj := range injectors {
			admitMatchesEngine(t, inj, pod)
		}
	})
}

// fuzzConfig uses what the nginx config does not: every pod concerned
// unless it opts out, conflicts replaced, native sidecars placed first,
// init containers, the app's own env and mounts, pull secrets, labels.
const fuzzConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: fuzz
spec:
  policy: enabled
  onConflict: replace
  sidecars:
  - name: mesh
    default: true
    native: true
    position: first
    initContainers:
    - name: proxy-init
      image: example.com/proxy-init:1.0
    containers:
    - name: proxy
      image: example.com/proxy:1.0
  - name: logging
    default: true
    containers:
    - name: log-shipper
      image: fluent/fluent-bit:3.1
      volumeMounts:
      - name: app-logs
        mountPath: /var/log/app
    volumes:
    - name: app-logs
      emptyDir: {}
    volumeMounts:
    - name: app-logs
      mountPath: /var/log/app
    env:
    - name: LOG_DIR
      value: /var/log/app
    imagePullSecrets:
    - name: registry-creds
    annotations:
      fluentbit.io/parser: json
    labels:
      logging: enabled
`

// admitMatchesEngine is FuzzAdmit's check of one pod under one config.
func admitMatchesEngine(t *testing.T, inj *transformer.Injector, pod []byte) {
	t.Helper()
	m := &Mutator{Injector: func() *transformer.Injector { return inj }}
	tree, err := nodejson.Decode(pod)
	if err != nil || tree.Kind != yaml.MappingNode || duplicateKeys(tree) {
		return // not a pod the API server could send
	}
	req, meta, err := ParseReview(reviewBody(t, pod, reviewOpts{namespace: "shop"}))
	if err != nil {
		return
	}
	d := m.Admit(req, meta)
	if d.Patch == nil {
		return
	}
	// The engine's own result, on a tree of its own.
	if _, err := inj.Apply(yaml.NewRNode(tree), ""); err != nil {
		t.Fatalf("Admit patched a pod the engine rejects (%v):\n%s", err, pod)
	}
	want, err := nodejson.Append(nil, tree)
	if err != nil {
		t.Fatal(err)
	}
	got := patchtest.Apply(t, pod, d.Patch)
	if !patchtest.Equal(t, got, want) {
		t.Fatalf("patch %s\non %s\ngives %s\nthe engine %s", d.Patch, pod, got, want)
	}
	if msg := patchtest.Wholesale(t, pod, d.Patch); msg != "" {
		t.Fatalf("patch not minimal: %s\n%s", msg, d.Patch)
	}
	req2, meta2, err := ParseReview(reviewBody(t, got, reviewOpts{namespace: "shop"}))
	if err != nil {
		t.Fatal(err)
	}
	if again := m.Admit(req2, meta2); again.Patch != nil || !again.Allowed {
		t.Fatalf("the patched pod is patched again: %+v\n%s", again, got)
	}
}

// duplicateKeys reports a mapping with a repeated key anywhere in the tree:
// the API server never sends one, and JSON Patch libraries keep only one of them.
func duplicateKeys(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if seen[n.Content[i].Value] {
				return true
			}
			seen[n.Content[i].Value] = true
		}
	}
	for _, c := range n.Content {
		if duplicateKeys(c) {
			return true
		}
	}
	return false
}

// FuzzParseReview checks ParseReview, which cuts the object out before the
// standard decoder reads the envelope, against the standard decoder on the
// whole body: the same request, or an error for the same bodies.
func FuzzParseReview(f *testing.F) {
	f.Add(reviewBody(f, []byte(servedPod), reviewOpts{dryRun: true}))
	f.Add(rawReview(`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"a":"1","a":"2"}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"operation":"CREATE","obj\u0065ct":{"x":1},"Object":2}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, _, err := ParseReview(body)
		var want admissionv1.AdmissionReview
		strict, stdErr := strictjson.UnmarshalStrict(body, &want, strictjson.DisallowDuplicateFields)
		if stdErr != nil || len(strict) > 0 {
			if err == nil {
				t.Fatalf("ParseReview accepted %q; the standard decoder: %v %v", body, stdErr, strict)
			}
			return
		}
		if err != nil {
			if want.Request != nil && want.Request.UID != "" && want.Request.Kind.Kind != "" && want.Request.Resource.Resource != "" &&
				want.Request.Operation != "" && want.APIVersion == reviewAPIVersion && want.Kind == reviewKind {
				t.Fatalf("ParseReview refused %q (%v); the standard decoder reads it", body, err)
			}
			return
		}
		if !bytes.Equal(got.Object.Raw, want.Request.Object.Raw) {
			t.Fatalf("object %q, the standard decoder %q, in %q", got.Object.Raw, want.Request.Object.Raw, body)
		}
		got.Object.Raw, want.Request.Object.Raw = nil, nil
		if !reflect.DeepEqual(got, want.Request) {
			t.Fatalf("request %+v, the standard decoder %+v, in %q", got, want.Request, body)
		}
	})
}

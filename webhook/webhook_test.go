package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/patchtest"
)

var nginxConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: platform
spec:
  sidecars:
` + fixture.Indent(fixture.NginxHead, 2) + fixture.Indent(fixture.NginxSidecarNoPullPolicy, 4) + `    env:
    - name: PROXIED
      value: "true"
    annotations:
      example.com/proxied: "yes"
` + fixture.Indent(fixture.PacketAgentSet, 2)

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }

func loadInjector(t testing.TB, config string) *transformer.Injector {
	t.Helper()
	cfg, err := transformer.LoadConfig([]byte(config), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return NewInjector(cfg)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func testHandler(inj *transformer.Injector) *Handler {
	return &Handler{
		Admitter: &Mutator{Injector: func() *transformer.Injector { return inj }},
		Metrics:  NewMetrics("test"),
		Log:      discard,
	}
}

type reviewOpts struct {
	uid, operation, namespace, kind, resource, subResource string
	dryRun                                                 bool
}

func reviewBody(t testing.TB, object []byte, o reviewOpts) []byte {
	t.Helper()
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	req := map[string]any{
		"uid":       def(o.uid, "uid-1"),
		"kind":      map[string]string{"group": "", "version": "v1", "kind": def(o.kind, "Pod")},
		"resource":  map[string]string{"group": "", "version": "v1", "resource": def(o.resource, "pods")},
		"namespace": def(o.namespace, "default"),
		"operation": def(o.operation, "CREATE"),
		"userInfo":  map[string]any{"username": "alice", "groups": []string{"system:authenticated"}},
		"object":    json.RawMessage(object),
		"oldObject": nil,
		"dryRun":    o.dryRun,
		"options":   map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
	}
	if o.subResource != "" {
		req["subResource"] = o.subResource
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawReview wraps an object that may not be valid JSON.
func rawReview(object string) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"uid-1",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"default","operation":"CREATE","object":` + object + `}}`)
}

func post(h http.Handler, body []byte, contentType string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/mutate", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeResponse reads a response strictly into the API server's own type,
// so that a field it would not understand fails the test.
func decodeResponse(t testing.TB, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	var ar admissionv1.AdmissionReview
	strict, err := strictjson.UnmarshalStrict(body, &ar)
	if err != nil || len(strict) > 0 {
		t.Fatalf("response is not a valid AdmissionReview (%v %v):\n%s", err, strict, body)
	}
	if ar.APIVersion != "admission.k8s.io/v1" || ar.Kind != "AdmissionReview" || ar.Response == nil || ar.Request != nil {
		t.Fatalf("bad AdmissionReview envelope: %s", body)
	}
	return ar.Response
}

func admitPod(t testing.TB, h http.Handler, pod []byte, dryRun bool) *admissionv1.AdmissionResponse {
	t.Helper()
	w := post(h, reviewBody(t, pod, reviewOpts{dryRun: dryRun}), "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	resp := decodeResponse(t, w.Body.Bytes())
	if resp.UID != "uid-1" {
		t.Fatalf("uid %q, want uid-1", resp.UID)
	}
	if resp.Patch != nil && (resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch) {
		t.Fatalf("patch without patchType JSONPatch: %s", w.Body)
	}
	return resp
}

func applyPatch(t testing.TB, doc []byte, patch []byte) []byte {
	t.Helper()
	return patchtest.Apply(t, doc, patch)
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return patchtest.Equal(t, a, b)
}

// A pod as the API server sends it: defaulted fields, a projected token
// volume, fields this version of the engine does not know.
const servedPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-7d9f8-","namespace":"shop",
"labels":{"app":"web","pod-template-hash":"7d9f8"},
"annotations":{"sidecar-injector.io/inject":"true","team.example.com/owner":"payments","a~b/c":"x"},
"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f8","uid":"1","controller":true}]},
"spec":{"containers":[{"name":"web","image":"example.com/web:1.0","env":[{"name":"A","value":"1"}],
"volumeMounts":[{"name":"kube-api-access","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}],
"resources":{"requests":{"cpu":"100m"}},"futureField":{"x":[1,2.50,"3"]}}],
"volumes":[{"name":"kube-api-access","projected":{"sources":[{"serviceAccountToken":{"path":"token","expirationSeconds":3607}}]}}],
"restartPolicy":"Always","dnsPolicy":"ClusterFirst","priority":0,"enableServiceLinks":true},
"status":{"phase":"Pending"}}`

func TestInjectServedPod(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	resp := admitPod(t, h, []byte(servedPod), false)
	if !resp.Allowed || resp.Patch == nil {
		t.Fatalf("want an allowed response with a patch, got %+v", resp)
	}
	got := applyPatch(t, []byte(servedPod), resp.Patch)
	var pod struct {
		Metadata struct{ Annotations map[string]string }
		Spec     struct {
			Containers []map[string]any
			Volumes    []map[string]any
		}
	}
	if err := json.Unmarshal(got, &pod); err != nil {
		t.Fatal(err)
	}
	if n := len(pod.Spec.Containers); n != 2 || pod.Spec.Containers[1]["name"] != "sidecar-nginx" {
		t.Fatalf("containers after the patch: %v", pod.Spec.Containers)
	}
	if pod.Spec.Containers[0]["futureField"] == nil {
		t.Error("an unknown field of the pod was lost")
	}
	if len(pod.Spec.Volumes) != 2 || pod.Metadata.Annotations["a~b/c"] != "x" || pod.Metadata.Annotations["example.com/proxied"] != "yes" {
		t.Errorf("volumes or annotations wrong after the patch: %s", got)
	}
	st, err := transformer.ParseStatus(pod.Metadata.Annotations["sidecar-injector.io/status"])
	if err != nil || len(st.Sets) != 1 || st.Sets[0] != "nginx" {
		t.Errorf("status annotation: %v %+v", err, st)
	}
	if msg := patchtest.Wholesale(t, []byte(servedPod), resp.Patch); msg != "" {
		t.Errorf("patch not minimal: %s\n%s", msg, resp.Patch)
	}
	// Exactly the additions, each at its own path.
	var ops []struct{ Op, Path string }
	json.Unmarshal(resp.Patch, &ops)
	var paths []string
	for _, op := range ops {
		if op.Op != "add" {
			t.Errorf("unexpected %s %s", op.Op, op.Path)
		}
		paths = append(paths, op.Path)
	}
	want := []string{"/metadata/annotations/example.com~1proxied", "/metadata/annotations/sidecar-injector.io~1status",
		"/spec/containers/0/env/-", "/spec/containers/-", "/spec/volumes/-"}
	for _, p := range want {
		found := false
		for _, q := range paths {
			found = found || p == q
		}
		if !found {
			t.Errorf("no operation at %s; got %v", p, paths)
		}
	}
	if len(paths) != len(want) {
		t.Errorf("operations %v, want %v", paths, want)
	}
}

func TestDryRunIsHandledIdentically(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	wet := admitPod(t, h, []byte(servedPod), false)
	dry := admitPod(t, h, []byte(servedPod), true)
	if !bytes.Equal(wet.Patch, dry.Patch) || wet.Allowed != dry.Allowed {
		t.Errorf("dry run differs:\n%s\n%s", wet.Patch, dry.Patch)
	}
}

func TestSkips(t *testing.T) {
	inj := loadInjector(t, nginxConfig)
	injected := applyPatch(t, []byte(servedPod), admitPod(t, testHandler(inj), []byte(servedPod), false).Patch)
	other := loadInjector(t, strings.Replace(nginxConfig, "nginx:1.12.2", "nginx:1.27", 1))
	cases := map[string]struct {
		inj     *transformer.Injector
		pod     string
		reason  transformer.SkipReason
		warning string
	}{
		"not requested": {inj, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
			transformer.NotRequested, "not requested"},
		"opted out": {inj, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"false"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
			transformer.OptedOut, "opted out"},
		"injected at build time":       {inj, string(injected), transformer.AlreadyInjected, "already injected: nginx"},
		"injected with another config": {other, string(injected), transformer.AlreadyInjected, "injected with another config"},
		"the tutorial's status": {inj, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true","sidecar-injector.io/status":"injected"}},"spec":{"containers":[{"name":"a","image":"a"},{"name":"sidecar-nginx","image":"nginx"}]}}`,
			transformer.AlreadyInjected, "tutorial webhook"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := testHandler(c.inj)
			resp := admitPod(t, h, []byte(c.pod), false)
			if !resp.Allowed || resp.Patch != nil {
				t.Fatalf("want allowed without a patch, got %+v", resp)
			}
			if !strings.Contains(strings.Join(resp.Warnings, "\n"), c.warning) {
				t.Errorf("warnings %q do not say %q", resp.Warnings, c.warning)
			}
			if n := h.Metrics.skips.get(string(c.reason)); n != 1 {
				t.Errorf("skips{reason=%s} = %d, want 1", c.reason, n)
			}
		})
	}
}

func TestEngineErrorsDeny(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	cases := map[string]struct{ pod, msg string }{
		"unknown set": {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"metrics"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
			`unknown sidecar set "metrics"`},
		"conflict": {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"sidecar-nginx","image":"mine"}]}}`,
			`container "sidecar-nginx" already exists`},
		"bad status": {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/status":"{nope"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
			"not a status written by sidecar-injector"},
		"annotation not a string": {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":["true"]}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
			"expected a string, got a list"},
		"containers not a list": {`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":{"name":"a"}}}`,
			"spec.containers: expected a list"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			resp := admitPod(t, h, []byte(c.pod), false)
			if resp.Allowed || resp.Result == nil || resp.Result.Code != 422 || !strings.Contains(resp.Result.Message, c.msg) {
				t.Fatalf("want a 422 denial saying %q, got %+v", c.msg, resp)
			}
			if len(resp.Warnings) == 0 || !strings.Contains(resp.Warnings[0], c.msg) {
				t.Errorf("warnings %q do not carry the reason", resp.Warnings)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	pod := []byte(servedPod)
	review := func(o reviewOpts) []byte { return reviewBody(t, pod, o) }
	cases := map[string]struct {
		body        []byte
		contentType string
		status      int // HTTP status
		code        int // response.status.code, for HTTP 200 denials
		uid         string
		msg         string
	}{
		"not JSON":                    {[]byte("hello"), "application/json", 400, 0, "", "cannot read"},
		"truncated":                   {review(reviewOpts{})[:200], "application/json", 400, 0, "", "cannot read"},
		"array":                       {[]byte(`[1,2]`), "application/json", 400, 0, "", "expected an AdmissionReview object"},
		"empty":                       {nil, "application/json", 400, 0, "", "empty request body"},
		"wrong apiVersion":            {bytes.Replace(review(reviewOpts{}), []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1), "application/json", 400, 0, "", "expected apiVersion admission.k8s.io/v1"},
		"wrong review kind":           {bytes.Replace(review(reviewOpts{}), []byte(`"kind":"AdmissionReview"`), []byte(`"kind":"Review"`), 1), "application/json", 400, 0, "", "kind AdmissionReview"},
		"no request":                  {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), "application/json", 400, 0, "", "request: missing"},
		"no uid":                      {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{},"resource":{},"operation":"CREATE"}}`), "application/json", 400, 0, "", "request.uid: missing"},
		"uid not a string":            {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}`), "application/json", 400, 0, "", "request.uid of type"},
		"no kind":                     {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u9","resource":{},"operation":"CREATE"}}`), "application/json", 400, 0, "u9", "request.kind: missing"},
		"broken later":                {[]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u8","object":{"a":]}}}`), "application/json", 400, 0, "u8", "cannot read"},
		"pod not JSON, not concerned": {rawReview(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","labels":{"a":1 2}},"spec":[1,,2]}`), "application/json", 400, 0, "uid-1", "invalid JSON in request.object"},
		"pod not JSON, concerned":     {rawReview(`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"a" "image":"b"}]}}`), "application/json", 400, 0, "uid-1", "invalid JSON in request.object"},
		"pod with a bad escape":       {rawReview(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"\q"}}`), "application/json", 400, 0, "uid-1", "invalid JSON in request.object.metadata.name"},
		"text/plain":                  {review(reviewOpts{}), "text/plain", 415, 0, "", "expected application/json"},
		"yaml":                        {review(reviewOpts{}), "application/yaml", 415, 0, "", "expected application/json"},
		"json with charset":           {review(reviewOpts{}), "application/json; charset=utf-8", 200, 0, "uid-1", ""},
		"operation UPDATE":            {review(reviewOpts{operation: "UPDATE"}), "application/json", 200, 400, "uid-1", "got operation UPDATE"},
		"deployments":                 {review(reviewOpts{resource: "deployments", kind: "Deployment"}), "application/json", 200, 400, "uid-1", "got resource v1 deployments, kind v1 Deployment"},
		"pods/binding":                {review(reviewOpts{subResource: "binding"}), "application/json", 200, 400, "uid-1", "resource v1 pods/binding"},
		"no object":                   {bytes.Replace(review(reviewOpts{}), []byte(`"object":{`), []byte(`"object":null,"x":{`), 1), "application/json", 200, 400, "uid-1", "request.object: missing"},
		"object a string":             {reviewBody(t, []byte(`"pod"`), reviewOpts{}), "application/json", 200, 400, "uid-1", "request.object: expected an object"},
		"object not a Pod":            {reviewBody(t, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`), reviewOpts{}), "application/json", 200, 400, "uid-1", `expected apiVersion v1, kind Pod; got apiVersion "apps/v1", kind "Deployment"`},
		"object without kind":         {reviewBody(t, []byte(`{"metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`), reviewOpts{}), "application/json", 200, 400, "uid-1", `got apiVersion "", kind ""`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := post(h, c.body, c.contentType)
			if w.Code != c.status {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, c.status, w.Body)
			}
			resp := decodeResponse(t, w.Body.Bytes())
			if string(resp.UID) != c.uid {
				t.Errorf("uid %q, want %q", resp.UID, c.uid)
			}
			if c.msg == "" {
				if !resp.Allowed {
					t.Errorf("denied: %+v", resp.Result)
				}
				return
			}
			if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, c.msg) {
				t.Fatalf("want a denial saying %q, got %+v", c.msg, resp.Result)
			}
			want := c.code
			if want == 0 {
				want = c.status
			}
			if int(resp.Result.Code) != want {
				t.Errorf("result code %d, want %d", resp.Result.Code, want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/mutate", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d", w.Code)
	}
}

func TestBodyLimit(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	h.MaxRequestBytes = 4096
	big := reviewBody(t, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"x":"`+strings.Repeat("a", 5000)+`"}}}`), reviewOpts{})
	// With a Content-Length, and streamed without one.
	w := post(h, big, "application/json")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("HTTP %d, want 413", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/mutate", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: HTTP %d, want 413", w.Code)
	}
	decodeResponse(t, w.Body.Bytes())
	small := reviewBody(t, []byte(servedPod), reviewOpts{})
	if len(small) > 4096 {
		t.Fatalf("test pod too big: %d", len(small))
	}
	if w := post(h, small, "application/json"); w.Code != http.StatusOK {
		t.Errorf("a request under the limit: HTTP %d", w.Code)
	}
}

type panicky struct{}

func (panicky) Admit(*admissionv1.AdmissionRequest, *ObjectMeta) Decision { panic("boom") }

func TestPanicKeepsUID(t *testing.T) {
	h := testHandler(nil)
	h.Admitter = panicky{}
	w := post(h, reviewBody(t, []byte(servedPod), reviewOpts{uid: "keep-me"}), "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP %d", w.Code)
	}
	resp := decodeResponse(t, w.Body.Bytes())
	if resp.UID != "keep-me" || resp.Allowed || resp.Result.Code != 500 || !strings.Contains(resp.Result.Message, "boom") {
		t.Errorf("panic response: %+v", resp)
	}
	if n := h.Metrics.errors.get("panic"); n != 1 {
		t.Errorf("errors{type=panic} = %d", n)
	}
}

func TestNoConfigIsUnavailable(t *testing.T) {
	h := testHandler(nil)
	w := post(h, reviewBody(t, []byte(servedPod), reviewOpts{}), "application/json")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("HTTP %d, want 503", w.Code)
	}
	if resp := decodeResponse(t, w.Body.Bytes()); resp.Allowed || resp.UID != "uid-1" {
		t.Errorf("response %+v", resp)
	}
}

func TestTutorialAnnotationPrefix(t *testing.T) {
	cfg, err := transformer.LoadConfig([]byte(fixture.PacketAgentSidecar), "sidecarconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.SetAnnotationPrefix("sidecar-injector-webhook.morven.me"); err != nil {
		t.Fatal(err)
	}
	h := testHandler(NewInjector(cfg))
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx","annotations":{"sidecar-injector-webhook.morven.me/inject":"true"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.7.9"}]}}`
	resp := admitPod(t, h, []byte(pod), false)
	got := applyPatch(t, []byte(pod), resp.Patch)
	if !bytes.Contains(got, []byte(`"stdin":true`)) || !bytes.Contains(got, []byte(`sidecar-injector-webhook.morven.me/status`)) {
		t.Errorf("packet agent not injected: %s", got)
	}
}

// TestConcurrent runs requests in parallel on one engine and config (with
// -race, this checks that Apply shares nothing mutable between requests).
func TestConcurrent(t *testing.T) {
	h := testHandler(loadInjector(t, nginxConfig))
	want := admitPod(t, h, []byte(servedPod), false).Patch
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				uid := fmt.Sprintf("u-%d-%d", i, j)
				w := post(h, reviewBody(t, []byte(servedPod), reviewOpts{uid: uid}), "application/json")
				var ar admissionv1.AdmissionReview
				if err := json.Unmarshal(w.Body.Bytes(), &ar); err != nil || string(ar.Response.UID) != uid || !bytes.Equal(ar.Response.Patch, want) {
					errs <- fmt.Sprintf("request %s: %v %s", uid, err, w.Body)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestApplyLeavesTheOriginal pins down what Admit relies on to decode a pod
// once: for a pod, the engine's Change names the root, and its Original is
// the pod as sent.
func TestApplyLeavesTheOriginal(t *testing.T) {
	inj := loadInjector(t, nginxConfig)
	root, err := nodejson.Decode([]byte(servedPod))
	if err != nil {
		t.Fatal(err)
	}
	r, err := inj.Apply(yaml.NewRNode(root), "")
	if err != nil || !r.Action.Changed() {
		t.Fatalf("%v %v", r, err)
	}
	if r.Change == nil || r.Change.Node != root {
		t.Fatal("the engine's change is not the pod's root; Admit falls back to a second decode, which costs ~20% more")
	}
	before, err := nodejson.Append(nil, r.Change.Original)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, before, []byte(servedPod)) {
		t.Errorf("the engine changed nodes of the original pod:\n%s", before)
	}
}

// TestConfigAliases: YAML anchors in the config are followed when the
// injected items are written as JSON.
func TestConfigAliases(t *testing.T) {
	inj := loadInjector(t, `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: x}
spec:
  sidecars:
  - name: s
    default: true
    containers:
    - name: one
      image: busybox
      env: &envs
      - {name: A, value: "1"}
    - name: two
      image: busybox
      env: *envs
`)
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"app","image":"app"}]}}`
	got := applyPatch(t, []byte(pod), admitPod(t, testHandler(inj), []byte(pod), false).Patch)
	var p struct {
		Spec struct {
			Containers []struct{ Env []map[string]string }
		}
	}
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Containers) != 3 || len(p.Spec.Containers[2].Env) != 1 || p.Spec.Containers[2].Env[0]["value"] != "1" {
		t.Errorf("aliased env not expanded: %s", got)
	}
}

// TestParseReviewAsStandard: ParseReview, which cuts the object out before
// the standard decoder reads the envelope, reads what the standard decoder
// reads of the whole review.
func TestParseReviewAsStandard(t *testing.T) {
	review := string(reviewBody(t, []byte(servedPod), reviewOpts{dryRun: true}))
	for name, body := range map[string]string{
		"as sent":       review,
		"spaced":        strings.Replace(review, `"object":`, "\"object\" :\n ", 1),
		"escaped key":   strings.Replace(review, `"object":`, `"obj\u0065ct":`, 1),
		"other case":    strings.Replace(review, `"object":`, `"Object":`, 1),
		"null":          string(rawReview(`null`)),
		"a string":      string(rawReview(` "pod" `)),
		"nested object": string(rawReview(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"object":{"request":{"object":1}}}`)),
	} {
		t.Run(name, func(t *testing.T) {
			var want admissionv1.AdmissionReview
			if err := strictjson.UnmarshalCaseSensitivePreserveInts([]byte(body), &want); err != nil {
				t.Fatal(err)
			}
			got, _, err := ParseReview([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Object.Raw, want.Request.Object.Raw) {
				t.Errorf("object %s, want %s", got.Object.Raw, want.Request.Object.Raw)
			}
			got.Object.Raw, want.Request.Object.Raw = nil, nil
			if !reflect.DeepEqual(got, want.Request) {
				t.Errorf("request %+v\nwant %+v", got, want.Request)
			}
		})
	}
	dup := strings.Replace(review, `"object":`, `"object":{},"object":`, 1)
	if _, _, err := ParseReview([]byte(dup)); err == nil || !strings.Contains(err.Error(), `duplicate field "request.object"`) {
		t.Errorf("two objects: %v", err)
	}
}

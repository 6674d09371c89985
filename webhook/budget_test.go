package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sidecar-injector/sidecar-injector/bench/hostile"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

func TestBudgetReserve(t *testing.T) {
	b := NewBudget(100, 0, 0) // no waiting
	ctx := context.Background()
	if !b.Reserve(ctx, 60) || b.InUse() != 60 {
		t.Fatalf("60 of 100: in use %d", b.InUse())
	}
	if b.Reserve(ctx, 41) || b.InUse() != 60 {
		t.Fatalf("41 more than the 40 left was granted, or took something: in use %d", b.InUse())
	}
	if !b.Reserve(ctx, 40) || b.InUse() != 100 {
		t.Fatalf("the last 40: in use %d", b.InUse())
	}
	b.Release(100)
	if b.Reserve(ctx, 101) || b.InUse() != 0 {
		t.Fatalf("more than the whole budget was granted: in use %d", b.InUse())
	}
	if !b.Reserve(ctx, 100) {
		t.Fatal("the whole budget, free, was refused")
	}
}

// waiters returns how many Reserve calls are waiting.
func (b *Budget) waiters() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 10000 {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBudgetWaiters: a request that does not fit waits for a release, but
// only so many wait; the others are refused at once, and so is one whose
// context ends.
func TestBudgetWaiters(t *testing.T) {
	b := NewBudget(100, time.Hour, 2) // a wait that never expires in the test
	ctx := context.Background()
	b.Reserve(ctx, 100)
	got := make(chan bool, 2)
	for i := 0; i < 2; i++ {
		go func() { got <- b.Reserve(ctx, 50) }()
	}
	waitFor(t, "two waiters", func() bool { return b.waiters() == 2 })
	if b.Reserve(ctx, 1) {
		t.Fatal("a third waiter was let in while the budget is full")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	b.mu.Lock()
	b.maxQueue = 3
	b.mu.Unlock()
	if b.Reserve(cancelled, 1) {
		t.Fatal("a request whose context ended was granted")
	}
	b.Release(100)
	for i := 0; i < 2; i++ {
		if !<-got {
			t.Error("a waiter was refused after the budget was released")
		}
	}
	if b.InUse() != 100 || b.waiters() != 0 {
		t.Errorf("in use %d, %d waiting; want 100, 0", b.InUse(), b.waiters())
	}
}

func TestBudgetWaitIsBounded(t *testing.T) {
	b := NewBudget(10, time.Millisecond, 10)
	b.Reserve(context.Background(), 10)
	if b.Reserve(context.Background(), 1) {
		t.Fatal("granted without a release")
	}
	if b.waiters() != 0 {
		t.Errorf("%d still waiting", b.waiters())
	}
}

// object is the pod of a review, as the handler weighs it.
func object(t *testing.T, review []byte) []byte {
	req, _, err := ParseReview(review)
	if err != nil {
		t.Fatal(err)
	}
	return req.Object.Raw
}

// blockingAdmitter holds every request until release is closed, and
// records what the budget held meanwhile.
type blockingAdmitter struct {
	h       *Handler
	entered chan int64
	release chan struct{}
}

func (a *blockingAdmitter) Admit(req *admissionv1.AdmissionRequest, _ *ObjectMeta) Decision {
	a.entered <- a.h.Budget.InUse()
	<-a.release
	return Decision{Response: Response{UID: string(req.UID), Allowed: true}}
}

func budgetHandler(limit int64) (*Handler, *blockingAdmitter) {
	h := testHandler(nil)
	h.Budget = NewBudget(limit, 0, 0)
	h.Metrics.budget = h.Budget
	a := &blockingAdmitter{h: h, entered: make(chan int64, 4), release: make(chan struct{})}
	h.Admitter = a
	return h, a
}

// countingReader counts what the handler read of a body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func postTo(h http.Handler, body []byte, chunked bool) (*httptest.ResponseRecorder, *countingReader) {
	cr := &countingReader{r: bytes.NewReader(body)}
	r := httptest.NewRequest(http.MethodPost, "/mutate", cr)
	r.ContentLength = int64(len(body))
	if chunked {
		r.ContentLength = -1
	}
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, cr
}

// TestBudgetHoldsBodyAndTree: while a request is admitted, the budget
// holds twice its body (the body and the strings read from it) and the
// estimate of its tree; afterwards, nothing. A body of unknown length is
// first weighed at the body limit, then at its size.
func TestBudgetHoldsBodyAndTree(t *testing.T) {
	body := reviewBody(t, []byte(servedPod), reviewOpts{})
	pod := object(t, body)
	shape := nodejson.Measure(pod)
	want := 2*int64(len(body)) + int64(len(pod)) + int64(shape.Nodes)*nodeWeight + int64(shape.Depth)*levelWeight
	for _, chunked := range []bool{false, true} {
		h, a := budgetHandler(DefaultMaxInflightBytes)
		done := make(chan *httptest.ResponseRecorder)
		go func() { w, _ := postTo(h, body, chunked); done <- w }()
		if got := <-a.entered; got != want {
			t.Errorf("chunked %v: %d bytes held during admission, want %d (body %d, pod %d, %d nodes, depth %d)",
				chunked, got, want, len(body), len(pod), shape.Nodes, shape.Depth)
		}
		close(a.release)
		if w := <-done; w.Code != http.StatusOK {
			t.Errorf("HTTP %d: %s", w.Code, w.Body)
		}
		if h.Budget.InUse() != 0 {
			t.Errorf("%d bytes still held after the answer", h.Budget.InUse())
		}
	}
}

// TestOverloadIs429: past the budget, a request is answered at once with
// 429, Retry-After and an AdmissionReview the API server reads, its body
// is read to the end (so that the client sees the answer, not a reset
// connection), and the metrics count it.
func TestOverloadIs429(t *testing.T) {
	body := reviewBody(t, []byte(servedPod), reviewOpts{})
	h, a := budgetHandler(0)
	h.Budget.limit = 2*int64(len(body)) + h.treeWeight(object(t, body), 1) // one request at a time
	first := make(chan *httptest.ResponseRecorder)
	go func() { w, _ := postTo(h, body, false); first <- w }()
	var held int64
	select {
	case held = <-a.entered:
	case w := <-first:
		t.Fatalf("the first request was not admitted: HTTP %d %s", w.Code, w.Body)
	}

	for _, chunked := range []bool{false, true} {
		w, cr := postTo(h, body, chunked)
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
			t.Fatalf("chunked %v: HTTP %d, Retry-After %q; want 429, 1", chunked, w.Code, w.Header().Get("Retry-After"))
		}
		resp := decodeResponse(t, w.Body.Bytes())
		if resp.Allowed || resp.Result == nil || resp.Result.Code != 429 || !strings.Contains(resp.Result.Message, "memory budget") {
			t.Errorf("response %+v", resp.Result)
		}
		if cr.n != len(body) {
			t.Errorf("read %d of the refused request's %d bytes", cr.n, len(body))
		}
	}
	if h.Budget.InUse() != held {
		t.Errorf("the refused requests changed what is held: %d, was %d", h.Budget.InUse(), held)
	}
	close(a.release)
	if w := <-first; w.Code != http.StatusOK {
		t.Errorf("the admitted request: HTTP %d", w.Code)
	}
	go func() { <-a.entered }()
	if w, _ := postTo(h, body, false); w.Code != http.StatusOK {
		t.Errorf("after the release: HTTP %d, want 200", w.Code)
	}
	var m bytes.Buffer
	h.Metrics.WriteTo(&m)
	for _, want := range []string{
		`sidecar_injector_admission_requests_total{outcome="overloaded"} 2`,
		`sidecar_injector_errors_total{type="overloaded"} 2`,
		`sidecar_injector_inflight_bytes 0`,
		`sidecar_injector_inflight_bytes_limit ` + strconv.FormatInt(h.Budget.Limit(), 10),
	} {
		if !strings.Contains(m.String(), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	checkExposition(t, m.String())
}

// TestTooCostlyPodIs413: a pod whose tree alone would exceed the budget can
// never be served: 413, with the UID, not a 429 to retry.
func TestTooCostlyPodIs413(t *testing.T) {
	pod, err := hostile.Pod("numbers", 50_000)
	if err != nil {
		t.Fatal(err)
	}
	body := reviewBody(t, pod, reviewOpts{})
	h, _ := budgetHandler(1 << 20) // 50 KB of numbers make a 4 MB tree
	w, _ := postTo(h, body, false)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("HTTP %d, want 413: %s", w.Code, w.Body)
	}
	resp := decodeResponse(t, w.Body.Bytes())
	if resp.UID != "uid-1" || resp.Result == nil || !strings.Contains(resp.Result.Message, "--max-inflight-bytes") {
		t.Errorf("response %+v %+v", resp.UID, resp.Result)
	}
	if h.Budget.InUse() != 0 {
		t.Errorf("%d bytes held after a 413", h.Budget.InUse())
	}
}

// TestContainerWeight: a config that adds env vars or mounts to every app
// container makes each of them weigh more.
func TestContainerWeight(t *testing.T) {
	if n := containerNodes(loadInjector(t, hostile.Config)); n != 5+5+3 { // an env var {name, value}, a mount {name, mountPath}, the lists and the container
		t.Errorf("containerNodes(hostile.Config) = %d", n)
	}
	plain := strings.Replace(hostile.Config, "    env:\n    - name: PROXIED\n      value: \"true\"\n    volumeMounts:\n    - name: nginx-conf\n      mountPath: /etc/nginx-shared\n", "", 1)
	if n := containerNodes(loadInjector(t, plain)); n != 0 {
		t.Errorf("containerNodes without env or mounts = %d", n)
	}
	pod := []byte(`{"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"a","args":["x","y"]},{"name":"b"}],"x":[{},{}]}}`)
	req, meta, err := ParseReview(rawReview(string(pod)))
	if err != nil || meta.Containers != 3 {
		t.Fatalf("ParseReview: %v; %d containers, want 3", err, meta.Containers)
	}
	pod = req.Object.Raw
	h := testHandler(nil)
	base := h.treeWeight(pod, 3)
	h.ContainerNodes = func() int { return 10 }
	if got, want := h.treeWeight(pod, 3)-base, int64(3*10*addedWeight+4*5*4); got != want { // and the diff's 4x5 table of int32
		t.Errorf("10 nodes added to 3 containers weigh %d, want %d", got, want)
	}
}

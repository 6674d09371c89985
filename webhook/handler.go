package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/sidecar-injector/sidecar-injector/webhook/internal/jsonpatch"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// DefaultMaxRequestBytes bounds a request body. The API server stores objects
// of up to ~1.5 MB and accepts requests of up to 3 MB; controller-runtime
// allows 7 MiB for a review, which may carry two objects. A pod review past
// that is not a real request.
const DefaultMaxRequestBytes = 7 << 20

// Handler serves AdmissionReviews (POST /mutate).
type Handler struct {
	Admitter        Admitter
	Metrics         *Metrics
	Log             *slog.Logger
	MaxRequestBytes int64
	// Budget, when set, bounds the memory of the requests in flight (see
	// treeWeight); a request that does not fit is answered 429.
	Budget *Budget
	// ContainerNodes, when set, returns how many nodes the config in
	// force may add to each app container (its env vars and mounts).
	ContainerNodes func() int
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// What a request holds while it is served, besides its body and the
// strings read with its envelope: a copy of the pod (the strings of its
// tree), the tree's nodes (a yaml.Node,
// a pointer to it in its parent, and one in the decoder's stack while its
// list is read), the stack of the recursions over the tree (the decoder,
// the engine, the diff), and what the engine adds to each app container,
// which the patch then carries too, and the diff's alignment of the
// changed container lists. Measured with bench/webhook-memory:
// see docs/webhook.md, "Memory".
const (
	nodeWeight  = 152 + 8 + 16
	levelWeight = 512
	addedWeight = 2 * nodeWeight
)

// treeWeight is what handling a pod will hold beyond the request's body,
// estimated from its JSON before its tree is built. containers is the
// number of its containers and init containers (ObjectMeta.Containers).
func (h *Handler) treeWeight(object []byte, containers int) int64 {
	shape := nodejson.Measure(object)
	w := int64(len(object)) + int64(shape.Nodes)*nodeWeight + int64(shape.Depth)*levelWeight
	if h.ContainerNodes != nil {
		if per := h.ContainerNodes(); per > 0 {
			// Every app container changes: the diff aligns the lists.
			c := containers
			w += int64(c)*int64(per)*addedWeight + jsonpatch.AlignBytes(c, c+1)
		}
	}
	return w
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "sidecar-injector: POST an AdmissionReview to /mutate", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		h.fail(w, start, http.StatusUnsupportedMediaType, "", fmt.Sprintf("Content-Type %q: expected application/json", ct))
		return
	}
	max := h.maxRequestBytes()
	if r.ContentLength > max {
		h.fail(w, start, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, max))
		return
	}
	// The body is reserved before it is read, twice: itself, and what
	// ParseReview reads out of it (the envelope's strings and the pod's
	// metadata; the pod's JSON stays in the body), by its length, or by
	// the limit when it comes without one.
	held := 2 * max
	if r.ContentLength >= 0 {
		held = 2 * r.ContentLength
	}
	if !h.reserve(w, r, start, "", held) {
		return
	}
	defer func() { h.release(held) }()

	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	buf.Reset()
	body, err := readBody(buf, http.MaxBytesReader(w, r.Body, max), r.ContentLength)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.fail(w, start, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body exceeds the limit of %d bytes", max))
		return
	case err != nil:
		h.fail(w, start, http.StatusBadRequest, "", "reading the request body: "+err.Error())
		return
	case len(body) == 0:
		h.fail(w, start, http.StatusBadRequest, "", "empty request body: expected an AdmissionReview")
		return
	}
	if unused := held - 2*int64(len(body)); unused > 0 {
		h.release(unused)
		held -= unused
	}
	req, meta, err := ParseReview(body)
	if err != nil {
		var bad *BadRequestError
		uid := ""
		if errors.As(err, &bad) {
			uid = bad.UID
		}
		h.fail(w, start, http.StatusBadRequest, uid, err.Error())
		return
	}
	// The pod's tree is reserved before it is built.
	if h.Budget != nil && req.Object.Raw != nil {
		containers := 0
		if meta != nil {
			containers = meta.Containers
		}
		tree := h.treeWeight(req.Object.Raw, containers)
		if held+tree > h.Budget.Limit() {
			h.fail(w, start, http.StatusRequestEntityTooLarge, string(req.UID), fmt.Sprintf(
				"the pod would take about %d bytes of memory to handle (%d for the request, %d for the tree of its %d-byte object), more than the webhook's budget of %d (--max-inflight-bytes)",
				held+tree, held, tree, len(req.Object.Raw), h.Budget.Limit()))
			return
		}
		if !h.reserve(w, r, start, string(req.UID), tree) {
			return
		}
		held += tree
	}
	d := h.admit(r.Context(), req, meta)
	status := http.StatusOK
	if d.HTTPStatus != 0 {
		status = d.HTTPStatus
	}
	h.write(w, status, &d.Response)
	h.record(r.Context(), req, &d, time.Since(start))
}

// RetryAfterSeconds is the Retry-After of a 429. The API server's client
// retries such an answer after that long, within the webhook's timeout.
const RetryAfterSeconds = 1

// reserve takes n bytes of the budget, or answers 429 and reports false.
func (h *Handler) reserve(w http.ResponseWriter, r *http.Request, start time.Time, uid string, n int64) bool {
	if h.Budget == nil || h.Budget.Reserve(r.Context(), n) {
		return true
	}
	// Read what is left of the body into nothing: a server that answers
	// and closes while the client is still sending makes the client's
	// socket reset, and the client then sees a broken connection instead
	// of the 429 it should retry.
	io.Copy(io.Discard, io.LimitReader(r.Body, h.maxRequestBytes()))
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	msg := fmt.Sprintf("sidecar-injector is at its memory budget (--max-inflight-bytes %d): retry", h.Budget.Limit())
	resp := Errored(uid, http.StatusTooManyRequests, msg)
	h.write(w, http.StatusTooManyRequests, &resp)
	h.Metrics.errors.inc("overloaded")
	h.Metrics.ObserveRequest(OutcomeOverloaded, time.Since(start))
	h.Log.LogAttrs(r.Context(), slog.LevelWarn, "refused: memory budget in use",
		slog.String("uid", uid), slog.Int64("bytes", n), slog.Int64("budget", h.Budget.Limit()))
	return false
}

func (h *Handler) maxRequestBytes() int64 {
	if h.MaxRequestBytes <= 0 {
		return DefaultMaxRequestBytes
	}
	return h.MaxRequestBytes
}

func (h *Handler) release(n int64) {
	if h.Budget != nil {
		h.Budget.Release(n)
	}
}

// readBody reads a body of the given length (-1: unknown) into buf. With a
// known length it reads exactly that much into a buffer of that size:
// bytes.Buffer.ReadFrom would double a full buffer to look for the end.
func readBody(buf *bytes.Buffer, r io.Reader, length int64) ([]byte, error) {
	if length < 0 {
		_, err := buf.ReadFrom(r)
		return buf.Bytes(), err
	}
	buf.Grow(int(length))
	b := buf.AvailableBuffer()[:length]
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("body shorter than its Content-Length of %d bytes", length)
		}
		return nil, err
	}
	return b, nil
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // keep pooled buffers small
		bufPool.Put(b)
	}
}

// admit runs the Admitter, turning a panic into a denial that keeps the UID
// (the API server discards a response whose UID does not match).
func (h *Handler) admit(ctx context.Context, req *admissionv1.AdmissionRequest, meta *ObjectMeta) (d Decision) {
	defer func() {
		if p := recover(); p != nil {
			h.Log.LogAttrs(ctx, slog.LevelError, "panic while handling an admission request",
				slog.String("uid", string(req.UID)), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			d = Decision{Response: Errored(string(req.UID), http.StatusInternalServerError, fmt.Sprintf("internal error in sidecar-injector: %v", p)),
				Err: fmt.Errorf("panic: %v", p)}
			h.Metrics.errors.inc("panic")
		}
	}()
	return h.Admitter.Admit(req, meta)
}

// fail answers a request that could not be read, with an HTTP error status
// (the API server then applies the webhook's failurePolicy) and an
// AdmissionReview body that says why.
func (h *Handler) fail(w http.ResponseWriter, start time.Time, status int, uid, msg string) {
	resp := Errored(uid, status, msg)
	h.write(w, status, &resp)
	h.Metrics.errors.inc("bad_request")
	h.Metrics.ObserveRequest(OutcomeBadRequest, time.Since(start))
	h.Log.LogAttrs(context.Background(), slog.LevelWarn, "bad admission request",
		slog.Int("status", status), slog.String("uid", uid), slog.String("error", msg))
}

func (h *Handler) write(w http.ResponseWriter, status int, resp *Response) {
	bp := outPool.Get().(*[]byte)
	b := resp.AppendJSON((*bp)[:0])
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		h.Log.LogAttrs(context.Background(), slog.LevelDebug, "writing the response", slog.String("error", err.Error()))
	}
	if cap(b) <= 1<<20 {
		*bp = b
		outPool.Put(bp)
	}
}

var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (h *Handler) record(ctx context.Context, req *admissionv1.AdmissionRequest, d *Decision, took time.Duration) {
	outcome := OutcomeUnchanged
	level := slog.LevelInfo
	switch {
	case d.HTTPStatus == http.StatusServiceUnavailable:
		outcome, level = OutcomeUnavailable, slog.LevelError
		h.Metrics.errors.inc("unavailable")
	case d.Err != nil && d.Code >= 500:
		outcome, level = OutcomeError, slog.LevelError
		h.Metrics.errors.inc("internal")
	case d.Err != nil && d.Code == http.StatusBadRequest:
		outcome, level = OutcomeBadRequest, slog.LevelWarn
		h.Metrics.errors.inc("bad_request")
	case d.Err != nil:
		outcome, level = OutcomeDenied, slog.LevelWarn
		h.Metrics.errors.inc("denied")
	case d.Action.Changed():
		outcome = OutcomeInjected
		h.Metrics.injections.Add(1)
	case d.Reason != "":
		outcome = OutcomeSkipped
		h.Metrics.skips.inc(string(d.Reason))
	}
	for _, s := range d.Outdated {
		h.Metrics.outdated.inc(s)
	}
	h.Metrics.ObserveRequest(outcome, took)
	if !h.Log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("uid", string(req.UID)), slog.String("pod", d.Pod), slog.String("outcome", outcome))
	if d.Reason != "" {
		attrs = append(attrs, slog.String("reason", string(d.Reason)))
	}
	if len(d.Sets) > 0 {
		attrs = append(attrs, slog.Any("sets", d.Sets))
	}
	if len(d.Outdated) > 0 {
		attrs = append(attrs, slog.Any("outdatedSets", d.Outdated))
	}
	if req.DryRun != nil && *req.DryRun {
		attrs = append(attrs, slog.Bool("dryRun", true))
	}
	if d.Err != nil {
		attrs = append(attrs, slog.String("error", d.Err.Error()))
	}
	if len(d.Warnings) > 0 {
		attrs = append(attrs, slog.Any("warnings", d.Warnings))
	}
	attrs = append(attrs, slog.Int64("tookMicros", took.Microseconds()))
	h.Log.LogAttrs(ctx, level, "admission", attrs...)
}

func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

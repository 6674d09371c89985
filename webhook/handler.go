package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
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
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

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
	max := h.MaxRequestBytes
	if max <= 0 {
		max = DefaultMaxRequestBytes
	}
	if r.ContentLength > max {
		h.fail(w, start, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, max))
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer putBuf(buf)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.fail(w, start, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("request body exceeds the limit of %d bytes", max))
		return
	case err != nil:
		h.fail(w, start, http.StatusBadRequest, "", "reading the request body: "+err.Error())
		return
	case buf.Len() == 0:
		h.fail(w, start, http.StatusBadRequest, "", "empty request body: expected an AdmissionReview")
		return
	}
	req, meta, err := ParseReview(buf.Bytes())
	if err != nil {
		var bad *BadRequestError
		uid := ""
		if errors.As(err, &bad) {
			uid = bad.UID
		}
		h.fail(w, start, http.StatusBadRequest, uid, err.Error())
		return
	}
	d := h.admit(r.Context(), req, meta)
	status := http.StatusOK
	if d.HTTPStatus != 0 {
		status = d.HTTPStatus
	}
	h.write(w, status, &d.Response)
	h.record(r.Context(), req, &d, time.Since(start))
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // keep pooled buffers small
		bufPool.Put(b)
	}
}

// admit runs the Admitter, turning a panic into a denial that keeps the UID
// (the API server discards a response whose UID does not match).
func (h *Handler) admit(ctx context.Context, req *Request, meta *ObjectMeta) (d Decision) {
	defer func() {
		if p := recover(); p != nil {
			h.Log.LogAttrs(ctx, slog.LevelError, "panic while handling an admission request",
				slog.String("uid", req.UID), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			d = Decision{Response: Errored(req.UID, http.StatusInternalServerError, fmt.Sprintf("internal error in sidecar-injector: %v", p)),
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

func (h *Handler) record(ctx context.Context, req *Request, d *Decision, took time.Duration) {
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
	attrs = append(attrs, slog.String("uid", req.UID), slog.String("pod", d.Pod), slog.String("outcome", outcome))
	if d.Reason != "" {
		attrs = append(attrs, slog.String("reason", string(d.Reason)))
	}
	if len(d.Sets) > 0 {
		attrs = append(attrs, slog.Any("sets", d.Sets))
	}
	if len(d.Outdated) > 0 {
		attrs = append(attrs, slog.Any("outdatedSets", d.Outdated))
	}
	if req.DryRun {
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

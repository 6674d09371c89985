package webhook

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are the webhook's Prometheus metrics, written in the text
// exposition format by hand: client_golang would add ~1.5 ms and ~290 KB of
// allocations to the start-up of every run of the binary, which is also the
// KRM function (measured with GODEBUG=inittrace=1; see docs/webhook.md).
type Metrics struct {
	requests   counterVec // by outcome
	injections atomic.Uint64
	skips      counterVec // by reason
	outdated   counterVec // by set
	errors     counterVec // by type
	latency    histogram

	configReloads     counterVec // by result
	configLastSuccess atomic.Int64
	certReloads       counterVec
	certNotAfter      atomic.Int64
	ready             atomic.Bool
	version           string
	startTime         time.Time
	budget            *Budget // for the in-flight gauges; nil: none
}

// Outcomes of an admission request, the label of the requests counter.
const (
	OutcomeInjected    = "injected"
	OutcomeSkipped     = "skipped"
	OutcomeUnchanged   = "unchanged"
	OutcomeDenied      = "denied"
	OutcomeBadRequest  = "bad_request"
	OutcomeError       = "error"
	OutcomeUnavailable = "unavailable"
	OutcomeOverloaded  = "overloaded" // refused with 429: the memory budget was in use
)

var _ io.WriterTo = (*Metrics)(nil)

// NewMetrics returns empty metrics.
func NewMetrics(version string) *Metrics {
	m := &Metrics{version: version, startTime: time.Now()}
	m.latency.bounds = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	m.latency.counts = make([]atomic.Uint64, len(m.latency.bounds)+1)
	return m
}

// ObserveRequest records one /mutate request.
func (m *Metrics) ObserveRequest(outcome string, d time.Duration) {
	m.requests.inc(outcome)
	m.latency.observe(d)
}

// counterVec is a counter with one label, for a small set of values.
type counterVec struct {
	mu sync.RWMutex
	m  map[string]*atomic.Uint64
}

func (c *counterVec) inc(label string) {
	c.mu.RLock()
	v := c.m[label]
	c.mu.RUnlock()
	if v == nil {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*atomic.Uint64{}
		}
		if v = c.m[label]; v == nil {
			v = new(atomic.Uint64)
			c.m[label] = v
		}
		c.mu.Unlock()
	}
	v.Add(1)
}

func (c *counterVec) get(label string) uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v := c.m[label]; v != nil {
		return v.Load()
	}
	return 0
}

func (c *counterVec) snapshot() map[string]uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]uint64, len(c.m))
	for k, v := range c.m {
		out[k] = v.Load()
	}
	return out
}

type histogram struct {
	bounds []float64 // upper bounds in seconds
	counts []atomic.Uint64
	sumNs  atomic.Uint64
	count  atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(h.bounds, s) // first bound >= s: Prometheus buckets are "le"
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(d.Nanoseconds()))
	h.count.Add(1)
}

// WriteTo writes the metrics in the Prometheus text format (version 0.0.4).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	b := bufio.NewWriter(w)
	cw := &countingWriter{w: b}
	labelled := func(name, help, label string, values map[string]uint64, always ...string) {
		fmt.Fprintf(cw, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for _, k := range always {
			if _, ok := values[k]; !ok {
				values[k] = 0
			}
		}
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(cw, "%s{%s=%s} %d\n", name, label, quoteLabel(k), values[k])
		}
	}
	labelled("sidecar_injector_admission_requests_total", "Admission requests served at /mutate, by outcome.", "outcome",
		m.requests.snapshot(), OutcomeInjected, OutcomeSkipped, OutcomeOverloaded)
	fmt.Fprintf(cw, "# HELP sidecar_injector_injections_total Pods that received sidecars (dry-run requests included).\n# TYPE sidecar_injector_injections_total counter\nsidecar_injector_injections_total %d\n", m.injections.Load())
	labelled("sidecar_injector_skips_total", "Pods left unchanged, by the engine's reason.", "reason", m.skips.snapshot())
	labelled("sidecar_injector_outdated_pods_total", "Pods admitted with a build-time status whose digest is not the config's (drift between Git and runtime), by set: each set the pod does not hold as the config defines it now, or all of its sets.", "set", m.outdated.snapshot())
	labelled("sidecar_injector_errors_total", "Requests that failed, by type.", "type", m.errors.snapshot(), "overloaded")

	const hn = "sidecar_injector_admission_duration_seconds"
	fmt.Fprintf(cw, "# HELP %s Time to answer an admission request, from the body read to the response written.\n# TYPE %s histogram\n", hn, hn)
	var cum uint64
	for i, bound := range m.latency.bounds {
		cum += m.latency.counts[i].Load()
		fmt.Fprintf(cw, "%s_bucket{le=\"%s\"} %d\n", hn, formatFloat(bound), cum)
	}
	cum += m.latency.counts[len(m.latency.bounds)].Load()
	fmt.Fprintf(cw, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", hn, cum, hn,
		formatFloat(float64(m.latency.sumNs.Load())/1e9), hn, cum)

	labelled("sidecar_injector_config_reloads_total", "Config file loads, by result; a failed load keeps the last good config.", "result", m.configReloads.snapshot())
	fmt.Fprintf(cw, "# HELP sidecar_injector_config_last_success_timestamp_seconds When the config in force was loaded.\n# TYPE sidecar_injector_config_last_success_timestamp_seconds gauge\nsidecar_injector_config_last_success_timestamp_seconds %d\n", m.configLastSuccess.Load())
	labelled("sidecar_injector_certificate_reloads_total", "Serving certificate loads, by result.", "result", m.certReloads.snapshot())
	fmt.Fprintf(cw, "# HELP sidecar_injector_certificate_expiry_timestamp_seconds NotAfter of the serving certificate in use.\n# TYPE sidecar_injector_certificate_expiry_timestamp_seconds gauge\nsidecar_injector_certificate_expiry_timestamp_seconds %d\n", m.certNotAfter.Load())
	ready := 0
	if m.ready.Load() {
		ready = 1
	}
	if m.budget != nil {
		fmt.Fprintf(cw, "# HELP sidecar_injector_inflight_bytes Memory reserved by the admission requests in flight (their bodies and trees, estimated).\n# TYPE sidecar_injector_inflight_bytes gauge\nsidecar_injector_inflight_bytes %d\n", m.budget.InUse())
		fmt.Fprintf(cw, "# HELP sidecar_injector_inflight_bytes_limit The memory budget of the requests in flight (--max-inflight-bytes); past it, requests are refused with 429.\n# TYPE sidecar_injector_inflight_bytes_limit gauge\nsidecar_injector_inflight_bytes_limit %d\n", m.budget.Limit())
	}
	fmt.Fprintf(cw, "# HELP sidecar_injector_ready Whether the webhook has a valid config and certificate.\n# TYPE sidecar_injector_ready gauge\nsidecar_injector_ready %d\n", ready)
	fmt.Fprintf(cw, "# HELP sidecar_injector_build_info The running version.\n# TYPE sidecar_injector_build_info gauge\nsidecar_injector_build_info{version=%s,goversion=%s} 1\n", quoteLabel(m.version), quoteLabel(runtime.Version()))

	fmt.Fprintf(cw, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(cw, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %d\n", m.startTime.Unix())
	if cpu, rss, ok := processStats(); ok {
		fmt.Fprintf(cw, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %s\n", formatFloat(cpu))
		fmt.Fprintf(cw, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", rss)
	}
	if err := b.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, cw.err
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// quoteLabel quotes a label value as the text format wants: \, " and newline escaped.
func quoteLabel(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// processStats reads CPU time and RSS from /proc, on Linux.
func processStats() (cpuSeconds float64, rssBytes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, false
	}
	// Fields after the command (which may hold spaces) start after the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime, stime are fields 14, 15; rss (pages) is 24.
	if len(f) < 22 {
		return 0, 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	rss, err3 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	const clkTck = 100 // USER_HZ on every Linux platform Go supports
	return float64(utime+stime) / clkTck, rss * int64(os.Getpagesize()), true
}

// Command webhook-load is the webhook's load generator: it POSTs
// AdmissionReviews over TLS with keep-alive from C concurrent workers for a
// duration (each with its own UID and, as the API server's would, its own
// kube-api-access-xxxxx volume name) and reports throughput, latency
// percentiles, errors, and, given the server's PID, the server's CPU time
// per request and its RSS (from /proc/PID/stat and /proc/PID/status, read
// around the measured window).
//
//	webhook-load -url https://127.0.0.1:8443/mutate -ca ca.crt -pod pod.json -c 16 -d 20s -pid 1234 -label webhook
//	webhook-load -summarize results.jsonl   # a markdown table of the runs, with ratios to the floor
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one run, written as a JSON line.
type Result struct {
	Label       string  `json:"label"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // target req/s; 0: closed loop
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"firstError,omitempty"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50us"`
	P99us       float64 `json:"p99us"`
	MaxUs       float64 `json:"maxus"`
	// Server side, when -pid is given.
	CPUusPerReq float64 `json:"cpuUsPerReq,omitempty"`
	RSSMB       float64 `json:"rssMB,omitempty"`
	PeakRSSMB   float64 `json:"peakRssMB,omitempty"`
}

const uidPlaceholder = "00000000-0000-0000-0000-000000000000"

func main() {
	var (
		url          = flag.String("url", "", "the webhook URL (https://host:port/mutate)")
		caFile       = flag.String("ca", "", "CA certificate (PEM) to verify the server")
		podFile      = flag.String("pod", "", "a pod (JSON) to wrap in AdmissionReviews")
		conc         = flag.Int("c", 1, "concurrent workers (one keep-alive connection each)")
		rate         = flag.Float64("rate", 0, "requests per second in all (paced; latency counted from each request's scheduled time); 0: as fast as the server answers")
		dur          = flag.Duration("d", 10*time.Second, "measured duration")
		warmup       = flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before the measured window")
		pid          = flag.Int("pid", 0, "server PID, for its CPU time and RSS")
		label        = flag.String("label", "", "label for the results")
		out          = flag.String("o", "", "append the result as a JSON line to this file")
		expectPatch  = flag.Bool("expect-patch", true, "count a response without a patch as an error")
		checkUID     = flag.Bool("check-uid", true, "count a response that does not echo the request's UID as an error")
		wait         = flag.Duration("wait", 0, "first wait up to this long for the server to answer")
		saveResponse = flag.String("save-response", "", "send one request, save the response body to this file, and exit")
		summarize    = flag.String("summarize", "", "print a markdown table of the JSON lines in this file, and exit")
	)
	flag.Parse()
	if *summarize != "" {
		if err := summary(*summarize, os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	if *url == "" || *caFile == "" || *podFile == "" {
		fatal(errors.New("-url, -ca and -pod are required"))
	}
	client, err := newClient(*caFile, *conc)
	if err != nil {
		fatal(err)
	}
	pod, err := os.ReadFile(*podFile)
	if err != nil {
		fatal(err)
	}
	body := review(bytes.TrimSpace(pod))
	tokenAt := tokenVolumeNames(body)
	if *wait > 0 {
		deadline := time.Now().Add(*wait)
		for {
			_, err := send(client, *url, body)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fatal(fmt.Errorf("server not answering after %v: %w", *wait, err))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if *saveResponse != "" {
		resp, err := send(client, *url, body)
		if err != nil {
			fatal(err)
		}
		if err := os.WriteFile(*saveResponse, resp, 0o644); err != nil {
			fatal(err)
		}
		return
	}
	r := load(client, *url, body, tokenAt, *conc, *rate, *warmup, *dur, *pid, *expectPatch, *checkUID)
	r.Label = *label
	line, _ := json.Marshal(r)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fatal(err)
		}
		f.Write(append(line, '\n'))
		f.Close()
	}
	mode := "max"
	if r.Rate > 0 {
		mode = fmt.Sprintf("%.0f/s", r.Rate)
	}
	fmt.Printf("%-8s c=%-3d %-6s %8.0f req/s  p50 %7.0f us  p99 %7.0f us  max %7.0f us  errors %d", r.Label, r.Concurrency, mode, r.RPS, r.P50us, r.P99us, r.MaxUs, r.Errors)
	if *pid > 0 {
		fmt.Printf("  server %5.1f us CPU/req  RSS %5.1f MB (peak %5.1f)", r.CPUusPerReq, r.RSSMB, r.PeakRSSMB)
	}
	fmt.Println()
	if r.FirstError != "" {
		fmt.Println("  first error:", r.FirstError)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "webhook-load:", err)
	os.Exit(1)
}

func newClient(caFile string, conc int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no certificate", caFile)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: conc,
			MaxConnsPerHost:     conc,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false, // as the API server talks to webhooks that offer only HTTP/1.1
		},
	}, nil
}

// review wraps a pod in an AdmissionReview like the API server's, with a
// fixed-width UID that each request overwrites.
func review(pod []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"` + uidPlaceholder + `",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"shop","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller",` +
		`"uid":"8d1f7c2e-5a4b-4c3d-9e8f-1a2b3c4d5e6f","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},` +
		`"object":`)
	b.Write(pod)
	b.WriteString(`,"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}`)
	return b.Bytes()
}

func send(client *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return b, nil
}

// tokenVolumePrefix starts the name of the volume the API server's
// ServiceAccount admission plugin adds to a pod before webhooks see it; it
// ends in five random characters, so no two pods reach a webhook alike, not
// even the replicas of one ReplicaSet.
const tokenVolumePrefix = "kube-api-access-"

// tokenVolumeNames returns where the random part of the token volume's name
// is written in a review, for each request to write its own.
func tokenVolumeNames(body []byte) []int {
	var at []int
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(tokenVolumePrefix))
		if j < 0 {
			return at
		}
		i += j + len(tokenVolumePrefix)
		if i+5 <= len(body) {
			at = append(at, i)
		}
	}
}

// tokenSuffix is request n's random part of the token volume name, in the
// plugin's alphabet (utilrand.String's: no vowels, no 0, 1, 3).
func tokenSuffix(n uint64) [5]byte {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var s [5]byte
	for i := range s {
		s[i] = alphabet[n%uint64(len(alphabet))]
		n /= uint64(len(alphabet))
	}
	return s
}

// load runs the workers. Each request carries its own UID and, at tokenAt,
// its own token volume name.
func load(client *http.Client, url string, body []byte, tokenAt []int, conc int, rate float64, warmup, dur time.Duration, pid int, expectPatch, checkUID bool) Result {
	uidAt := bytes.Index(body, []byte(uidPlaceholder))
	var measuring atomic.Bool
	var stop atomic.Bool
	var counter atomic.Uint64
	var errCount atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := append([]byte(nil), body...)
			samples := make([]time.Duration, 0, 1<<16)
			// Paced: worker w sends at begin + (k*conc + w) / rate. A request
			// that goes late because the previous answer came late counts
			// from when it should have gone, so that a slow server cannot
			// hide its queue (coordinated omission).
			var interval time.Duration
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(conc) / rate)
			}
			next := time.Now().Add(time.Duration(float64(w) / float64(conc) * float64(interval)))
			for !stop.Load() {
				n := counter.Add(1)
				uid := fmt.Sprintf("%08x-0000-4000-8000-%012x", w, n)
				copy(buf[uidAt:], uid)
				suffix := tokenSuffix(n)
				for _, at := range tokenAt {
					copy(buf[at:at+5], suffix[:])
				}
				start := time.Now()
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						// Idle: the clock starts when the request goes (a late
						// wake-up is the load generator's, not the server's).
						time.Sleep(wait)
						start = time.Now()
					} else {
						start = next // behind because of the server: its queue counts
					}
					next = next.Add(interval)
				}
				resp, err := send(client, url, buf)
				took := time.Since(start)
				if err == nil {
					switch {
					case checkUID && !bytes.Contains(resp, []byte(`"uid":"`+uid+`"`)):
						err = fmt.Errorf("response without the request's UID: %.200s", resp)
					case !bytes.Contains(resp, []byte(`"allowed":true`)):
						err = fmt.Errorf("not allowed: %.300s", resp)
					case expectPatch && !bytes.Contains(resp, []byte(`"patch":"`)):
						err = fmt.Errorf("no patch: %.300s", resp)
					}
				}
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				samples = append(samples, took)
			}
			lat[w] = samples
		}(w)
	}
	time.Sleep(warmup)
	cpu0, _ := procCPU(pid)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu1, _ := procCPU(pid)
	stop.Store(true)
	wg.Wait()

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := Result{Concurrency: conc, Rate: rate, Seconds: elapsed.Seconds(), Requests: len(all), Errors: int(errCount.Load())}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	if len(all) > 0 {
		pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Nanoseconds()) / 1e3 }
		r.P50us, r.P99us, r.MaxUs = pct(0.50), pct(0.99), float64(all[len(all)-1].Nanoseconds())/1e3
	}
	if pid > 0 && len(all) > 0 {
		r.CPUusPerReq = (cpu1 - cpu0) * 1e6 / float64(len(all)+r.Errors)
		r.RSSMB, r.PeakRSSMB = procRSS(pid)
	}
	return r
}

// procCPU returns a process's user+system CPU seconds.
func procCPU(pid int) (float64, error) {
	if pid <= 0 {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100, nil // USER_HZ
}

// procRSS returns a process's resident and peak resident memory in MB.
func procRSS(pid int) (rss, peak float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

// summary prints the runs of a results file as a markdown table: for each
// concurrency the floor and the webhook side by side, with the webhook's
// throughput as a fraction of the floor's.
func summary(path string, w io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var runs []Result
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		runs = append(runs, r)
	}
	fmt.Fprintln(w, "| run | conc. | load | req/s | p50 | p99 | max | errors | server CPU/req | server RSS (peak) | req/s vs floor | CPU/req vs floor |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	type key struct {
		c    int
		rate float64
	}
	floor := map[key]Result{}
	for _, r := range runs {
		if r.Label == "floor" {
			floor[key{r.Concurrency, r.Rate}] = r
		}
	}
	for _, r := range runs {
		ratio, cpu := "", ""
		if f, ok := floor[key{r.Concurrency, r.Rate}]; ok && r.Label != "floor" {
			if r.Rate == 0 {
				ratio = fmt.Sprintf("%.2f", r.RPS/f.RPS)
			}
			if f.CPUusPerReq > 0 {
				cpu = fmt.Sprintf("%.1fx", r.CPUusPerReq/f.CPUusPerReq)
			}
		}
		mode := "closed loop"
		if r.Rate > 0 {
			mode = fmt.Sprintf("%.0f req/s", r.Rate)
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.0f µs | %.0f µs | %.1f ms | %d | %.1f µs | %.1f MB (%.1f) | %s | %s |\n",
			r.Label, r.Concurrency, mode, r.RPS, r.P50us, r.P99us, r.MaxUs/1e3, r.Errors, r.CPUusPerReq, r.RSSMB, r.PeakRSSMB, ratio, cpu)
	}
	return nil
}

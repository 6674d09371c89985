// Package hostile makes the webhook's worst inputs for memory, and fires
// them at a running webhook all at once: the memory benchmark
// (bench/webhook-memory) and the process-level memory test of
// cmd/sidecar-injector share it, so both measure the same thing.
//
// Every shape is a pod that asks for injection (so that the whole path runs:
// envelope scan, tree, engine, diff) and is as large as asked, filled with
// what costs the webhook most per byte of request.
package hostile

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
)

// Config is the nginx sidecar config with an env var and a mount for every
// app container, so that the diff compares every container, as the worst
// configs do.
var Config = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: hostile
spec:
  sidecars:
` + fixture.Indent(fixture.NginxSetWith("", `env:
- name: PROXIED
  value: "true"
volumeMounts:
- name: nginx-conf
  mountPath: /etc/nginx-shared
`), 2)

// Shapes are the pod shapes Pod makes, worst for memory first.
var Shapes = []string{"containers", "numbers", "nesting", "strings", "labels", "annotations", "escaped", "annotation"}

// ShapeHelp says what each shape is.
var ShapeHelp = map[string]string{
	"annotation":  "one annotation value the size of the pod (one string)",
	"escaped":     `one annotation value of \" escapes (the decoder must unescape it)`,
	"labels":      "labels {\"l0000001\":\"\"}: two nodes per 15 bytes",
	"annotations": "annotations {\"a0000001\":\"\"}: two nodes and a map entry per 15 bytes",
	"strings":     `the app container's args ["","",...]: a node per 3 bytes`,
	"numbers":     "an unknown field [0,0,...]: a node per 2 bytes",
	"nesting":     "an unknown field of lists nested 5000 deep, repeated: a node per 2 bytes, deep recursion",
	"containers":  "app containers {\"name\":\"c00001\"}, each gaining an env var and a mount: the diff pairs every one",
}

const podHead = `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"hostile-","namespace":"shop",` +
	`"annotations":{"sidecar-injector.io/inject":"true"`

// Pod returns a pod of about size bytes of the given shape.
func Pod(shape string, size int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(size + 256)
	fill := func(unit string, first string) {
		b.WriteString(first)
		for b.Len() < size {
			b.WriteString(unit)
		}
	}
	app := `{"name":"app","image":"app:1"}`
	switch shape {
	case "annotation":
		b.WriteString(podHead + `,"example.com/blob":"`)
		fill("a", "")
		b.WriteString(`"}},"spec":{"containers":[` + app + `]}}`)
	case "escaped":
		b.WriteString(podHead + `,"example.com/blob":"`)
		fill(`\"`, "")
		b.WriteString(`"}},"spec":{"containers":[` + app + `]}}`)
	case "labels":
		b.WriteString(podHead + `},"labels":{`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"l%07d":""`, i)
		}
		b.WriteString(`}},"spec":{"containers":[` + app + `]}}`)
	case "annotations":
		b.WriteString(podHead)
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, `,"a%07d":""`, i)
		}
		b.WriteString(`}},"spec":{"containers":[` + app + `]}}`)
	case "strings":
		b.WriteString(podHead + `}},"spec":{"containers":[{"name":"app","image":"app:1","args":[""`)
		fill(`,""`, "")
		b.WriteString(`]}]}}`)
	case "numbers":
		b.WriteString(podHead + `}},"spec":{"containers":[` + app + `],"x":[0`)
		fill(`,0`, "")
		b.WriteString(`]}}`)
	case "nesting":
		const depth = 5000 // nodejson.MaxDepth is 10000
		b.WriteString(podHead + `}},"spec":{"containers":[` + app + `],"x":[`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		}
		b.WriteString(`]}}`)
	case "containers":
		b.WriteString(podHead + `}},"spec":{"containers":[`)
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"c%06d"}`, i)
		}
		b.WriteString(`]}}`)
	default:
		return nil, fmt.Errorf("unknown shape %q (want one of %s)", shape, strings.Join(Shapes, ", "))
	}
	return b.Bytes(), nil
}

// Review wraps a pod in an AdmissionReview as the API server sends it, with
// the UID first so that each request can carry its own before a shared
// pod: the head and the tail.
func Review(uid string) (head, tail []byte) {
	head = []byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":` + strconv.Quote(uid) + `,` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"shop","operation":"CREATE","userInfo":{"username":"alice"},"object":`)
	tail = []byte(`,"oldObject":null,"dryRun":false}}`)
	return head, tail
}

// Result is what a burst got back.
type Result struct {
	Status map[int]int // responses by HTTP status
	// Problems are responses that are not what the webhook must send: a
	// 200 without the request's UID or a patch, a 429 without Retry-After
	// or an AdmissionReview, a 413 without the UID, any other status, a
	// transport error.
	Problems []string
}

// Burst sends n reviews of pod at once, each on its own connection with
// its own UID, and waits for every answer. The pod is shared, not copied n
// times, so that the client's memory is not the test's.
func Burst(client *http.Client, url string, pod []byte, n int) Result {
	res := Result{Status: map[int]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			uid := fmt.Sprintf("burst-%04d", i)
			head, tail := Review(uid)
			req, err := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(head), bytes.NewReader(pod), bytes.NewReader(tail)))
			<-start
			status, problem := 0, ""
			if err != nil {
				problem = err.Error()
			} else {
				req.ContentLength = int64(len(head) + len(pod) + len(tail))
				req.Header.Set("Content-Type", "application/json")
				status, problem = send(client, req, uid)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Status[status]++
			if problem != "" {
				res.Problems = append(res.Problems, uid+": "+problem)
			}
		}(i)
	}
	close(start)
	wg.Wait()
	sort.Strings(res.Problems)
	return res
}

func send(client *http.Client, req *http.Request, uid string) (int, string) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, "reading the response: " + err.Error()
	}
	hasUID := bytes.Contains(body, []byte(`"uid":"`+uid+`"`))
	switch resp.StatusCode {
	case http.StatusOK:
		if !hasUID || !bytes.Contains(body, []byte(`"patch":"`)) {
			return resp.StatusCode, fmt.Sprintf("200 without the UID or a patch: %.300s", body)
		}
	case http.StatusTooManyRequests:
		if resp.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte(`"kind":"AdmissionReview"`)) ||
			!bytes.Contains(body, []byte(`"code":429`)) {
			return resp.StatusCode, fmt.Sprintf("429 without Retry-After or an AdmissionReview: %q %.300s", resp.Header.Get("Retry-After"), body)
		}
	case http.StatusRequestEntityTooLarge: // a pod whose tree alone would exceed the budget
		if !hasUID || !bytes.Contains(body, []byte(`"code":413`)) {
			return resp.StatusCode, fmt.Sprintf("413 without the UID: %.300s", body)
		}
	default:
		return resp.StatusCode, fmt.Sprintf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	return resp.StatusCode, ""
}

// NewClient is an HTTP/1.1 client that keeps no idle connection (each
// request of a burst opens its own, as the API server's many goroutines do).
func NewClient(tlsConfig *tls.Config) *http.Client {
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true, DisableCompression: true},
	}
}

// PeakRSS is a process's peak resident set size (VmHWM) in bytes, from
// /proc/PID/status (Linux).
func PeakRSS(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

// RSS is a process's resident set size (VmRSS) in bytes.
func RSS(pid int) (int64, error) {
	return procStatus(pid, "VmRSS:")
}

func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

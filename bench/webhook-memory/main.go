// Command webhook-memory measures the webhook's peak memory under a burst
// of large reviews: for each shape of bench/hostile it starts a fresh
// `sidecar-injector webhook` (its environment passed through: GOGC,
// GOMEMLIMIT), sends one small review to warm it, then C reviews of SIZE
// bytes at once, each on its own connection, and reports the answers by
// HTTP status and the server's peak RSS (VmHWM) before and after the burst.
//
//	webhook-memory -bin bin/sidecar-injector -c 32 -size 6000000 [-shapes numbers,annotation] [-- --max-inflight-bytes=...]
//
// Arguments after -- go to the webhook. "Growth per byte in flight" is
// the peak's growth over the warm process divided by what was in flight at
// once: the C requests' bytes when none was refused (429), else the
// budget (-budget), which was then full.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sidecar-injector/sidecar-injector/bench/hostile"
)

func main() {
	bin := flag.String("bin", "bin/sidecar-injector", "the sidecar-injector binary")
	conc := flag.Int("c", 32, "reviews sent at once")
	size := flag.Int("size", 6_000_000, "bytes of pod per review")
	shapes := flag.String("shapes", strings.Join(hostile.Shapes, ","), "comma-separated shapes: "+strings.Join(hostile.Shapes, ", "))
	budget := flag.Int64("budget", 0, "the webhook's --max-inflight-bytes, for the per-byte figure when requests are refused (0: not passed)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: webhook-memory [flags] [-- webhook flags]\n\nShapes:\n")
		for _, s := range hostile.Shapes {
			fmt.Fprintf(os.Stderr, "  %-11s %s\n", s, hostile.ShapeHelp[s])
		}
		fmt.Fprintln(os.Stderr)
		flag.PrintDefaults()
	}
	flag.Parse()
	extra := flag.Args()
	if *budget > 0 {
		extra = append(extra, fmt.Sprintf("--max-inflight-bytes=%d", *budget))
	}
	dir, err := os.MkdirTemp("", "webhook-memory-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	if out, err := exec.Command(*bin, "certs", "--service", "s", "--namespace", "n", "--ip", "127.0.0.1", "--out", filepath.Join(dir, "certs")).CombinedOutput(); err != nil {
		fatal(fmt.Errorf("certs: %v: %s", err, out))
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(hostile.Config), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("%d reviews of %d bytes at once; GOGC=%q GOMEMLIMIT=%q; webhook flags %q\n\n", *conc, *size, os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"), extra)
	fmt.Println("| shape | pod bytes | answers | warm peak RSS | burst peak RSS | growth | growth per byte in flight |")
	fmt.Println("|---|---:|---|---:|---:|---:|---|")
	for _, shape := range strings.Split(*shapes, ",") {
		pod, err := hostile.Pod(shape, *size)
		if err != nil {
			fatal(err)
		}
		r, err := run(*bin, dir, extra, pod, *conc)
		if err != nil {
			fatal(fmt.Errorf("%s: %w", shape, err))
		}
		// Per byte of the budget when it was full (some were refused),
		// else per byte of the requests, all in flight at once.
		per, of := int64(*conc)*int64(len(pod)), "requests"
		if r.refused() && *budget > 0 {
			per, of = *budget, "budget"
		}
		growth := r.peak - r.warm
		fmt.Printf("| %s | %d | %s | %.1f MB | %.1f MB | %.1f MB | %.1f per byte of %s |\n", shape, len(pod), r.answers(), mb(r.warm), mb(r.peak), mb(growth),
			float64(growth)/float64(per), of)
		for _, p := range r.Problems {
			fmt.Fprintln(os.Stderr, "  ", shape, p)
		}
	}
}

type result struct {
	hostile.Result
	warm, peak int64
}

func (r result) refused() bool { return r.Status[http.StatusTooManyRequests] > 0 }

func (r result) answers() string {
	var codes []int
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var s []string
	for _, c := range codes {
		s = append(s, fmt.Sprintf("%d×%d", r.Status[c], c))
	}
	return strings.Join(s, ", ")
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// run starts a webhook, warms it, sends the burst, and stops it.
func run(bin, dir string, extra []string, pod []byte, conc int) (result, error) {
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	args := append([]string{"webhook", "--config", filepath.Join(dir, "config.yaml"),
		"--tls-cert-file", filepath.Join(dir, "certs", "tls.crt"), "--tls-key-file", filepath.Join(dir, "certs", "tls.key"),
		"--bind-address", "127.0.0.1", "--port", fmt.Sprint(port), "--log-level", "error"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	caPEM, err := os.ReadFile(filepath.Join(dir, "certs", "ca.crt"))
	if err != nil {
		return result{}, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := hostile.NewClient(&tls.Config{RootCAs: pool})
	url := fmt.Sprintf("https://127.0.0.1:%d/mutate", port)
	small, _ := hostile.Pod("annotation", 1000)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := hostile.Burst(client, url, small, 1)
		if r.Status[http.StatusOK] == 1 {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("the webhook does not answer: %v", r.Problems)
		}
		time.Sleep(50 * time.Millisecond)
	}
	warm, err := hostile.PeakRSS(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	r := hostile.Burst(client, url, pod, conc)
	peak, err := hostile.PeakRSS(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	return result{Result: r, warm: warm, peak: peak}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port, nil
	}
	return 0, errors.New("no TCP port")
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "webhook-memory:", err)
	os.Exit(1)
}

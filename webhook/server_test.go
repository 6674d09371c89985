package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sidecar-injector/sidecar-injector/certs"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

func image(inj *transformer.Injector) string {
	return inj.Config.Sets[0].Containers[0].Content[3].Value // name, sidecar-nginx, image, <value>
}

func TestConfigStoreFollowsSymlinkSwap(t *testing.T) {
	m := testio.NewMountedDir(t, map[string][]byte{"config.yaml": []byte(nginxConfig)})
	s := &ConfigStore{Path: m.Path("config.yaml")}
	if c := s.Load(); !c.Changed || c.Err != nil {
		t.Fatalf("first load: %+v", c)
	}
	if got := image(s.Injector()); got != "nginx:1.12.2" {
		t.Fatalf("image %q", got)
	}
	if c := s.Load(); c.Changed || c.Err != nil {
		t.Errorf("unchanged file reported %+v", c)
	}
	m.Update(map[string][]byte{"config.yaml": []byte(strings.Replace(nginxConfig, "nginx:1.12.2", "nginx:1.27", 1))})
	if c := s.Load(); !c.Changed || c.Err != nil {
		t.Fatalf("after the swap: %+v", c)
	}
	if got := image(s.Injector()); got != "nginx:1.27" {
		t.Errorf("image after the swap %q", got)
	}
	m.Update(map[string][]byte{"config.yaml": []byte("spec: [")})
	c := s.Load()
	if c.Err == nil || !strings.Contains(c.Err.Error(), "invalid YAML") {
		t.Fatalf("bad config: %+v", c)
	}
	if got := image(s.Injector()); got != "nginx:1.27" {
		t.Errorf("a bad config replaced the good one: %q", got)
	}
	if c := s.Load(); c.Err != nil || c.Changed {
		t.Errorf("the same bad config was reported again: %+v", c)
	}
}

func TestConfigStorePrefix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sidecarconfig.yaml")
	os.WriteFile(path, []byte("containers:\n- name: s\n  image: s:1\n"), 0o644)
	s := &ConfigStore{Path: path, Prefix: "sidecar-injector-webhook.morven.me"}
	if c := s.Load(); c.Err != nil {
		t.Fatal(c.Err)
	}
	if got := s.Injector().Config.InjectAnnotation(); got != "sidecar-injector-webhook.morven.me/inject" {
		t.Errorf("inject annotation %q", got)
	}
	s = &ConfigStore{Path: path, Prefix: "Not A Prefix"}
	if c := s.Load(); c.Err == nil || s.Injector() != nil {
		t.Errorf("a bad prefix was accepted: %+v", c)
	}
}

// testCerts makes a CA and a serving certificate for 127.0.0.1.
func testCerts(t testing.TB, ca *certs.CA) (caCert *certs.CA, certPEM, keyPEM []byte) {
	t.Helper()
	now := time.Now()
	if ca == nil {
		var err error
		if ca, err = certs.NewCA("test CA", time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	certPEM, keyPEM, err := ca.Issue(certs.ServingOptions{Service: "wh", Namespace: "ns", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Validity: 30 * time.Minute}, now)
	if err != nil {
		t.Fatal(err)
	}
	return ca, certPEM, keyPEM
}

func TestCertStore(t *testing.T) {
	ca, c1, k1 := testCerts(t, nil)
	m := testio.NewMountedDir(t, map[string][]byte{"tls.crt": c1, "tls.key": k1})
	s := &CertStore{CertFile: m.Path("tls.crt"), KeyFile: m.Path("tls.key")}
	if err := s.Valid(time.Now()); err == nil {
		t.Error("valid before loading")
	}
	if c := s.Load(); !c.Changed || c.Err != nil {
		t.Fatalf("load: %+v", c)
	}
	first := s.Current().Leaf.SerialNumber
	if err := s.Valid(time.Now()); err != nil {
		t.Error(err)
	}
	if err := s.Valid(time.Now().Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expiry not seen: %v", err)
	}
	_, c2, k2 := testCerts(t, ca)
	m.Update(map[string][]byte{"tls.crt": c2, "tls.key": k1}) // mismatched pair
	if c := s.Load(); c.Err == nil {
		t.Error("a mismatched pair loaded")
	}
	if s.Current().Leaf.SerialNumber.Cmp(first) != 0 {
		t.Error("a mismatched pair replaced the good one")
	}
	m.Update(map[string][]byte{"tls.crt": c2, "tls.key": k2})
	if c := s.Load(); !c.Changed || c.Err != nil {
		t.Fatalf("reload: %+v", c)
	}
	got, err := s.GetCertificate(nil)
	if err != nil || got.Leaf.SerialNumber.Cmp(first) == 0 {
		t.Errorf("GetCertificate did not return the new certificate: %v", err)
	}
}

type testServer struct {
	t      *testing.T
	srv    *Server
	addr   string
	client *http.Client
	cancel context.CancelFunc
	done   chan error
	logs   *testio.Buffer
	pool   *x509.CertPool
}

func startServer(t *testing.T, configFile, certFile, keyFile string, ca *certs.CA) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testio.Buffer{}
	srv := New(Options{Listener: ln, ConfigFile: configFile, CertFile: certFile, KeyFile: keyFile,
		ReloadInterval: 20 * time.Millisecond, ShutdownTimeout: 5 * time.Second, Log: newJSONLogger(logs), Version: "test"})
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{t: t, srv: srv, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1), logs: logs}
	ts.pool = x509.NewCertPool()
	ts.pool.AddCert(ca.Cert)
	ts.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ts.pool}, ForceAttemptHTTP2: true}}
	go func() { ts.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(2 * time.Minute): // a hang guard, not a speed check
			t.Error("server did not stop")
		}
	})
	return ts
}

func (ts *testServer) get(path string) (int, string) {
	ts.t.Helper()
	resp, err := ts.client.Get("https://" + ts.addr + path)
	if err != nil {
		ts.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually polls cond until it holds. The bound only keeps a broken
// server from hanging the test: it is far above any wait on a loaded machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServer(t *testing.T) {
	ca, certPEM, keyPEM := testCerts(t, nil)
	certDir := testio.NewMountedDir(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	cfgDir := t.TempDir()
	cfgPath := filepath.Join(cfgDir, "config.yaml")
	// No config yet: running, healthy, not ready.
	ts := startServer(t, cfgPath, certDir.Path("tls.crt"), certDir.Path("tls.key"), ca)
	if code, _ := ts.get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := ts.get("/readyz"); code != 503 || !strings.Contains(body, "no valid sidecar config") {
		t.Errorf("/readyz without a config: %d %s", code, body)
	}
	// Probes and metrics are served to whoever asks: they name no file
	// (the log does).
	for _, path := range []string{"/readyz", "/healthz", "/metrics"} {
		_, body := ts.get(path)
		for _, file := range []string{cfgDir, certDir.Dir, "config.yaml", "tls.crt", "tls.key"} {
			if strings.Contains(body, file) {
				t.Errorf("%s names %s:\n%s", path, file, body)
			}
		}
	}
	eventually(t, "the log to name the config file", func() bool { return strings.Contains(ts.logs.String(), cfgPath) })
	resp, err := ts.client.Post("https://"+ts.addr+"/mutate", "application/json", bytes.NewReader(reviewBody(t, []byte(servedPod), reviewOpts{})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/mutate without a config: %d", resp.StatusCode)
	}
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("protocol %s, want HTTP/1.1 (HTTP/2 is off)", resp.Proto)
	}

	// The config arrives: ready, and injecting. Written by a rename, as
	// the kubelet does: a poll must never see half a file (it would count
	// as a rejected config).
	if err := os.WriteFile(cfgPath+".tmp", []byte(nginxConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(cfgPath+".tmp", cfgPath); err != nil {
		t.Fatal(err)
	}
	eventually(t, "readiness", func() bool { code, _ := ts.get("/readyz"); return code == 200 })
	mutate := func() []byte {
		resp, err := ts.client.Post("https://"+ts.addr+"/mutate", "application/json", bytes.NewReader(reviewBody(t, []byte(servedPod), reviewOpts{})))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		r := decodeResponse(t, body)
		return applyPatch(t, []byte(servedPod), r.Patch)
	}
	if got := mutate(); !bytes.Contains(got, []byte("nginx:1.12.2")) {
		t.Fatalf("not injected: %s", got)
	}

	// A new config takes effect; a bad one is rejected and logged.
	os.WriteFile(cfgPath+".tmp", []byte(strings.Replace(nginxConfig, "nginx:1.12.2", "nginx:1.27", 1)), 0o644)
	os.Rename(cfgPath+".tmp", cfgPath)
	eventually(t, "the new config", func() bool { return bytes.Contains(mutate(), []byte("nginx:1.27")) })
	os.WriteFile(cfgPath+".tmp", []byte(strings.Replace(nginxConfig, "image:", "imagge:", 1)), 0o644)
	os.Rename(cfgPath+".tmp", cfgPath)
	eventually(t, "the rejection log", func() bool {
		return strings.Contains(ts.logs.String(), "config rejected; the last good one stays in force")
	})
	if !strings.Contains(ts.logs.String(), "imagge: unknown field") {
		t.Errorf("the log does not say what is wrong:\n%s", ts.logs)
	}
	if got := mutate(); !bytes.Contains(got, []byte("nginx:1.27")) {
		t.Errorf("the last good config is not in force: %s", got)
	}
	if code, _ := ts.get("/readyz"); code != 200 {
		t.Errorf("not ready after a rejected config")
	}

	// A new certificate is served without a restart.
	serial := func() string {
		conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	_, c2, k2 := testCerts(t, ca)
	certDir.Update(map[string][]byte{"tls.crt": c2, "tls.key": k2})
	eventually(t, "the new certificate", func() bool { return serial() != before })

	// TLS below 1.2 is refused, and so is TLS 1.2 without ECDHE and an
	// AEAD cipher; TLS 1.3 is served.
	handshake := func(c *tls.Config) error {
		c.RootCAs = ts.pool
		conn, err := tls.Dial("tcp", ts.addr, c)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if handshake(&tls.Config{MaxVersion: tls.VersionTLS11}) == nil {
		t.Error("a TLS 1.1 handshake succeeded")
	}
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256} {
		if handshake(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}}) == nil {
			t.Errorf("a TLS 1.2 client offering only %s was served", tls.CipherSuiteName(suite))
		}
	}
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		if err := handshake(&tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}}); err != nil {
			t.Errorf("TLS 1.2 with %s: %v", tls.CipherSuiteName(suite), err)
		}
	}
	if err := handshake(&tls.Config{MinVersion: tls.VersionTLS13}); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}

	// Metrics count what happened, in the Prometheus text format.
	_, metrics := ts.get("/metrics")
	checkExposition(t, metrics)
	for _, want := range []string{
		`sidecar_injector_admission_requests_total{outcome="unavailable"} 1`,
		`sidecar_injector_config_reloads_total{result="failure"} 1`,
		`sidecar_injector_certificate_reloads_total{result="success"} 2`,
		`sidecar_injector_ready 1`,
		`sidecar_injector_inflight_bytes 0`,
		`sidecar_injector_inflight_bytes_limit 41943040`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if !regexp.MustCompile(`sidecar_injector_injections_total [1-9]`).MatchString(metrics) {
		t.Errorf("no injections counted:\n%s", metrics)
	}
}

// TestGracefulShutdown: a request in flight when the server is told to stop
// is answered; readiness turns false; Run returns nil.
func TestGracefulShutdown(t *testing.T) {
	ca, certPEM, keyPEM := testCerts(t, nil)
	dir := t.TempDir()
	for name, data := range map[string][]byte{"config.yaml": []byte(nginxConfig), "tls.crt": certPEM, "tls.key": keyPEM} {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	ts := startServer(t, filepath.Join(dir, "config.yaml"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), ca)
	eventually(t, "readiness", func() bool { code, _ := ts.get("/readyz"); return code == 200 })

	body := reviewBody(t, []byte(servedPod), reviewOpts{})
	conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: ts.pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	conn.Write(body[:100])
	time.Sleep(50 * time.Millisecond) // the request is being read
	ts.cancel()
	eventually(t, "readiness to turn false", func() bool { return ts.srv.Ready() != nil })
	time.Sleep(50 * time.Millisecond)
	conn.Write(body[100:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	if r := decodeResponse(t, got); !r.Allowed || r.Patch == nil {
		t.Errorf("in-flight request: %s", got)
	}
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		ts.done <- nil // for the cleanup
	case <-time.After(2 * time.Minute): // a hang guard, not a speed check
		t.Fatal("Run did not return")
	}
}

var (
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)
)

// checkExposition validates the text format: every sample belongs to a
// declared family, values parse, histogram buckets are cumulative.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	types := map[string]string{}
	var lastBucket float64 = -1
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case helpLine.MatchString(line):
		case typeLine.MatchString(line):
			m := typeLine.FindStringSubmatch(line)
			if _, dup := types[m[1]]; dup {
				t.Errorf("line %d: %s declared twice", i+1, m[1])
			}
			types[m[1]] = m[2]
			lastBucket = -1
		case sampleLine.MatchString(line):
			m := sampleLine.FindStringSubmatch(line)
			name := m[1]
			family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if types[name] == "" && types[family] != "histogram" {
				t.Errorf("line %d: sample of undeclared metric %s", i+1, name)
			}
			v, err := strconv.ParseFloat(m[4], 64)
			if err != nil {
				t.Errorf("line %d: value %q", i+1, m[4])
			}
			if strings.HasSuffix(name, "_bucket") {
				if v < lastBucket {
					t.Errorf("line %d: bucket counts not cumulative", i+1)
				}
				lastBucket = v
			}
		default:
			t.Errorf("line %d not in the text format: %q", i+1, line)
		}
	}
}

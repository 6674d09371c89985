package main

import (
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWebhookFlags(t *testing.T) {
	cases := map[string]struct {
		args                               []string
		config, cert, key, addr, prefix, l string
		inflight                           int64
		err                                string
	}{
		"ours": {args: []string{"--config", "c.yaml", "--tls-cert-file", "t.crt", "--tls-key-file", "t.key", "--bind-address", "127.0.0.1", "--port", "9443"},
			config: "c.yaml", cert: "t.crt", key: "t.key", addr: "127.0.0.1:9443", l: "info"},
		"defaults": {args: []string{"-c", "c.yaml", "--tls-cert-file", "t.crt", "--tls-key-file", "t.key"},
			config: "c.yaml", cert: "t.crt", key: "t.key", addr: ":8443", l: "info", inflight: 40 << 20},
		"budget": {args: []string{"-c", "c.yaml", "--tls-cert-file", "t.crt", "--tls-key-file", "t.key", "--max-request-bytes", "1000", "--max-inflight-bytes", "2000"},
			config: "c.yaml", cert: "t.crt", key: "t.key", addr: ":8443", l: "info", inflight: 2000},
		"budget below the body limit": {args: []string{"-c", "c", "--tls-cert-file", "t", "--tls-key-file", "k", "--max-inflight-bytes", "14680063"},
			err: "--max-inflight-bytes 14680063 is less than twice --max-request-bytes 7340032"},
		// The tutorial's Deployment, verbatim.
		"tutorial": {args: []string{"-sidecarCfgFile=/etc/webhook/config/sidecarconfig.yaml", "-tlsCertFile=/etc/webhook/certs/cert.pem",
			"-tlsKeyFile=/etc/webhook/certs/key.pem", "-alsologtostderr", "-v=4", "2>&1"},
			config: "/etc/webhook/config/sidecarconfig.yaml", cert: "/etc/webhook/certs/cert.pem", key: "/etc/webhook/certs/key.pem",
			addr: ":443", prefix: tutorialPrefix, l: "debug"},
		"tutorial defaults and overrides": {args: []string{"2>&1", "-tlsCertFile", "c.pem", "-port=8443", "--annotation-prefix", "example.com", "-v", "2"},
			config: tutorialConfigFile, cert: "c.pem", key: tutorialKeyFile, addr: ":8443", prefix: "example.com", l: "info"},
		"no config":       {args: []string{"--tls-cert-file", "t.crt", "--tls-key-file", "t.key"}, err: "missing --config"},
		"no certificate":  {args: []string{"-c", "c.yaml"}, err: "missing --tls-cert-file"},
		"stray argument":  {args: []string{"-c", "c.yaml", "--tls-cert-file", "t", "--tls-key-file", "k", "extra"}, err: `unexpected argument "extra"`},
		"bad port":        {args: []string{"-c", "c.yaml", "--tls-cert-file", "t", "--tls-key-file", "k", "--port", "70000"}, err: "out of range"},
		"bad log format":  {args: []string{"-c", "c.yaml", "--tls-cert-file", "t", "--tls-key-file", "k", "--log-format", "xml"}, err: "--log-format"},
		"unknown flag":    {args: []string{"--nope"}, err: "flag provided but not defined"},
		"bad reload time": {args: []string{"-c", "c", "--tls-cert-file", "t", "--tls-key-file", "k", "--reload-interval", "0s"}, err: "--reload-interval"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			o, err := webhookFlags(c.args, io.Discard, io.Discard)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{o.ConfigFile, o.CertFile, o.KeyFile, o.Addr, o.AnnotationPrefix, o.logLevel}
			want := []string{c.config, c.cert, c.key, c.addr, c.prefix, c.l}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q", got, want)
					break
				}
			}
			if c.inflight != 0 && o.MaxInflightBytes != c.inflight {
				t.Errorf("--max-inflight-bytes %d, want %d", o.MaxInflightBytes, c.inflight)
			}
		})
	}
}

func TestTutorialArgsDispatch(t *testing.T) {
	for args, want := range map[string]bool{
		"-sidecarCfgFile=/x -tlsCertFile=/y -tlsKeyFile=/z -alsologtostderr -v=4 2>&1": true,
		"--tlsKeyFile /z":       true,
		"-port=443":             false, // not the tutorial's alone
		"inject -c x":           false,
		"frobnicate":            false,
		"-- -sidecarCfgFile=/x": false,
	} {
		if got := isTutorialArgs(strings.Fields(args)); got != want {
			t.Errorf("isTutorialArgs(%q) = %v", args, got)
		}
	}
	// No subcommand, the tutorial's flags: the webhook command answers.
	stdout, stderr, code := runCLI(t, nil, "-sidecarCfgFile=/x", "-h")
	if code != 0 || !strings.Contains(stdout, "Usage: sidecar-injector webhook") || stderr != "" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

func TestCertsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	bundle := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, nil, append([]string{"certs", "--service", "injector", "--namespace", "system", "--out", dir}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		return strings.TrimSpace(stdout)
	}
	first := bundle("--ip", "127.0.0.1", "--dns", "localhost")
	ca, err := base64.StdEncoding.DecodeString(first)
	if err != nil {
		t.Fatalf("caBundle is not base64: %v", err)
	}
	onDisk, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if string(ca) != string(onDisk) || !strings.HasPrefix(string(ca), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("caBundle is not the CA certificate in PEM")
	}
	for name, mode := range map[string]os.FileMode{"ca.key": 0o600, "tls.key": 0o600, "ca.crt": 0o644, "tls.crt": 0o644, ".": 0o700} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v (%v)", name, st.Mode().Perm(), mode, err)
		}
	}
	cert1, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	time.Sleep(time.Millisecond)
	if again := bundle(); again != first {
		t.Error("a second run changed the CA; it should reuse the one in --out")
	}
	cert2, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if string(cert1) == string(cert2) {
		t.Error("a second run did not renew the serving certificate")
	}
	if renewed := bundle("--new-ca"); renewed == first {
		t.Error("--new-ca kept the CA")
	}
	for _, args := range [][]string{{"certs"}, {"certs", "--service", "s", "--out", dir}, {"certs", "--service", "s", "--namespace", "n", "--out", dir, "--ip", "nope"}} {
		if _, stderr, code := runCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

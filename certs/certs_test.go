package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func parseCert(t *testing.T, p []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %s", p)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIssue(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 || !ca.Cert.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA=%v usage=%v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	if d := ca.Cert.NotAfter.Sub(now); d < DefaultCAValidity-time.Minute || d > DefaultCAValidity+time.Minute {
		t.Errorf("CA validity %v", d)
	}
	certPEM, keyPEM, err := ca.Issue(ServingOptions{Service: "injector", Namespace: "system",
		DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, certPEM)
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", cert.PublicKey)
	}
	if cert.IsCA || len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("serving certificate usage: IsCA=%v ext=%v", cert.IsCA, cert.ExtKeyUsage)
	}
	if d := cert.NotAfter.Sub(now); d < DefaultCertValidity-time.Minute || d > DefaultCertValidity+time.Minute {
		t.Errorf("validity %v", d)
	}
	if !cert.NotBefore.Before(now) {
		t.Error("NotBefore is not backdated")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"injector", "injector.system", "injector.system.svc", "injector.system.svc.cluster.local", "localhost", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.system.svc", Roots: roots}); err == nil {
		t.Error("verified for a name it does not hold")
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Errorf("certificate and key do not pair: %v", err)
	}
	if _, _, err := ca.Issue(ServingOptions{Service: "s", Namespace: "n", Validity: 11 * 365 * 24 * time.Hour}, now); err == nil {
		t.Error("issued a certificate outliving its CA")
	}
	if _, _, err := ca.Issue(ServingOptions{Service: "s"}, now); err == nil {
		t.Error("issued a certificate without a namespace")
	}
}

func TestLoadCA(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("a", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) {
		t.Error("loaded a different CA")
	}
	certPEM, _, err := loaded.Issue(ServingOptions{Service: "s", Namespace: "n", Validity: time.Minute}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := parseCert(t, certPEM).CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	other, _ := NewCA("b", time.Hour, now)
	if _, err := LoadCA(ca.CertPEM, other.KeyPEM); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("a mismatched key: %v", err)
	}
	leaf, leafKey, _ := ca.Issue(ServingOptions{Service: "s", Namespace: "n", Validity: time.Minute}, now)
	if _, err := LoadCA(leaf, leafKey); err == nil {
		t.Error("a serving certificate was taken for a CA")
	}
	if _, err := LoadCA([]byte("junk"), ca.KeyPEM); err == nil {
		t.Error("junk was taken for a certificate")
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tls.key")
	if err := WriteFile(path, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sidecar-injector/sidecar-injector/certs"
)

type certsOptions struct {
	service, namespace, out string
	dnsNames, ips           stringList
	validity, caValidity    time.Duration
	newCA                   bool
}

// certsFlagSet declares the flags of certs into o.
func certsFlagSet(o *certsOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.StringVar(&o.service, "service", "", "the webhook's Service name (required)")
	fs.StringVar(&o.namespace, "namespace", "", "the Service's namespace (required)")
	fs.StringVar(&o.out, "out", "", "directory for ca.crt, ca.key, tls.crt, tls.key (required; created 0700 if missing)")
	fs.Var(&o.dnsNames, "dns", "an extra DNS name for the serving certificate; repeatable")
	fs.Var(&o.ips, "ip", "an IP address for the serving certificate (e.g. 127.0.0.1 for a webhook reached by URL); repeatable")
	fs.DurationVar(&o.validity, "validity", certs.DefaultCertValidity, "validity of the serving certificate")
	fs.DurationVar(&o.caValidity, "ca-validity", certs.DefaultCAValidity, "validity of a new CA")
	fs.BoolVar(&o.newCA, "new-ca", false, "make a new CA even if --out holds one (the caBundle changes)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: sidecar-injector certs --service S --namespace N --out DIR [flags]

Makes an ECDSA P-256 CA and a serving certificate for the Service's DNS names
(S, S.N, S.N.svc, S.N.svc.cluster.local), writes them to DIR (keys 0600), and
prints the caBundle (the CA certificate, PEM, base64) for the webhook
configuration. When DIR already holds ca.crt and ca.key, that CA signs the new
certificate, so the caBundle stays the same: run it again to renew.

  kubectl -n N create secret tls S-certs --cert DIR/tls.crt --key DIR/tls.key

`)
		fs.PrintDefaults()
	}
	return fs
}

func certsFlags(args []string, stdout, stderr io.Writer) (*certsOptions, error) {
	o := &certsOptions{}
	fs := certsFlagSet(o)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.service == "":
		return nil, errors.New("missing --service")
	case o.namespace == "":
		return nil, errors.New("missing --namespace")
	case o.out == "":
		return nil, errors.New("missing --out DIR")
	case o.validity <= 0 || o.caValidity <= 0:
		return nil, errors.New("--validity and --ca-validity must be positive")
	}
	for _, ip := range o.ips {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("--ip %q: not an IP address", ip)
		}
	}
	return o, nil
}

func runCerts(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o, err := certsFlags(args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector certs: %v (see -h)\n", err)
		return 2
	}
	bundle, err := o.run(stderr, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector certs: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, bundle)
	return 0
}

// run writes the files and returns the caBundle.
func (o *certsOptions) run(stderr io.Writer, now time.Time) (string, error) {
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return "", err
	}
	caCertPath, caKeyPath := filepath.Join(o.out, certs.CACertFile), filepath.Join(o.out, certs.CAKeyFile)
	var ca *certs.CA
	caCert, errCert := os.ReadFile(caCertPath)
	caKey, errKey := os.ReadFile(caKeyPath)
	switch {
	case !o.newCA && errCert == nil && errKey == nil:
		var err error
		if ca, err = certs.LoadCA(caCert, caKey); err != nil {
			return "", fmt.Errorf("%s: %w (use --new-ca to replace it)", o.out, err)
		}
		fmt.Fprintf(stderr, "reusing the CA in %s (valid until %s)\n", o.out, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	case !o.newCA && (errCert == nil) != (errKey == nil):
		return "", fmt.Errorf("%s holds only one of %s and %s; remove it or use --new-ca", o.out, certs.CACertFile, certs.CAKeyFile)
	default:
		var err error
		if ca, err = certs.NewCA(o.service+"."+o.namespace+" webhook CA", o.caValidity, now); err != nil {
			return "", err
		}
		if err := certs.WriteFile(caKeyPath, ca.KeyPEM, 0o600); err != nil {
			return "", err
		}
		if err := certs.WriteFile(caCertPath, ca.CertPEM, 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(stderr, "made a new CA: %s, %s\n", caCertPath, caKeyPath)
	}
	var ips []net.IP
	for _, s := range o.ips {
		ips = append(ips, net.ParseIP(s))
	}
	certPEM, keyPEM, err := ca.Issue(certs.ServingOptions{Service: o.service, Namespace: o.namespace,
		DNSNames: o.dnsNames, IPs: ips, Validity: o.validity}, now)
	if err != nil {
		return "", err
	}
	certPath, keyPath := filepath.Join(o.out, certs.CertFile), filepath.Join(o.out, certs.KeyFile)
	if err := certs.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", err
	}
	if err := certs.WriteFile(certPath, certPEM, 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "wrote the serving certificate for %s: %s, %s\n",
		o.service+"."+o.namespace+".svc", certPath, keyPath)
	return base64.StdEncoding.EncodeToString(ca.CertPEM), nil
}

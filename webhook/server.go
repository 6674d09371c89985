// Package webhook is the admission front of sidecar-injector: a TLS server
// that answers admission.k8s.io/v1 AdmissionReviews for pod CREATE with a
// JSON Patch computed by the shared engine (package transformer), with the
// sidecar config and the serving certificate reloaded from disk as they
// change, health and readiness endpoints, and Prometheus metrics.
package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// Options configure a webhook server.
type Options struct {
	// Addr is the TLS listen address, e.g. ":8443".
	Addr string
	// ConfigFile is the sidecar config: a SidecarInjector, the tutorial's
	// ConfigMap, or the tutorial's bare containers:/volumes: file.
	ConfigFile string
	// AnnotationPrefix overrides the config's prefix when set.
	AnnotationPrefix string
	CertFile         string
	KeyFile          string
	// ReloadInterval is how often the config and certificate files are polled.
	ReloadInterval time.Duration
	// MaxRequestBytes bounds a request body (DefaultMaxRequestBytes if 0).
	MaxRequestBytes int64
	// MaxInflightBytes bounds the memory of the requests in flight
	// (DefaultMaxInflightBytes if 0; see Budget). It is raised to twice
	// MaxRequestBytes if lower, so that a body of any accepted size fits
	// (a body weighs twice its size, see Handler).
	MaxInflightBytes int64
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown.
	ShutdownTimeout time.Duration
	// MetricsAddr, when set, also serves /metrics, /healthz and /readyz over
	// plain HTTP there (for a Prometheus without the webhook's CA).
	MetricsAddr string
	Log         *slog.Logger
	Version     string
	// Listener, when set, is used instead of listening on Addr (tests).
	Listener net.Listener
}

// Defaults for Options.
const (
	DefaultReloadInterval  = 2 * time.Second
	DefaultShutdownTimeout = 20 * time.Second
)

// Server is a running webhook.
type Server struct {
	opts     Options
	log      *slog.Logger
	config   *ConfigStore
	certs    *CertStore
	metrics  *Metrics
	budget   *Budget
	stopping atomic.Bool
	errs     map[string]string // last error reported per store, from the poll loop only
}

// New loads the config and certificate (reporting, not failing, when they
// are not there yet: the server then runs unready until they are) and
// returns a server to Run.
func New(o Options) *Server {
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxInflightBytes <= 0 {
		o.MaxInflightBytes = DefaultMaxInflightBytes
	}
	o.MaxInflightBytes = max(o.MaxInflightBytes, 2*o.MaxRequestBytes)
	s := &Server{
		opts:    o,
		log:     o.Log,
		config:  &ConfigStore{Path: o.ConfigFile, Prefix: o.AnnotationPrefix},
		certs:   &CertStore{CertFile: o.CertFile, KeyFile: o.KeyFile},
		metrics: NewMetrics(o.Version),
		errs:    map[string]string{},
		budget:  NewBudget(o.MaxInflightBytes, DefaultBudgetWait, DefaultBudgetWaiters),
	}
	s.metrics.budget = s.budget
	s.reload()
	return s
}

// Handler returns the server's routes: /mutate, /healthz, /readyz, /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/mutate", &Handler{
		Admitter:        &Mutator{Injector: s.config.Injector},
		Metrics:         s.metrics,
		Log:             s.log,
		MaxRequestBytes: s.opts.MaxRequestBytes,
		Budget:          s.budget,
		ContainerNodes:  func() int { return containerNodes(s.config.Injector()) },
	})
	s.health(mux)
	return mux
}

// containerNodes is how many nodes inj may add to each app container: the
// env vars and mounts of all its sets, the lists that hold them, and the
// container's own copy.
func containerNodes(inj *transformer.Injector) int {
	if inj == nil {
		return 0
	}
	n := 0
	for _, set := range inj.Config.Sets {
		for _, item := range slices.Concat(set.Env, set.VolumeMounts) {
			n += countNodes(item)
		}
	}
	if n > 0 {
		n += 3
	}
	return n
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func (s *Server) health(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready:", err)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		s.metrics.ready.Store(s.Ready() == nil)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.metrics.WriteTo(w)
	})
}

// Ready reports why the server should not receive traffic, or nil. The
// reason is served by /readyz to whoever asks, so it names no file: the
// log says which file and what is wrong with it.
func (s *Server) Ready() error {
	switch {
	case s.stopping.Load():
		return errors.New("shutting down")
	case s.config.Injector() == nil:
		return errors.New("no valid sidecar config loaded (the log says why)")
	}
	return s.certs.Valid(time.Now())
}

// TLSConfig is the serving TLS configuration: TLS 1.2 or later, the current
// certificate on every handshake, HTTP/1.1 only. HTTP/2 stays off, as in
// controller-runtime's webhook server, since its stream handling has been
// the vector of denial-of-service attacks (CVE-2023-44487) and the API
// server keeps HTTP/1.1 connections alive just as well.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   TLS12CipherSuites,
		GetCertificate: s.certs.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}

// TLS12CipherSuites are the TLS 1.2 suites served: ECDHE key exchange
// (forward secrecy) with AEAD ciphers only, no CBC and no SHA-1 MACs,
// as Mozilla's "intermediate" profile. TLS 1.3 suites are not
// configurable and all qualify. Go's TLS client, and so the API server,
// offers them by default.
var TLS12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Run serves until ctx is done, then shuts down gracefully: readiness turns
// false at once and in-flight requests get up to ShutdownTimeout to finish.
func (s *Server) Run(ctx context.Context) error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second, // the API server waits at most 30 s for a webhook
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("serving admission webhook", "address", ln.Addr().String(), "config", s.opts.ConfigFile,
		"cert", s.opts.CertFile, "reloadInterval", s.opts.ReloadInterval.String(),
		"maxRequestBytes", s.opts.MaxRequestBytes, "maxInflightBytes", s.opts.MaxInflightBytes)

	if s.opts.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.opts.MetricsAddr)
		if err != nil {
			srv.Close()
			return fmt.Errorf("metrics address: %w", err)
		}
		mux := http.NewServeMux()
		s.health(mux)
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		s.log.Info("serving metrics and probes over HTTP", "address", mln.Addr().String())
	}

	tick := time.NewTicker(s.opts.ReloadInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.reload()
		case err := <-errc:
			for _, srv := range servers {
				srv.Close()
			}
			return err
		case <-ctx.Done():
			s.stopping.Store(true)
			s.log.Info("shutting down: finishing in-flight requests", "timeout", s.opts.ShutdownTimeout.String())
			sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
			defer cancel()
			var err error
			for _, srv := range servers {
				if e := srv.Shutdown(sctx); e != nil && err == nil {
					err = e
				}
			}
			if err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			s.log.Info("stopped")
			return nil
		}
	}
}

// reload polls the config and certificate files once.
func (s *Server) reload() {
	c := s.config.Load()
	s.report("config", s.opts.ConfigFile, c, &s.metrics.configReloads)
	if c.Changed && c.Err == nil {
		s.metrics.configLastSuccess.Store(time.Now().Unix())
		inj := s.config.Injector()
		s.log.Info("sidecar config loaded", "file", s.opts.ConfigFile, "annotationPrefix", inj.Config.AnnotationPrefix,
			"policy", string(inj.Config.Policy), "sets", inj.Config.SetNames())
	}
	c = s.certs.Load()
	s.report("certificate", s.opts.CertFile, c, &s.metrics.certReloads)
	if cert := s.certs.Current(); cert != nil && cert.Leaf != nil {
		s.metrics.certNotAfter.Store(cert.Leaf.NotAfter.Unix())
		if c.Changed && c.Err == nil {
			s.log.Info("serving certificate loaded", "file", s.opts.CertFile, "subject", cert.Leaf.Subject.String(),
				"dnsNames", cert.Leaf.DNSNames, "notAfter", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	s.metrics.ready.Store(s.Ready() == nil)
}

func (s *Server) report(what, file string, c Change, counter *counterVec) {
	switch {
	case c.Err != nil:
		if s.errs[what] != c.Err.Error() {
			s.errs[what] = c.Err.Error()
			msg := what + " rejected; the last good one stays in force"
			if (what == "config" && s.config.Injector() == nil) || (what == "certificate" && s.certs.Current() == nil) {
				msg = what + " not loaded; not ready until it is"
			}
			s.log.Error(msg, "file", file, "error", c.Err.Error())
		}
		if c.Changed {
			counter.inc("failure")
		}
	case c.Changed:
		counter.inc("success")
		delete(s.errs, what)
	default:
		// Unchanged and loaded, or unchanged since its failure was reported:
		// forget the error, so that it is reported again if it comes back.
		delete(s.errs, what)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sidecar-injector/sidecar-injector/webhook"
)

// The tutorial's webhook (morvencao/kube-mutating-webhook-tutorial) runs its
// image with these flags and no subcommand; its defaults apply whenever one
// of them is used, so that its Deployment works with only the image changed.
var tutorialFlags = []string{"sidecarCfgFile", "tlsCertFile", "tlsKeyFile"}

const (
	tutorialConfigFile = "/etc/webhook/config/sidecarconfig.yaml"
	tutorialCertFile   = "/etc/webhook/certs/cert.pem"
	tutorialKeyFile    = "/etc/webhook/certs/key.pem"
	tutorialPort       = 443
	tutorialPrefix     = "sidecar-injector-webhook.morven.me"
	defaultPort        = 8443
	webhookGOGC        = 400
)

// isTutorialArgs recognises the tutorial's command line.
func isTutorialArgs(args []string) bool {
	return len(args) > 0 && strings.HasPrefix(args[0], "-") && usesTutorialFlags(args)
}

func usesTutorialFlags(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && slices.Contains(tutorialFlags, name) {
			return true
		}
	}
	return false
}

type webhookOptions struct {
	webhook.Options
	port        int
	bindAddress string
	logFormat   string
	logLevel    string
	verbosity   int
}

// webhookFlagSet declares the flags of webhook into o; with tutorial, also
// the tutorial's (left out of completion).
func webhookFlagSet(o *webhookOptions, tutorial bool) *flag.FlagSet {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	for _, name := range []string{"c", "config"} {
		fs.StringVar(&o.ConfigFile, name, "", "sidecar config file: a SidecarInjector, the tutorial's ConfigMap, or its bare containers:/volumes: file")
	}
	fs.StringVar(&o.CertFile, "tls-cert-file", "", "serving certificate (PEM, chain allowed), reloaded when it changes")
	fs.StringVar(&o.KeyFile, "tls-key-file", "", "serving key (PEM), reloaded when it changes")
	fs.IntVar(&o.port, "port", defaultPort, "HTTPS port")
	fs.StringVar(&o.bindAddress, "bind-address", "", "address to listen on (default: all)")
	fs.StringVar(&o.AnnotationPrefix, "annotation-prefix", "", "annotation prefix, overriding the config's (e.g. "+tutorialPrefix+")")
	fs.DurationVar(&o.ReloadInterval, "reload-interval", webhook.DefaultReloadInterval, "how often to check the config and certificate files for changes")
	fs.Int64Var(&o.MaxRequestBytes, "max-request-bytes", webhook.DefaultMaxRequestBytes, "largest request body accepted")
	fs.Int64Var(&o.MaxInflightBytes, "max-inflight-bytes", webhook.DefaultMaxInflightBytes,
		"memory budget of the requests in flight (bodies and pod trees, estimated); past it requests are refused with 429 and Retry-After (see docs/webhook.md for the peak RSS it allows)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", webhook.DefaultShutdownTimeout, "how long in-flight requests may take to finish on SIGTERM")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", "", "also serve /metrics, /healthz and /readyz over plain HTTP on this address (e.g. :8080); off by default")
	fs.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&o.logLevel, "log-level", "", "log level: debug, info, warn or error (default info)")

	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: sidecar-injector webhook --config FILE --tls-cert-file FILE --tls-key-file FILE [flags]

Serves admission.k8s.io/v1 AdmissionReviews for pod CREATE at /mutate (TLS),
with /healthz, /readyz and /metrics. The config and certificate files are
polled and reloaded when they change; a config that fails to load is logged
and the last good one stays in force.

Run with the tutorial's flags (-sidecarCfgFile, -tlsCertFile, -tlsKeyFile),
with or without the subcommand, it takes the tutorial's defaults: port %d,
its file paths, and the annotation prefix %s.

`, tutorialPort, tutorialPrefix)
		fs.PrintDefaults()
	}
	if !tutorial {
		return fs
	}
	// The tutorial's names for the same settings, and its glog flags, which
	// are accepted and, but for -v, ignored (logs always go to stderr).
	fs.StringVar(&o.ConfigFile, "sidecarCfgFile", "", "the tutorial's name for --config")
	fs.StringVar(&o.CertFile, "tlsCertFile", "", "the tutorial's name for --tls-cert-file")
	fs.StringVar(&o.KeyFile, "tlsKeyFile", "", "the tutorial's name for --tls-key-file")
	fs.IntVar(&o.verbosity, "v", 0, "glog verbosity, accepted for the tutorial: 4 or more means --log-level=debug")
	var ignoredBool bool
	var ignoredString string
	for _, name := range []string{"alsologtostderr", "logtostderr"} {
		fs.BoolVar(&ignoredBool, name, false, "accepted for the tutorial; logs always go to stderr")
	}
	for _, name := range []string{"stderrthreshold", "log_dir", "vmodule"} {
		fs.StringVar(&ignoredString, name, "", "accepted for the tutorial; ignored")
	}
	return fs
}

func webhookFlags(args []string, stdout, stderr io.Writer) (*webhookOptions, error) {
	tutorial := usesTutorialFlags(args)
	// The tutorial's Deployment passes "2>&1" as an argument (there is no
	// shell to read it as a redirection): ignore it wherever it is.
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "2>&1" })

	o := &webhookOptions{}
	fs := webhookFlagSet(o, true)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if tutorial {
		if o.ConfigFile == "" {
			o.ConfigFile = tutorialConfigFile
		}
		if o.CertFile == "" {
			o.CertFile = tutorialCertFile
		}
		if o.KeyFile == "" {
			o.KeyFile = tutorialKeyFile
		}
		if !set["port"] {
			o.port = tutorialPort
		}
		if o.AnnotationPrefix == "" {
			o.AnnotationPrefix = tutorialPrefix
		}
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.ConfigFile == "":
		return nil, errors.New("missing --config FILE")
	case o.CertFile == "" || o.KeyFile == "":
		return nil, errors.New("missing --tls-cert-file and --tls-key-file (make them with `sidecar-injector certs`)")
	case o.port < 0 || o.port > 65535:
		return nil, fmt.Errorf("--port %d: out of range", o.port)
	case o.ReloadInterval <= 0:
		return nil, errors.New("--reload-interval must be positive")
	case o.MaxRequestBytes <= 0:
		return nil, errors.New("--max-request-bytes must be positive")
	case o.MaxInflightBytes < 2*o.MaxRequestBytes:
		return nil, fmt.Errorf("--max-inflight-bytes %d is less than twice --max-request-bytes %d: a request of the largest size could never be served", o.MaxInflightBytes, o.MaxRequestBytes)
	case o.logFormat != "json" && o.logFormat != "text":
		return nil, fmt.Errorf("--log-format %q: expected json or text", o.logFormat)
	}
	o.Addr = net.JoinHostPort(o.bindAddress, strconv.Itoa(o.port))
	if o.logLevel == "" {
		o.logLevel = "info"
		if o.verbosity >= 4 {
			o.logLevel = "debug"
		}
	}
	return o, nil
}

// softMemoryLimit is the GOMEMLIMIT the webhook sets itself when the
// environment does not: twice the budget, and at least 32 MiB above it
// for the process's own heap.
func softMemoryLimit(budget int64) int64 {
	return max(2*budget, budget+32<<20)
}

func (o *webhookOptions) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: expected debug, info, warn or error", o.logLevel)
	}
	ho := &slog.HandlerOptions{Level: level}
	if o.logFormat == "text" {
		return slog.New(slog.NewTextHandler(stderr, ho)), nil
	}
	return slog.New(slog.NewJSONHandler(stderr, ho)), nil
}

func runWebhook(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o, err := webhookFlags(args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		o.Log, err = o.logger(stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector webhook: %v (see -h)\n", err)
		return 2
	}
	o.Version = version
	// Each request allocates a few hundred KB that die with it, over a live
	// heap of a few MB: at the default GOGC the collector would run every
	// dozen requests. 400 trades ~20 MB of heap for half the CPU per request
	// (docs/BENCHMARKS.md). GOGC and GOMEMLIMIT set by the user win.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(webhookGOGC)
	}
	// That trade must stop where the memory budget says: past a soft
	// limit of twice the budget the collector runs as often as needed,
	// so that the garbage of the requests served does not add to the
	// memory of those in flight (docs/webhook.md, "Memory").
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(softMemoryLimit(o.MaxInflightBytes))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	start := time.Now()
	srv := webhook.New(o.Options)
	if err := srv.Run(ctx); err != nil {
		o.Log.Error("webhook server failed", "error", err.Error(), "after", time.Since(start).String())
		return 1
	}
	return 0
}

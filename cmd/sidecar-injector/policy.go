package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sidecar-injector/sidecar-injector/internal/inputs"
	"github.com/sidecar-injector/sidecar-injector/policy"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// policyOptions are the policy command's flags.
type policyOptions struct {
	config, prefix, selector, name string
}

// policyFlagSet declares the policy command's flags (also for completion).
func policyFlagSet(o *policyOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	for _, name := range []string{"c", "config"} {
		fs.StringVar(&o.config, name, "", "config file: a SidecarInjector, or the tutorial's ConfigMap")
	}
	fs.StringVar(&o.prefix, "annotation-prefix", "", "annotation prefix, overriding the config's")
	fs.StringVar(&o.selector, "namespace-selector", "", "label selector of the namespaces the policies bind to (e.g. sidecar-injector=enabled); default: all")
	fs.StringVar(&o.name, "name", policy.DefaultName, "name of the policies and their bindings")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sidecar-injector policy -c CONFIG [flags]\n\n"+
			"Prints a MutatingAdmissionPolicy and a ValidatingAdmissionPolicy, with their bindings\n"+
			"(Kubernetes 1.36), that inject pods as the webhook does, with no server:\n"+
			"  sidecar-injector policy -c config.yaml | kubectl apply -f -\n\n")
		fs.PrintDefaults()
	}
	return fs
}

// runPolicy prints the admission policies that inject as the webhook does,
// with no server (docs/policy.md).
func runPolicy(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o := &policyOptions{}
	fs := policyFlagSet(o)
	fail := func(code int, err error) int {
		for _, e := range transformer.ErrorList(err) {
			fmt.Fprintf(stderr, "error: %v\n", e)
		}
		return code
	}
	if err := parseFlags(fs, args, stdout, stderr); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	config, prefix, selector := o.config, o.prefix, o.selector
	opts := policy.Options{Name: o.name}
	switch {
	case config == "":
		fmt.Fprintln(stderr, "sidecar-injector policy: missing -c CONFIG (see -h)")
		return 2
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "sidecar-injector policy: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	if selector != "" {
		sel, err := metav1.ParseToLabelSelector(selector)
		if err != nil {
			fmt.Fprintf(stderr, "sidecar-injector policy: --namespace-selector: %v\n", err)
			return 2
		}
		opts.NamespaceSelector = sel
	}
	cfg, err := loadConfig(inputs.NewBudget(defaultMaxInputMB), config, prefix, "")
	if err != nil {
		return fail(1, err)
	}
	p, err := policy.Generate(cfg, opts)
	if err != nil {
		return fail(1, err)
	}
	out, err := p.YAML()
	if err != nil {
		return fail(1, err)
	}
	if _, err := stdout.Write(out); err != nil {
		return fail(1, err)
	}
	return 0
}

// Package fn is the KRM function front of sidecar-injector: it reads a
// ResourceList (the KRM functions specification's wire format, as kustomize
// and kpt send it), runs the engine over its items and writes them back
// with one result per workload.
//
// The results use the kpt function SDK's types; the I/O is kyaml's nodes,
// read and written without a round trip through the SDK's objects, which
// cost more than twice the time of the I/O itself (docs/BENCHMARKS.md).
package fn

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/manifest"
	"github.com/sidecar-injector/sidecar-injector/policy"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Exit codes of Run.
const (
	ExitOK      = 0
	ExitFailed  = 1 // an error result: nothing was changed
	ExitNoInput = 2 // stdin was empty: not run by an orchestrator
)

// Run is the whole function: ResourceList from stdin, ResourceList with
// results to stdout, errors and warnings also to stderr (kustomize shows
// only stderr). It returns the exit code: non-zero whenever an error
// result was written. Nothing is written on stdout unless the whole
// ResourceList was read.
func Run(stdin io.Reader, stdout, stderr io.Writer) int {
	lim, err := inputLimits()
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector: %v\n", err)
		return ExitFailed
	}
	data, err := readInput(stdin, lim.input)
	switch {
	case errors.Is(err, errTooLarge):
		fmt.Fprintf(stderr, "sidecar-injector: reading the ResourceList: it is larger than the limit, %s; %s=N raises the limit to N MiB (docs/krm-function.md)\n", size(lim.input), MaxInputEnv)
		return ExitFailed
	case err != nil:
		fmt.Fprintf(stderr, "sidecar-injector: reading stdin: %v\n", err)
		return ExitFailed
	case !utf8.Valid(data):
		fmt.Fprintf(stderr, "sidecar-injector: reading the ResourceList: line %d: not valid UTF-8 text\n", manifest.InvalidUTF8Line(data))
		return ExitFailed
	}
	// A list as kustomize and kpt write it is read item by item; any
	// other (or one that cannot be, see layout.go) as one document,
	// which takes far more memory, so it has a lower limit.
	var notItemByItem error = fmt.Errorf("reading the ResourceList: %w", errNotLayout)
	if l, ok := splitItems(data); ok {
		problems, written, err := l.run(lim.document, stdout)
		switch {
		case err == nil:
			return report(problems, stderr)
		case written || len(data) > lim.document && !errors.Is(err, errNotLayout):
			fmt.Fprintf(stderr, "sidecar-injector: %v\n", err)
			return ExitFailed
		}
		notItemByItem = err // if it is small enough, reading it whole says exactly what is wrong
	}
	if len(data) > lim.document {
		fmt.Fprintf(stderr, "sidecar-injector: %v; so it is read as one document, and at %s it is over the limit of %s for one document (%s)\n",
			notItemByItem, size(len(data)), size(lim.document), documentLimitNote)
		return ExitFailed
	}
	return runWhole(data, stdout, stderr)
}

// runWhole is Run on a ResourceList read as one document.
func runWhole(data []byte, stdout, stderr io.Writer) int {
	rl, err := ReadResourceList(data)
	if errors.Is(err, errNoInput) {
		fmt.Fprintln(stderr, "sidecar-injector: expected a ResourceList on stdin (a KRM function, as run by kustomize or kpt); run 'sidecar-injector help' for the commands")
		return ExitNoInput
	}
	if err != nil {
		// Without a ResourceList there is nothing to write results into.
		fmt.Fprintf(stderr, "sidecar-injector: %v\n", err)
		return ExitFailed
	}
	results := Process(rl)
	if err := rl.Write(stdout); err != nil {
		fmt.Fprintf(stderr, "sidecar-injector: %v\n", err)
		return ExitFailed
	}
	return report(results, stderr)
}

// report writes the errors and warnings to stderr and returns the exit code.
func report(results kptfn.Results, stderr io.Writer) int {
	for _, r := range results {
		if r.Severity == kptfn.Error || r.Severity == kptfn.Warning {
			fmt.Fprintf(stderr, "%s: %s\n", r.Severity, r.Message)
		}
	}
	if results.ExitCode() != 0 {
		return ExitFailed
	}
	return ExitOK
}

// Process runs the engine over the items in place and returns one result
// per workload, which it also appends to rl.Results. It is all or nothing:
// when any item fails, the items are left exactly as they came and the
// results are the errors.
func Process(rl *ResourceList) kptfn.Results {
	results := process(rl)
	for _, r := range results {
		rl.Results = append(rl.Results, resultNode(r))
	}
	return results
}

func process(rl *ResourceList) kptfn.Results {
	cfg, err := loadConfig(rl.FunctionConfig)
	if err != nil {
		return configResults(err, rl.FunctionConfig)
	}
	switch cfg.FunctionMode {
	case v1alpha1.FunctionValidate:
		return validate(rl, cfg)
	case v1alpha1.FunctionPolicy:
		return generatePolicy(rl, cfg)
	}
	in := &transformer.Injector{Config: cfg}
	_, err = in.Filter(rl.Items)
	var out kptfn.Results
	for _, e := range transformer.ErrorList(err) {
		out = append(out, errorResult(e, func(i int) *yaml.RNode { return rl.Items[i] }))
	}
	if err != nil {
		return out // Filter changed nothing
	}
	for _, r := range in.Results {
		out = append(out, workloadResults(r, rl.Items[r.Resource.Index])...)
	}
	return out
}

// errorResult reports an engine error; itemAt gives the item at the index
// that a ResourceError names.
func errorResult(e error, itemAt func(index int) *yaml.RNode) *kptfn.Result {
	r := &kptfn.Result{Severity: kptfn.Error, Message: e.Error()}
	var re *transformer.ResourceError
	if errors.As(e, &re) {
		fillRef(r, itemAt(re.Resource.Index), &re.Resource)
		if re.Field != "" {
			r.Field = &kptfn.Field{Path: re.Field}
		}
	}
	return r
}

// workloadResults reports what the engine did to one workload: an info
// result, then its warnings.
func workloadResults(r transformer.Result, item *yaml.RNode) kptfn.Results {
	out := kptfn.Results{itemResult(kptfn.Info, r.Message(), item, &r.Resource)}
	for _, w := range r.Warnings {
		out = append(out, itemResult(kptfn.Warning, w, item, &r.Resource))
	}
	return out
}

// configResults reports the errors of the functionConfig.
func configResults(err error, fc *yaml.RNode) kptfn.Results {
	var out kptfn.Results
	for _, e := range transformer.ErrorList(err) {
		out = append(out, configResult(e, fc))
	}
	return out
}

// validate is the function as a validator (functionMode: validate, for
// kustomize's validators: and kpt's pipeline.validators): it changes no
// item, and fails with one error result per workload that inject would
// change or reject, as `sidecar-injector check` does.
func validate(rl *ResourceList, cfg *transformer.Config) kptfn.Results {
	in := &transformer.Injector{Config: cfg}
	var out kptfn.Results
	for i, item := range rl.Items {
		out = append(out, validateItem(in, item, i)...)
	}
	return out
}

// validateItem judges one item (a resource, or a List of them).
func validateItem(in *transformer.Injector, item *yaml.RNode, index int) kptfn.Results {
	var out kptfn.Results
	path, _, _ := kioutil.GetFileAnnotations(item)
	for _, f := range in.Audit(item, func(*yaml.Node) string { return path }) {
		f.Resource.Index = index
		for _, w := range f.Warnings {
			out = append(out, itemResult(kptfn.Warning, w, item, &f.Resource))
		}
		for _, p := range f.Problems() {
			r := itemResult(kptfn.Error, f.Resource.String()+": "+p.Text, item, &f.Resource)
			if p.Field != "" {
				r.Field = &kptfn.Field{Path: p.Field}
			}
			out = append(out, r)
		}
	}
	return out
}

// configResult reports an error in the functionConfig.
func configResult(err error, fc *yaml.RNode) *kptfn.Result {
	r := &kptfn.Result{Severity: kptfn.Error, Message: err.Error()}
	if ce := (*transformer.ConfigError)(nil); errors.As(err, &ce) && ce.Field != "" {
		r.Field = &kptfn.Field{Path: ce.Field}
	}
	if fc != nil && !isPlaceholder(fc) {
		fillRef(r, fc, nil)
	}
	return r
}

// generatePolicy is the function as a generator (functionMode: policy):
// it changes no item and appends the admission policies that inject at
// runtime with no server (docs/policy.md), rendered from the same config.
func generatePolicy(rl *ResourceList, cfg *transformer.Config) kptfn.Results {
	p, err := policy.Generate(cfg, policy.Options{})
	if err != nil {
		r := configResult(err, rl.FunctionConfig)
		if pe, ok := err.(*policy.Error); ok {
			r.Field = &kptfn.Field{Path: pe.Field}
		}
		return kptfn.Results{r}
	}
	text, err := p.YAML()
	if err != nil {
		return kptfn.Results{{Severity: kptfn.Error, Message: err.Error()}}
	}
	nodes, err := kio.FromBytes(text)
	if err != nil {
		return kptfn.Results{{Severity: kptfn.Error, Message: err.Error()}}
	}
	var out kptfn.Results
	for _, n := range nodes {
		rl.Items = append(rl.Items, n)
		out = append(out, &kptfn.Result{Severity: kptfn.Info, Message: "generated " + n.GetKind() + " " + n.GetName()})
	}
	return out
}

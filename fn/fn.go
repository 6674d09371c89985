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

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Exit codes of Run.
const (
	ExitOK      = 0
	ExitFailed  = 1 // an error result: nothing was changed
	ExitNoInput = 2 // stdin was empty: not run by an orchestrator
)

// maxInput bounds what is read: everything is held in memory, and a larger
// stream is surely not a package of manifests.
const maxInput = 1 << 30

// Run is the whole function: ResourceList from stdin, ResourceList with
// results to stdout, errors and warnings also to stderr (kustomize shows
// only stderr). It returns the exit code: non-zero whenever an error
// result was written.
func Run(stdin io.Reader, stdout, stderr io.Writer) int {
	data, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "sidecar-injector: reading stdin: %v\n", err)
		return ExitFailed
	case len(data) > maxInput:
		fmt.Fprintf(stderr, "sidecar-injector: the ResourceList is larger than %d MiB\n", maxInput>>20)
		return ExitFailed
	}
	rl, err := ReadResourceList(data)
	if err == errNoInput {
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
		var out kptfn.Results
		for _, e := range transformer.ErrorList(err) {
			out = append(out, configResult(e, rl.FunctionConfig))
		}
		return out
	}
	if cfg.FunctionMode == transformer.FunctionValidate {
		return validate(rl, cfg)
	}
	in := &transformer.Injector{Config: cfg}
	_, err = in.Filter(rl.Items)
	var out kptfn.Results
	for _, e := range transformer.ErrorList(err) {
		r := &kptfn.Result{Severity: kptfn.Error, Message: e.Error()}
		var re *transformer.ResourceError
		if errors.As(e, &re) {
			fillRef(r, rl.Items[re.Resource.Index], &re.Resource)
			if re.Field != "" {
				r.Field = &kptfn.Field{Path: re.Field}
			}
		}
		out = append(out, r)
	}
	if err != nil {
		return out // Filter changed nothing
	}
	for _, r := range in.Results {
		item := rl.Items[r.Resource.Index]
		out = append(out, itemResult(kptfn.Info, r.Message(), item, &r.Resource))
		for _, w := range r.Warnings {
			out = append(out, itemResult(kptfn.Warning, w, item, &r.Resource))
		}
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
		path, _, _ := kioutil.GetFileAnnotations(item)
		for _, f := range in.Audit(item, func(*yaml.Node) string { return path }) {
			f.Resource.Index = i
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
	}
	return out
}

// configResult reports an error in the functionConfig.
func configResult(err error, fc *yaml.RNode) *kptfn.Result {
	r := &kptfn.Result{Severity: kptfn.Error, Message: err.Error()}
	if ce, ok := err.(*transformer.ConfigError); ok && ce.Field != "" {
		r.Field = &kptfn.Field{Path: ce.Field}
	}
	if fc != nil && !isPlaceholder(fc) {
		fillRef(r, fc, nil)
	}
	return r
}

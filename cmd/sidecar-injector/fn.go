package main

import (
	"fmt"
	"io"

	"github.com/sidecar-injector/sidecar-injector/fn"
)

// runFn is the KRM function: kustomize and kpt start the binary with no
// arguments and a ResourceList on stdin; `sidecar-injector fn` says it
// explicitly.
func runFn(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if isHelp(args) {
			fnUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "sidecar-injector fn: takes no arguments; its config is the ResourceList's functionConfig\n\n")
		fnUsage(stderr)
		return 2
	}
	return fn.Run(stdin, stdout, stderr)
}

func fnUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: sidecar-injector fn < resource-list.yaml

Runs as a KRM function: reads a ResourceList on stdin and writes it back on
stdout, with sidecars injected into the workloads that ask for them and one
result per workload. The config is the ResourceList's functionConfig: a
SidecarInjector, or a ConfigMap with data.sidecarconfig.yaml. Exits 1, with
the items unchanged, when any resource or the config is wrong. With
functionMode: validate in the config it changes nothing, and exits 1 with
one error result per workload that inject would change or reject (a
validator for kpt's pipeline.validators, like sidecar-injector check).

kustomize and kpt run the binary with no arguments, which means the same.
The config's JSON Schema (for editors and CI): sidecar-injector schema, or
api/v1alpha1/sidecarinjector.schema.json. See docs/krm-function.md.
`)
}

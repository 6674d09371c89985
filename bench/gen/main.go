// Command gen writes the benchmarks' input (see bench/workload) to stdout:
//
//	gen [-n DEPLOYMENTS]            a ResourceList, for the KRM function
//	gen [-n DEPLOYMENTS] -stream    a multi-document YAML stream, for the CLI
//	gen -config                     the injector config they are made for
package main

import (
	"flag"
	"os"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

func main() {
	n := flag.Int("n", 10000, "number of Deployments")
	stream := flag.Bool("stream", false, "write a plain YAML stream instead of a ResourceList")
	config := flag.Bool("config", false, "write the injector config")
	flag.Parse()
	out := workload.ResourceList(*n)
	switch {
	case *config:
		out = []byte(workload.Config)
	case *stream:
		out = workload.Stream(*n)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		os.Exit(1)
	}
}

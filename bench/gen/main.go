// Command gen writes the benchmarks' input (see bench/workload) to stdout:
//
//	gen [-n DEPLOYMENTS]            a ResourceList, for the KRM function
//	gen -mib M [-shape SHAPE]       a ResourceList of as many items as fit in M MiB
//	    [-big-item MIB]             (SHAPE: deployments, pods, skipped-pods), with
//	    [-other-layout]             the function's worst cases for memory (see
//	                                workload.Options)
//	gen [-n DEPLOYMENTS] -stream    a multi-document YAML stream, for the CLI
//	gen -mib M -stream              as many Deployments as fit in M MiB
//	gen -config                     the injector config they are made for
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

func main() {
	n := flag.Int("n", 10000, "number of Deployments")
	stream := flag.Bool("stream", false, "write a plain YAML stream instead of a ResourceList")
	config := flag.Bool("config", false, "write the injector config")
	mib := flag.Float64("mib", 0, "write a ResourceList of as many items as fit in this many MiB")
	shape := flag.String("shape", string(workload.Deployments), "items of the -mib list: deployments, pods or skipped-pods")
	bigItem := flag.Float64("big-item", 0, "add a first item of this many MiB: a v1 List of small Pods")
	otherLayout := flag.Bool("other-layout", false, "indent the items, so that the function reads the list as one document")
	flag.Parse()
	var out []byte
	switch {
	case *config:
		out = []byte(workload.Config)
	case *stream && *mib > 0:
		out = workload.StreamUpTo(int(*mib * (1 << 20)))
	case *stream:
		out = workload.Stream(*n)
	case *mib > 0:
		if s := workload.Shape(*shape); s != workload.Deployments && s != workload.Pods && s != workload.SkippedPods {
			fmt.Fprintf(os.Stderr, "gen: -shape %q: expected deployments, pods or skipped-pods\n", *shape)
			os.Exit(2)
		}
		opts := workload.Options{BigItem: int(*bigItem * (1 << 20)), OtherLayout: *otherLayout}
		out = workload.ResourceListUpTo(workload.Shape(*shape), int(*mib*(1<<20)), opts)
	default:
		out = workload.ResourceList(*n)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		os.Exit(1)
	}
}

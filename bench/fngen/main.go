// Command fngen writes the KRM function's benchmark input (see
// bench/fnload) to stdout: fngen [-n DEPLOYMENTS] [-empty].
package main

import (
	"flag"
	"os"

	"github.com/sidecar-injector/sidecar-injector/bench/fnload"
)

func main() {
	n := flag.Int("n", 10000, "number of Deployments")
	flag.Parse()
	if _, err := os.Stdout.Write(fnload.ResourceList(*n)); err != nil {
		os.Exit(1)
	}
}

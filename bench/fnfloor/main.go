// Command fnfloor is the floor the KRM function is measured against: a
// ResourceList read from stdin and written to stdout by kyaml, unchanged,
// the way kyaml's fn/framework does its I/O (framework.Execute).
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

func main() {
	rw := &kio.ByteReadWriter{Reader: os.Stdin, Writer: os.Stdout, KeepReaderAnnotations: true}
	nodes, err := rw.Read()
	if err == nil {
		err = rw.Write(nodes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fnfloor:", err)
		os.Exit(1)
	}
}

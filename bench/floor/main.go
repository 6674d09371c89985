// Command floor reads a YAML stream with kyaml and writes it back unchanged:
// the least any kyaml-based tool must do with a stream, against which
// `make bench` measures the inject CLI.
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE")
		os.Exit(2)
	}
	in, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer in.Close()
	err = kio.Pipeline{
		Inputs:  []kio.Reader{&kio.ByteReader{Reader: in, OmitReaderAnnotations: true}},
		Outputs: []kio.Writer{kio.ByteWriter{Writer: os.Stdout}},
	}.Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

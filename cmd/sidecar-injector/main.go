// Command sidecar-injector adds sidecar containers to Kubernetes workloads:
// as a KRM function at build time, as an offline transformer, or as a
// mutating admission webhook. All three run the same engine.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"inject": {"add sidecars to manifests (files, directories or stdin)", func(args []string, in io.Reader, out, errw io.Writer) int {
		return runTransform("inject", args, in, out, errw)
	}},
	"uninject": {"remove sidecars that inject added", func(args []string, in io.Reader, out, errw io.Writer) int {
		return runTransform("uninject", args, in, out, errw)
	}},
	"policy": {"print admission policies that inject with no server (Kubernetes 1.36)", runPolicy},
	"version": {"print the version", func(_ []string, _ io.Reader, out, _ io.Writer) int {
		fmt.Fprintln(out, version)
		return 0
	}},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		if defaultCommand != nil && !isTerminal(os.Stdin) {
			return defaultCommand(args, stdin, stdout, stderr)
		}
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return 0
	}
	if cmd, ok := commands[name]; ok {
		return cmd.run(args[1:], stdin, stdout, stderr)
	}
	if legacyWebhookArgs != nil && legacyWebhookArgs(args) {
		return commands["webhook"].run(args, stdin, stdout, stderr)
	}
	if strings.HasPrefix(name, "-") && name != "-" {
		// Flags and no command: inject, from stdin unless files are named.
		// The shortest Helm 3 post-renderer spelling
		// (--post-renderer sidecar-injector --post-renderer-args=-c=mesh.yaml).
		return transform("inject", args, true, stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "sidecar-injector: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// defaultCommand runs when there are no arguments and stdin is not a
// terminal: how kustomize and kpt start a KRM function.
var defaultCommand func(args []string, stdin io.Reader, stdout, stderr io.Writer) int

// legacyWebhookArgs recognises the seeds' tutorial flags (-sidecarCfgFile=...)
// given without a subcommand, so the binary is a drop-in for its image.
var legacyWebhookArgs func(args []string) bool

func usage(w io.Writer) {
	fmt.Fprintln(w, "sidecar-injector adds sidecar containers to Kubernetes workloads.")
	fmt.Fprintln(w, "\nUsage:\n  sidecar-injector <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nFlags with no command mean inject, reading stdin unless files are named:")
	fmt.Fprintln(w, "  helm install web ./chart --post-renderer sidecar-injector --post-renderer-args=-c=mesh.yaml")
	fmt.Fprintln(w, "\nRun 'sidecar-injector <command> -h' for a command's flags.")
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

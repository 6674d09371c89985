// Command sidecar-injector adds sidecar containers to Kubernetes workloads:
// as a KRM function at build time, as an offline transformer, or as a
// mutating admission webhook. All three run the same engine.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// command is one subcommand of the binary. Each parses its own flags with
// Go's flag package, so single-dash long flags (-in-place, the tutorial's
// -sidecarCfgFile=...) work as they always have; cobra dispatches, prints
// the command list and completes.
type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
	// flags declares the command's flags, for completion (nil: none).
	flags func() *flag.FlagSet
	// choices are the values completion offers for a flag, by name; under
	// "" those of the arguments. Without "", arguments complete as files.
	choices map[string][]string
}

// commandTable is the whole command line: every subcommand, in the order
// the code reads best (help sorts them). A function, not a variable,
// because completion's entry builds the command tree from the table.
func commandTable() []command {
	none := map[string][]string{"": nil}
	return []command{
		{name: "inject", summary: "add sidecars to manifests (files, directories or stdin)",
			run: func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
				return transform("inject", args, false, stdin, stdout, stderr)
			},
			flags: func() *flag.FlagSet { return transformFlagSet("inject", &transformOptions{}) }},
		{name: "uninject", summary: "remove sidecars that inject added",
			run: func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
				return transform("uninject", args, false, stdin, stdout, stderr)
			},
			flags: func() *flag.FlagSet { return transformFlagSet("uninject", &transformOptions{}) }},
		{name: "check", summary: "exit 1 if inject would change or reject any workload: one line per stale workload, --diff for the patch",
			run:     runCheck,
			flags:   func() *flag.FlagSet { return auditFlagSet("check", &auditOptions{}) },
			choices: map[string][]string{"color": {"auto", "always", "never"}}},
		{name: "report", summary: "list every workload with its sets, digest and state (table, json, yaml), from files or `kubectl get -o yaml`",
			run:     runReport,
			flags:   func() *flag.FlagSet { return auditFlagSet("report", &auditOptions{}) },
			choices: map[string][]string{"o": {"table", "json", "yaml"}, "output": {"table", "json", "yaml"}}},
		{name: "fn", summary: "run as a KRM function: ResourceList on stdin, ResourceList with results on stdout (the default with no arguments and piped stdin)",
			run: runFn, choices: none},
		{name: "webhook", summary: "serve the mutating admission webhook (TLS)",
			run:     runWebhook,
			flags:   func() *flag.FlagSet { return webhookFlagSet(&webhookOptions{}, false) },
			choices: map[string][]string{"": nil, "log-format": {"json", "text"}, "log-level": {"debug", "info", "warn", "error"}}},
		{name: "certs", summary: "make a CA and a webhook serving certificate offline; print the caBundle",
			run:     runCerts,
			flags:   func() *flag.FlagSet { return certsFlagSet(&certsOptions{}) },
			choices: none},
		{name: "policy", summary: "print admission policies that inject with no server (Kubernetes 1.36)",
			run:     runPolicy,
			flags:   func() *flag.FlagSet { return policyFlagSet(&policyOptions{}) },
			choices: none},
		{name: "completion", summary: "print a shell completion script: bash, zsh, fish or powershell",
			run: runCompletion, choices: map[string][]string{"": completionShells}},
		{name: "schema", summary: "print the JSON Schema of the config (SidecarInjector), for editors and CI", run: runSchema, choices: none},
		{name: "version", summary: "print the version", run: runVersion, choices: none},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run decides from the first argument alone: a command's name, or one of
// the spellings that predate commands, which name none.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	table := commandTable()
	if len(args) == 0 {
		// No arguments and piped stdin: how kustomize and kpt start a
		// KRM function.
		if !isTerminal(stdin) {
			return runFn(nil, stdin, stdout, stderr)
		}
		usage(stderr, table)
		return 2
	}
	name := args[0]
	switch {
	case name == "-h" || name == "--help":
		usage(stdout, table)
		return 0
	case isTutorialArgs(args):
		// The tutorial's flags (-sidecarCfgFile=...) and no command: the
		// binary is a drop-in for the tutorial's image.
		return runWebhook(args, stdin, stdout, stderr)
	case strings.HasPrefix(name, "-") && name != "-":
		// Flags and no command: inject, from stdin unless files are named.
		// The shortest Helm 3 post-renderer spelling
		// (--post-renderer sidecar-injector --post-renderer-args=-c=mesh.yaml).
		return transform("inject", args, true, stdin, stdout, stderr)
	case name == "help" || name == cobra.ShellCompRequestCmd || name == cobra.ShellCompNoDescRequestCmd ||
		slices.ContainsFunc(table, func(c command) bool { return c.name == name }):
		root, code := newRoot(table, stdin, stdout, stderr)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			fmt.Fprintf(stderr, "sidecar-injector: %v\n", err)
			return 2
		}
		return *code
	}
	fmt.Fprintf(stderr, "sidecar-injector: unknown command %q\n\n", name)
	usage(stderr, table)
	return 2
}

// newRoot is the command tree cobra runs and completes; code is the exit
// code of the command it ran.
func newRoot(table []command, stdin io.Reader, stdout, stderr io.Writer) (root *cobra.Command, code *int) {
	code = new(int)
	root = &cobra.Command{
		Use:               "sidecar-injector",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true}, // the table's completion
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	// Flags and no command mean inject (see run): complete them as its.
	root.DisableFlagParsing = true
	root.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 && !strings.HasPrefix(toComplete, "-") {
			return nil, cobra.ShellCompDirectiveNoFileComp // the commands, which cobra lists
		}
		for _, c := range table {
			if c.name == "inject" {
				return c.complete(cmd, args, toComplete)
			}
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
	for _, c := range table {
		root.AddCommand(&cobra.Command{
			Use:   c.name,
			Short: c.summary,
			// The command parses its own flags, -h included.
			DisableFlagParsing: true,
			Args:               cobra.ArbitraryArgs,
			ValidArgsFunction:  c.complete,
			Run: func(_ *cobra.Command, args []string) {
				*code = c.run(args, stdin, stdout, stderr)
			},
		})
	}
	names := make([]string, len(table))
	for i, c := range table {
		names[i] = c.name
	}
	root.SetHelpCommand(&cobra.Command{
		Use:                "help [command]",
		Short:              "print help: the commands, or a command's flags",
		DisableFlagParsing: true,
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		Run: func(_ *cobra.Command, args []string) {
			*code = help(table, args, stdout, stderr)
		},
	})
	return root, code
}

// help prints the commands, or a command's help (what its -h prints), on
// stdout.
func help(table []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || isHelp(args) {
		usage(stdout, table)
		return 0
	}
	for _, c := range table {
		if c.name == args[0] {
			return c.run([]string{"-h"}, strings.NewReader(""), stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sidecar-injector help: unknown command %q\n\n", args[0])
	usage(stderr, table)
	return 2
}

func usage(w io.Writer, table []command) {
	fmt.Fprintln(w, "sidecar-injector adds sidecar containers to Kubernetes workloads.")
	fmt.Fprintln(w, "\nUsage:\n  sidecar-injector <command> [flags]\n\nCommands:")
	sorted := slices.Clone(table)
	slices.SortFunc(sorted, func(a, b command) int { return strings.Compare(a.name, b.name) })
	width := 0
	for _, c := range sorted {
		width = max(width, len(c.name))
	}
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags with no command mean inject, reading stdin unless files are named:")
	fmt.Fprintln(w, "  helm install web ./chart --post-renderer sidecar-injector --post-renderer-args=-c=mesh.yaml")
	fmt.Fprintln(w, "\nRun 'sidecar-injector <command> -h' (or 'sidecar-injector help <command>') for a command's flags.")
}

// parseFlags parses a command's arguments. -h and --help print the
// command's help (fs.Usage) on stdout and return flag.ErrHelp; a bad flag
// prints the error and the help on stderr, as Go's flag package does.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
	case err != nil:
		fs.Usage()
	}
	return err
}

// isHelp reports whether args ask for help, for the commands without flags.
func isHelp(args []string) bool {
	return len(args) > 0 && slices.Contains([]string{"-h", "-help", "--help", "help"}, args[0])
}

func runSchema(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	switch {
	case isHelp(args):
		fmt.Fprintln(stdout, "Usage: sidecar-injector schema\n\nPrints the JSON Schema of a SidecarInjector config (draft 2020-12), the same as\napi/v1alpha1/"+v1alpha1.SchemaFile+". Editors validate a config with it through a\nmodeline: # yaml-language-server: $schema=PATH")
		return 0
	case len(args) > 0:
		fmt.Fprintf(stderr, "sidecar-injector schema: takes no arguments, got %q\n", args)
		return 2
	}
	if _, err := stdout.Write(v1alpha1.Schema); err != nil {
		fmt.Fprintf(stderr, "sidecar-injector schema: %v\n", err)
		return 1
	}
	return 0
}

func runVersion(args []string, _ io.Reader, stdout, _ io.Writer) int {
	if isHelp(args) {
		fmt.Fprintln(stdout, "Usage: sidecar-injector version\n\nPrints the version of the binary.")
		return 0
	}
	fmt.Fprintln(stdout, version)
	return 0
}

// isTerminal reports whether f, the stdin or stdout a command was given,
// is a terminal; anything but an *os.File is not.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// runCompletion prints cobra's completion script for a shell. The script
// asks the binary (`sidecar-injector __complete ARGS...`) on each <Tab>,
// which answers from the command table: commands, flags, their values.
func runCompletion(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if isHelp(args) {
		completionUsage(stdout)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "sidecar-injector completion: expected one shell: %s\n\n", strings.Join(completionShells, ", "))
		completionUsage(stderr)
		return 2
	}
	root, _ := newRoot(commandTable(), nil, stdout, stderr)
	var err error
	switch args[0] {
	case "bash":
		err = root.GenBashCompletionV2(stdout, true)
	case "zsh":
		err = root.GenZshCompletion(stdout)
	case "fish":
		err = root.GenFishCompletion(stdout, true)
	case "powershell":
		err = root.GenPowerShellCompletionWithDesc(stdout)
	default:
		fmt.Fprintf(stderr, "sidecar-injector completion: unknown shell %q: expected %s\n", args[0], strings.Join(completionShells, ", "))
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector completion: %v\n", err)
		return 1
	}
	return 0
}

func completionUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: sidecar-injector completion bash|zsh|fish|powershell

Prints a script that completes sidecar-injector's commands, flags and flag
values in the shell. Load it in the current shell:

  source <(sidecar-injector completion bash)
  source <(sidecar-injector completion zsh)
  sidecar-injector completion fish | source

or install it for every new shell:

  sidecar-injector completion bash > /etc/bash_completion.d/sidecar-injector
  sidecar-injector completion zsh > "${fpath[1]}/_sidecar-injector"
  sidecar-injector completion fish > ~/.config/fish/completions/sidecar-injector.fish

zsh needs "autoload -U compinit; compinit" in ~/.zshrc first.
`)
}

// complete answers a <Tab> after the command's name: a flag's value
// (--color <Tab>, --color=<Tab>), a flag's name (-<Tab>), or an argument.
func (c command) complete(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	fs := c.flagsLeft(args)
	if n := len(args); fs != nil && n > 0 {
		if f := valueFlag(fs, args[n-1]); f != nil {
			return c.values(f.Name, "", toComplete)
		}
	}
	if fs != nil && strings.HasPrefix(toComplete, "-") {
		if name, value, ok := strings.Cut(toComplete, "="); ok {
			if f := fs.Lookup(strings.TrimLeft(name, "-")); f != nil {
				return c.values(f.Name, name+"=", value)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		fs.VisitAll(func(f *flag.Flag) {
			// as help shows them: one dash for one letter, two for more
			name := "--" + f.Name
			if len(f.Name) == 1 {
				name = "-" + f.Name
			}
			if strings.HasPrefix(name, toComplete) {
				names = append(names, cobra.CompletionWithDesc(name, f.Usage))
			}
		})
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	if choices, ok := c.choices[""]; ok {
		return matching(choices, "", toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveDefault // files and directories
}

// flagsLeft is the command's flags if args leave it reading flags: Go's
// flag package stops at "--" and at the first argument that is neither a
// flag nor a flag's value (so "inject a.yaml --in-place" names two files).
func (c command) flagsLeft(args []string) *flag.FlagSet {
	if c.flags == nil {
		return nil
	}
	fs := c.flags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return nil
		}
		if valueFlag(fs, a) != nil {
			i++
		}
	}
	return fs
}

// values completes a flag's value: its choices, or files.
func (c command) values(flagName, prefix, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	choices, ok := c.choices[flagName]
	if !ok {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return matching(choices, prefix, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func matching(choices []string, prefix, toComplete string) []cobra.Completion {
	var out []cobra.Completion
	for _, v := range choices {
		if strings.HasPrefix(v, toComplete) {
			out = append(out, prefix+v)
		}
	}
	return out
}

// valueFlag is the flag arg names if it takes a value in the next
// argument: "-o" or "--output", not "--quiet" nor "-o=x".
func valueFlag(fs *flag.FlagSet, arg string) *flag.Flag {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return nil
	}
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return nil
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return nil
	}
	return f
}

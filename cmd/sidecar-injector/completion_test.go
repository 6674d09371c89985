package main

import (
	"slices"
	"strings"
	"testing"
)

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "complete -o default -F __start_sidecar-injector sidecar-injector",
		"zsh":        "#compdef sidecar-injector",
		"fish":       "complete -c sidecar-injector ",
		"powershell": "Register-ArgumentCompleter -CommandName 'sidecar-injector'",
	} {
		out, stderr, code := runCLI(t, nil, "completion", shell)
		if code != 0 || stderr != "" || !strings.Contains(out, marker) || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q, no %q in:\n%.300s", shell, code, stderr, marker, out)
		}
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		if out, stderr, code := runCLI(t, nil, args...); code != 2 || out != "" || !strings.Contains(stderr, "bash, zsh, fish, powershell") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
	}
}

// What the completion scripts ask the binary on <Tab>: `__complete` with
// the words so far (the last one being completed) answers one completion
// per line (TAB, then its description), then ":DIRECTIVE".
func TestComplete(t *testing.T) {
	const files, noFiles = ":0", ":4" // cobra's ShellCompDirectiveDefault and NoFileComp
	cases := []struct {
		line string
		want []string // completions without descriptions, then the directive
	}{
		{"", []string{"certs", "check", "completion", "fn", "help", "inject", "policy", "report", "schema", "uninject", "version", "webhook", noFiles}},
		{"un", []string{"uninject", noFiles}},
		{"--in", []string{"--in-place", noFiles}}, // flags and no command: inject's
		{"-c ", []string{files}},
		{"-q --output ", []string{files}},
		{"help ", []string{"inject", "uninject", "check", "report", "fn", "webhook", "certs", "policy", "completion", "schema", "version", noFiles}},
		{"completion ", []string{"bash", "zsh", "fish", "powershell", noFiles}},
		{"policy --n", []string{"--name", "--namespace-selector", noFiles}},
		{"completion f", []string{"fish", noFiles}},
		{"inject --c", []string{"--config", noFiles}},
		{"inject -", []string{"--annotation-prefix", "-c", "--config", "-f", "--filename", "--in-place", "--kube-version",
			"--max-input-mb", "-o", "--output", "-q", "--quiet", noFiles}},
		{"inject -c ", []string{files}},
		{"inject -c c.yaml -f ", []string{files}},
		{"inject -q ", []string{files}}, // -q takes no value: a file
		{"report -o ", []string{"table", "json", "yaml", noFiles}},
		{"report --output=j", []string{"--output=json", noFiles}},
		{"report -f x.yaml -o y", []string{"yaml", noFiles}},
		{"inject -o ", []string{files}}, // inject's -o is a file
		{"check --color ", []string{"auto", "always", "never", noFiles}},
		{"check --di", []string{"--diff", noFiles}},
		{"webhook --log-", []string{"--log-format", "--log-level", noFiles}},
		{"webhook --log-level ", []string{"debug", "info", "warn", "error", noFiles}},
		{"webhook --tls", []string{"--tls-cert-file", "--tls-key-file", noFiles}}, // not the tutorial's names
		{"webhook ", []string{noFiles}},
		{"certs --n", []string{"--namespace", "--new-ca", noFiles}},
		{"fn ", []string{noFiles}},
		{"version ", []string{noFiles}},
		{"inject -- -", []string{files}},        // after --, arguments only
		{"inject a.yaml --in", []string{files}}, // and after the first argument, as Go's flag package reads them
		{"fn -", []string{noFiles}},
	}
	for _, c := range cases {
		args := append([]string{"__complete"}, strings.Split(c.line, " ")...)
		if c.line == "" {
			args = []string{"__complete", ""}
		}
		out, stderr, code := runCLI(t, nil, args...)
		var got []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			name, _, _ := strings.Cut(l, "\t")
			got = append(got, name)
		}
		if code != 0 || !slices.Equal(got, c.want) {
			t.Errorf("%q: exit %d, got %q, want %q (stderr %q)", c.line, code, got, c.want, stderr)
		}
	}
	// Descriptions come from the table and the flags' usage.
	out, _, _ := runCLI(t, nil, "__complete", "inject", "--in")
	if !strings.Contains(out, "--in-place\trewrite the files instead of printing the result\n") {
		t.Errorf("no description for --in-place:\n%s", out)
	}
	out, _, _ = runCLI(t, nil, "__complete", "ver")
	if !strings.Contains(out, "version\tprint the version\n") {
		t.Errorf("no description for version:\n%s", out)
	}
}

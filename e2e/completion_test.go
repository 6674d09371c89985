//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// completionCases are command lines typed up to <Tab>, and the words the
// shell then offers (sorted, space-separated); files: the binary leaves it
// to the shell's own file completion. They run in a directory holding
// a.yaml, b.json and dir/.
var completionCases = []struct {
	line, want string
	files      bool
}{
	{line: "sidecar-injector rep", want: "report"},
	{line: "sidecar-injector un", want: "uninject"},
	{line: "sidecar-injector completion ", want: "bash fish powershell zsh"},
	{line: "sidecar-injector report -o ", want: "json table yaml"},
	{line: "sidecar-injector check --col", want: "--color"},
	{line: "sidecar-injector webhook --log-level w", want: "warn"},
	{line: "sidecar-injector inject -c a.yaml -f b", want: "b.json", files: true},
	{line: "sidecar-injector help in", want: "inject"},
}

// completionDir makes the directory the cases complete in, and puts the
// binary on PATH as the scripts call it.
func completionDir(t *testing.T) (dir string, env []string) {
	dir = t.TempDir()
	for _, f := range []string{"a.yaml", "b.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, append(os.Environ(), "PATH="+filepath.Dir(binary)+":"+os.Getenv("PATH"))
}

// bash runs the generated script as bash runs it on <Tab>: COMP_WORDS and
// COMP_CWORD set, the registered function called, COMPREPLY read back.
// The script needs the bash-completion package (as kubectl's does); where
// it is not installed, a minimal _get_comp_words_by_ref stands in for it.
// compopt works only under readline: a no-op here. Files are left to
// readline (complete -o default), so COMPREPLY is empty for them.
func TestCompletionBash(t *testing.T) {
	dir, env := completionDir(t)
	script := `
if [ -f /usr/share/bash-completion/bash_completion ]; then
  source /usr/share/bash-completion/bash_completion
else
  _get_comp_words_by_ref() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }
fi
compopt() { :; }
source <(sidecar-injector completion bash)
COMP_LINE=$1 COMP_POINT=${#1}
read -ra COMP_WORDS <<<"$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
__start_sidecar-injector
printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
`
	for _, c := range completionCases {
		want := c.want
		if c.files {
			want = ""
		}
		stdout, stderr, code := runEnv(t, dir, env, nil, "bash", "--norc", "--noprofile", "-c", script, "bash", c.line)
		if got := strings.TrimSpace(string(stdout)); code != 0 || got != want || len(stderr) > 0 {
			t.Errorf("%q<Tab>: exit %d, got %q, want %q; stderr:\n%s", c.line, code, got, want, stderr)
		}
	}
}

// fish completes a command line itself with `complete -C`.
func TestCompletionFish(t *testing.T) {
	if _, err := exec.LookPath("fish"); err != nil {
		t.Skip("fish is not installed")
	}
	dir, env := completionDir(t)
	for _, c := range completionCases {
		stdout, stderr, code := runEnv(t, dir, env, nil, "fish", "--no-config", "-c",
			"sidecar-injector completion fish | source; complete -C $argv[1] | string replace -r '\\t.*' '' | sort | tr '\\n' ' '", c.line)
		if got := strings.TrimSpace(string(stdout)); code != 0 || got != c.want {
			t.Errorf("%q<Tab>: exit %d, got %q, want %q; stderr:\n%s", c.line, code, got, c.want, stderr)
		}
	}
}

// zsh's completion runs only in an interactive line editor: the script is
// checked for syntax, and registers its function when loaded.
func TestCompletionZsh(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh is not installed")
	}
	dir, env := completionDir(t)
	stdout, stderr, code := runEnv(t, dir, env, nil, "zsh", "-f", "-c",
		`autoload -U compinit && compinit -u && source <(sidecar-injector completion zsh) && print -r -- $_comps[sidecar-injector]`)
	if got := strings.TrimSpace(string(stdout)); code != 0 || got != "_sidecar-injector" {
		t.Errorf("zsh: exit %d, $_comps[sidecar-injector] = %q, want _sidecar-injector; stderr:\n%s", code, got, stderr)
	}
}

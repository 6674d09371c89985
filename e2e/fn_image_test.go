//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// There is no Docker engine where these tests run, so the image is checked
// in two halves: the Dockerfile is parsed and checked against what the
// image must be (multi-stage, static, distroless, non-root, the binary as
// entrypoint), and its build stage's `go build` command is run here as
// written, and the binary checked (static, stamped, a working function).
// What is not run: `docker build`, the base images, the image itself.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

type stage struct {
	base, name string
	body       []instruction
}

func parseDockerfile(t *testing.T, path string) (globalArgs map[string]string, stages []*stage) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	globalArgs = map[string]string{}
	var logical strings.Builder
	flush := func() {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := &stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
		case len(stages) == 0 && in.cmd == "ARG":
			name, value, _ := strings.Cut(in.args, "=")
			globalArgs[name] = value
		case len(stages) == 0:
			t.Errorf("Dockerfile: %s before the first FROM", in.cmd)
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		if trimmed := strings.TrimSpace(line); strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			logical.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		logical.WriteString(line)
		flush()
	}
	flush()
	return globalArgs, stages
}

func (s *stage) all(cmd string) []string {
	var out []string
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func (s *stage) last(cmd string) string {
	all := s.all(cmd)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

func TestFnImageDockerfile(t *testing.T) {
	args, stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	byName := map[string]*stage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	build := byName["build"]
	if len(stages) < 2 || build == nil {
		t.Fatalf("want a multi-stage Dockerfile with a build stage, got %d stages", len(stages))
	}

	// The build stage: the Go toolchain this project builds with.
	if build.base != "golang:${GO_VERSION}" {
		t.Errorf("build stage FROM %s, want golang:${GO_VERSION}", build.base)
	}
	goMinor := regexp.MustCompile(`^go(\d+\.\d+)`).FindStringSubmatch(runtime.Version())
	if v := args["GO_VERSION"]; goMinor == nil || !strings.HasPrefix(v, goMinor[1]+".") {
		t.Errorf("GO_VERSION=%q, want the toolchain's Go %v", v, goMinor)
	}
	var goBuild string
	for _, r := range build.all("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0 ", "-trimpath", "./cmd/sidecar-injector", "-o /out/sidecar-injector"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the build stage's go build lacks %q: %s", want, goBuild)
		}
	}
	// The version is stamped as the Makefile does it.
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LDFLAGS\s*:=\s*(.*)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("Makefile: no LDFLAGS")
	}
	ldflags := strings.ReplaceAll(strings.TrimSpace(string(m[1])), "$(VERSION)", "${VERSION}")
	if !strings.Contains(goBuild, `-ldflags "`+ldflags+`"`) {
		t.Errorf("go build's -ldflags differ from the Makefile's %q: %s", ldflags, goBuild)
	}

	// The image: distroless static, non-root, the binary as entrypoint.
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") || !strings.HasSuffix(final.base, ":nonroot") {
		t.Errorf("final stage FROM %s, want a distroless static :nonroot image", final.base)
	}
	if u := final.last("USER"); u == "" || strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") {
		t.Errorf("final stage USER %q, want a non-root user", u)
	}
	if got := final.all("COPY"); len(got) != 1 || got[0] != "--from=build /out/sidecar-injector /sidecar-injector" {
		t.Errorf("final stage COPY %q, want only the binary from the build stage", got)
	}
	var entrypoint []string
	if err := json.Unmarshal([]byte(final.last("ENTRYPOINT")), &entrypoint); err != nil || len(entrypoint) != 1 || entrypoint[0] != "/sidecar-injector" {
		t.Errorf("ENTRYPOINT %q, want the exec form [\"/sidecar-injector\"] (no shell in distroless)", final.last("ENTRYPOINT"))
	}
	if cmd := final.all("CMD"); len(cmd) > 0 {
		t.Errorf("CMD %q: with no arguments the binary is the KRM function, as kpt and kustomize run it", cmd)
	}

	// The Argo CD plugin sidecar: kustomize and the binary on PATH.
	if cmp := byName["argocd-cmp"]; cmp == nil {
		t.Error("no argocd-cmp stage (examples/argocd uses it)")
	} else {
		copies := strings.Join(cmp.all("COPY"), "\n")
		for _, want := range []string{"/usr/local/bin/kustomize", "/usr/local/bin/sidecar-injector"} {
			if !strings.Contains(copies, want) {
				t.Errorf("argocd-cmp lacks %s", want)
			}
		}
		if u := cmp.last("USER"); !strings.HasPrefix(u, "999") {
			t.Errorf("argocd-cmp USER %q, want Argo CD's 999", u)
		}
	}

	// The build context keeps what go build needs and leaves out .git.
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ignored := map[string]bool{}
	for _, line := range strings.Split(string(ignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored[strings.Trim(line, "/")] = true
		}
	}
	if !ignored[".git"] {
		t.Error(".dockerignore does not leave out .git")
	}
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "fn", "transformer", "manifest", "internal"} {
		if ignored[needed] {
			t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
		}
	}

	t.Run("build as the Dockerfile does", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "sidecar-injector")
		script := strings.NewReplacer("${VERSION}", "v0.0.0-e2e", "/out/sidecar-injector", out).Replace(goBuild)
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
		fileOut, _ := exec.Command(tool(t, "file"), out).Output()
		if !regexp.MustCompile(`statically linked|static-pie linked`).Match(fileOut) {
			t.Errorf("file: %s", fileOut)
		}
		lddOut, _ := exec.Command(tool(t, "ldd"), out).CombinedOutput()
		if !bytes.Contains(lddOut, []byte("not a dynamic executable")) {
			t.Errorf("ldd: %s", lddOut)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(root+"/")) {
			t.Errorf("the binary holds the build directory %s: -trimpath did not apply", root)
		}
		version, _, code := run(t, root, nil, out, "version")
		if code != 0 || strings.TrimSpace(string(version)) != "v0.0.0-e2e" {
			t.Errorf("version: %q (exit code %d)", version, code)
		}
		// The entrypoint with no arguments: the function.
		rl, stderr, code := run(t, root, workload.ResourceList(2), out)
		if code != 0 || !bytes.Contains(rl, []byte("- name: sidecar-nginx")) || !bytes.Contains(rl, []byte("message: 'injected: nginx'")) {
			t.Errorf("as a function: exit code %d, stderr %s, output:\n%s", code, stderr, rl)
		}
	})
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx"
	"github.com/sidecar-injector/sidecar-injector/internal/filetx/filetxtest"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// The file-handling cases of the CLI that need no privileges: symlinks,
// hard links, the same file given twice. Root-only and Linux-only cases
// (owners, mounts, FIFOs, signals) are in files_linux_test.go.

// injected is goodDeployment after inject with nginxConfig.
func injected(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testio.WriteFile(t, filepath.Join(dir, "config.yaml"), nginxConfig)
	out, stderr, code := runCLI(t, []byte(goodDeployment), "inject", "-q", "-c", filepath.Join(dir, "config.yaml"), "-f", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return out
}

// inConfigDir moves the test into a new directory holding config.yaml
// (nginxConfig) and goodDeployment at each of manifests, and returns it.
func inConfigDir(t *testing.T, manifests ...string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	testio.WriteFile(t, "config.yaml", nginxConfig)
	for _, m := range manifests {
		testio.WriteFile(t, m, goodDeployment)
	}
	return dir
}

// noTempFiles fails when a hidden temporary file is left anywhere under dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func isSymlink(t *testing.T, path string) bool {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()&os.ModeSymlink != 0
}

// TestInPlaceThroughSymlink: a symlinked manifest inside the tree is
// rewritten through the link: the target gets the new content and the link
// stays a link.
func TestInPlaceThroughSymlink(t *testing.T) {
	inConfigDir(t, "repo/base/web.yaml")
	symlink(t, "../base/web.yaml", "repo/prod/web.yaml")
	for _, args := range [][]string{{"-f", "repo"}, {"-f", "repo/prod/web.yaml"}} {
		testio.WriteFile(t, "repo/base/web.yaml", goodDeployment)
		_, stderr, code := runCLI(t, nil, append([]string{"inject", "-c", "config.yaml", "--in-place"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		if !isSymlink(t, "repo/prod/web.yaml") {
			t.Fatalf("%v: the symlink was replaced by a regular file", args)
		}
		if got := testio.ReadFile(t, "repo/base/web.yaml"); got != injected(t) {
			t.Fatalf("%v: the link's target was not rewritten:\n%s", args, got)
		}
		if n := strings.Count(stderr, "injected "); n != 1 {
			t.Errorf("%v: %d workloads reported, want 1:\n%s", args, n, stderr)
		}
		noTempFiles(t, ".")
	}
}

// TestSymlinkOutOfTree: a symlink inside a walked directory whose target is
// outside every -f root is an error naming both paths, and nothing is
// written, whatever the output.
func TestSymlinkOutOfTree(t *testing.T) {
	inConfigDir(t, "repo/a.yaml", "elsewhere/secret.yaml")
	target, _ := filepath.Abs("elsewhere/secret.yaml")
	symlink(t, target, "repo/b.yaml")
	symlink(t, "../elsewhere", "repo/sub")
	for _, extra := range [][]string{{"--in-place"}, nil} {
		stdout, stderr, code := runCLI(t, nil, append([]string{"inject", "-c", "config.yaml", "-f", "repo"}, extra...)...)
		if code != 1 || stdout != "" {
			t.Fatalf("%v: exit %d, stdout %q, stderr %s", extra, code, stdout, stderr)
		}
		for _, want := range []string{"repo/b.yaml", target, "outside"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr does not name %q:\n%s", extra, want, stderr)
			}
		}
		if testio.ReadFile(t, "elsewhere/secret.yaml") != goodDeployment || testio.ReadFile(t, "repo/a.yaml") != goodDeployment {
			t.Fatalf("%v: a file was written", extra)
		}
	}
	// given both roots, the link is inside one of them: allowed, and the
	// file (reached three ways) is processed once
	os.Remove("repo/b.yaml")
	symlink(t, "../elsewhere/secret.yaml", "repo/b.yaml")
	stdout, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "repo", "-f", "elsewhere")
	if code != 0 || strings.Count(stdout, "name: sidecar-nginx") != 2 || strings.Count(stderr, "injected ") != 2 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestSymlinkedDirArgument: -f given a symlink to a directory walks it.
func TestSymlinkedDirArgument(t *testing.T) {
	inConfigDir(t, "real/web.yaml")
	symlink(t, "real", "link")
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "link", "--in-place")
	if code != 0 || !strings.Contains(stderr, "injected   Deployment web (link/web.yaml:1)") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if testio.ReadFile(t, "real/web.yaml") != injected(t) {
		t.Error("not rewritten through the directory link")
	}
	if !isSymlink(t, "link") {
		t.Error("the directory link was replaced")
	}
}

// TestWalkSymlinkCycle: a directory link back to an ancestor neither loops
// nor repeats a file.
func TestWalkSymlinkCycle(t *testing.T) {
	inConfigDir(t, "repo/apps/web.yaml")
	symlink(t, "..", "repo/apps/loop")
	symlink(t, "apps", "repo/again")
	stdout, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "repo")
	if code != 0 || strings.Count(stdout, "kind: Deployment") != 1 || strings.Count(stderr, "injected ") != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestSameFileTwice: a file named twice, by two paths, or by its directory
// and itself, is processed and printed once.
func TestSameFileTwice(t *testing.T) {
	inConfigDir(t, "dir/web.yaml")
	if err := os.Link("dir/web.yaml", "hard.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-f", "dir/web.yaml", "-f", "dir/web.yaml"},
		{"-f", "dir/web.yaml", "-f", "./dir/../dir/web.yaml"},
		{"-f", "dir", "-f", "dir/web.yaml"},
		{"-f", "dir/web.yaml", "-f", "hard.yaml"},
	} {
		stdout, stderr, code := runCLI(t, nil, append([]string{"inject", "-c", "config.yaml"}, args...)...)
		if code != 0 || stdout != injected(t) || strings.Count(stderr, "injected ") != 1 {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}

// TestInPlaceHardLink: a hard-linked file is not split: the run refuses
// with an error naming the file, and nothing is written.
func TestInPlaceHardLink(t *testing.T) {
	inConfigDir(t, "a/first.yaml", "b/web.yaml")
	if err := os.Link("b/web.yaml", "other-name.yaml"); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "a", "-f", "b", "--in-place")
	if code != 1 || !strings.Contains(stderr, "b/web.yaml") || !strings.Contains(stderr, "hard link") || !strings.Contains(stderr, "nothing written") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"a/first.yaml", "b/web.yaml", "other-name.yaml"} {
		if testio.ReadFile(t, f) != goodDeployment {
			t.Errorf("%s was written", f)
		}
	}
	noTempFiles(t, ".")
	// to stdout, a hard link is just a file
	if _, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "b"); code != 0 {
		t.Errorf("to stdout: exit %d: %s", code, stderr)
	}
}

// TestOutputThroughSymlink: -o onto a symlink writes its target and keeps
// the link and the target's mode.
func TestOutputThroughSymlink(t *testing.T) {
	inConfigDir(t, "web.yaml")
	testio.WriteFile(t, "out/real.yaml", "old\n")
	if err := os.Chmod("out/real.yaml", 0o640); err != nil {
		t.Fatal(err)
	}
	symlink(t, "real.yaml", "out/link.yaml")
	if _, stderr, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "web.yaml", "-o", "out/link.yaml"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !isSymlink(t, "out/link.yaml") || testio.ReadFile(t, "out/real.yaml") != injected(t) {
		t.Fatal("not written through the link")
	}
	if st, _ := os.Stat("out/real.yaml"); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	noTempFiles(t, ".")
}

// useFS makes --in-place and -o write through fsys for the test.
func useFS(t *testing.T, fsys filetx.FS) {
	old := writeFS
	writeFS = fsys
	t.Cleanup(func() { writeFS = old })
}

// TestInPlaceRenameFailsPartway: when a rename fails after another
// succeeded (rare: the directory went read-only, a disk error), the report
// names what was written and what was not, never "nothing written".
func TestInPlaceRenameFailsPartway(t *testing.T) {
	inConfigDir(t, "m/a.yaml", "m/b.yaml")
	useFS(t, &filetxtest.FaultFS{Before: func(op, name string) error {
		if op == "rename" && strings.HasSuffix(name, "b.yaml") {
			return syscall.EIO
		}
		return nil
	}})
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "m", "--in-place")
	if code != 1 || !strings.Contains(stderr, "error: m/b.yaml: rename ") || !strings.HasSuffix(stderr, "sidecar-injector: written: m/a.yaml; not written: m/b.yaml\n") || strings.Contains(stderr, "nothing written") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if testio.ReadFile(t, "m/a.yaml") != injected(t) || testio.ReadFile(t, "m/b.yaml") != goodDeployment {
		t.Error("the files do not hold what the report says")
	}
	noTempFiles(t, ".")
}

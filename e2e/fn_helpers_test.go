//go:build e2e

package e2e

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
)

// Helpers for the KRM function's end-to-end tests and the examples.

// copyTree copies a directory recursively, keeping file modes.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// copyBinary puts the freshly built sidecar-injector at path.
func copyBinary(t testing.TB, path string) {
	t.Helper()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// exampleCopy copies examples/<name> to <tmp>/examples/<name> and the
// binary to <tmp>/bin/sidecar-injector, where the examples' relative exec
// paths (../../bin/sidecar-injector, what `make build` writes) expect it.
// It returns the copy's directory and the bin directory.
func exampleCopy(t testing.TB, name string) (dir, binDir string) {
	t.Helper()
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "examples", name)
	copyTree(t, filepath.Join(root, "examples", name), dir)
	binDir = filepath.Join(tmp, "bin")
	copyBinary(t, filepath.Join(binDir, "sidecar-injector"))
	return dir, binDir
}

// pathEnv is the environment with dirs put first on PATH.
func pathEnv(dirs ...string) []string {
	env := []string{"PATH=" + strings.Join(append(dirs, os.Getenv("PATH")), string(os.PathListSeparator))}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return env
}

// must fails the test unless the command exited 0, and returns its
// stdout: must(t)(run(...)).
func must(t testing.TB) func(stdout, stderr []byte, code int) []byte {
	return func(stdout, stderr []byte, code int) []byte {
		t.Helper()
		if code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
		}
		return stdout
	}
}

// checkExpected compares output with a checked-in file, or rewrites the
// file with UPDATE_GOLDEN=1 (`make update-golden`).
func checkExpected(t testing.TB, path string, got []byte) {
	t.Helper()
	if golden.Updating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v; run `make update-golden` and review the diff", err)
	}
	if !bytes.Equal(want, got) {
		rel, _ := filepath.Rel(root, path)
		t.Errorf("%s differs (run `make update-golden` and review):\n%s", rel, golden.Diff(want, got))
	}
}

// replaceInFile replaces the first old in the file at path with new, and
// fails the test if the file does not hold old.
func replaceInFile(t testing.TB, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), old, new, 1)
	if changed == string(data) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readTree reads every regular file under dir, by relative path, leaving
// out the paths skip says.
func readTree(t testing.TB, dir string, skip func(rel string) bool) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if skip != nil && skip(rel) {
			return nil
		}
		data, err := os.ReadFile(path)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// changedLines lists the lines of b that differ from a, file by file (for
// edits that keep the number of lines).
func changedLines(t testing.TB, a, b map[string]string) []string {
	t.Helper()
	var out []string
	for name, before := range a {
		after, ok := b[name]
		if !ok {
			t.Errorf("%s disappeared", name)
			continue
		}
		al, bl := strings.Split(before, "\n"), strings.Split(after, "\n")
		if len(al) != len(bl) {
			t.Errorf("%s: %d lines became %d:\n%s", name, len(al), len(bl), golden.Diff([]byte(before), []byte(after)))
			continue
		}
		for i := range al {
			if al[i] != bl[i] {
				out = append(out, name+": "+strings.TrimSpace(bl[i]))
			}
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
	return out
}

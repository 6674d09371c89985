package filetx_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx"
	"github.com/sidecar-injector/sidecar-injector/internal/filetx/filetxtest"
)

// tree is two files in two directories, read as a run would read them.
type tree struct {
	dir     string
	a, b    string // their paths
	changes []filetx.Change
}

const oldA, oldB, newA, newB = "a: 1\n", "b: 1\n", "a: 2 # new\n", "b: 2 # new\n"

func newTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{dir: t.TempDir()}
	tr.a, tr.b = filepath.Join(tr.dir, "x", "a.yaml"), filepath.Join(tr.dir, "y", "b.yaml")
	for path, data := range map[string]string{tr.a: oldA, tr.b: oldB} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ path, data string }{{tr.a, newA}, {tr.b, newB}} {
		st, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadFile(c.path)
		tr.changes = append(tr.changes, filetx.Change{Name: filepath.Base(c.path), Path: c.path, Data: []byte(c.data), Read: &filetx.Snapshot{Data: old, Info: st}})
	}
	return tr
}

// holds fails unless the two files hold want and no temporary file is left.
func (tr *tree) holds(t *testing.T, wantA, wantB string) {
	t.Helper()
	for path, want := range map[string]string{tr.a: wantA, tr.b: wantB} {
		if got, _ := os.ReadFile(path); string(got) != want {
			t.Errorf("%s holds %q, want %q", filepath.Base(path), got, want)
		}
	}
	filepath.WalkDir(tr.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// nothingWritten reports whether err left every target as it was: any
// error but an IncompleteError that wrote something.
func nothingWritten(err error) bool {
	var inc *filetx.IncompleteError
	return !errors.As(err, &inc) || len(inc.Written) == 0
}

func isTemp(name, of string) bool {
	return strings.HasPrefix(filepath.Base(name), "."+of+".tmp-")
}

func TestCommit(t *testing.T) {
	tr := newTree(t)
	if err := filetx.Commit(context.Background(), filetx.OS{}, tr.changes); err != nil {
		t.Fatal(err)
	}
	tr.holds(t, newA, newB)
	for _, p := range []string{tr.a, tr.b} {
		if st, _ := os.Stat(p); st.Mode() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", p, st.Mode())
		}
	}
}

// TestCommitFailsBeforeRenames: whatever fails before the renames, both
// files keep their content, no temporary file is left, and the error names
// the file and says nothing was written.
func TestCommitFailsBeforeRenames(t *testing.T) {
	cases := map[string]struct {
		op, file string // the operation on the file's temporary file that fails
		err      error  // what it returns; nil: the run is interrupted there
		want     string
	}{
		"directory not writable":              {"create", "b.yaml", syscall.EACCES, "b.yaml: open"},
		"disk full":                           {"write", "b.yaml", syscall.ENOSPC, "b.yaml: write"},
		"sync fails":                          {"sync", "a.yaml", syscall.EIO, "a.yaml: sync"},
		"close fails (a quota reported late)": {"close", "b.yaml", syscall.EDQUOT, "b.yaml: disk quota exceeded"},
		"interrupted":                         {"close", "b.yaml", nil, "interrupted"},
		"interrupted while staging":           {"close", "a.yaml", nil, "interrupted"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr := newTree(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fault := func(op, name string) error {
				if op != tc.op || !isTemp(name, tc.file) {
					return nil
				}
				if tc.err == nil {
					cancel()
				}
				return tc.err
			}
			err := filetx.Commit(ctx, &filetxtest.FaultFS{Before: fault}, tr.changes)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !nothingWritten(err) {
				t.Fatalf("error %v, want one mentioning %q, with nothing written", err, tc.want)
			}
			tr.holds(t, oldA, oldB)
		})
	}
}

// TestCommitChangedMeanwhile: a file edited, replaced or removed after it
// was read is not overwritten: the edit stays, nothing is written, and the
// error names the file.
func TestCommitChangedMeanwhile(t *testing.T) {
	cases := map[string]func(t *testing.T, path string){
		"edited, same size": func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("a: 9\n"), 0o640); err != nil {
				t.Fatal(err)
			}
		},
		"replaced by an editor's rename, same bytes": func(t *testing.T, path string) {
			if err := os.WriteFile(path+".new", []byte(oldA), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".new", path); err != nil {
				t.Fatal(err)
			}
		},
		"removed": func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			tr := newTree(t)
			var after string
			fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
				if op == "close" && isTemp(name, "b.yaml") { // all staged
					edit(t, tr.a)
					b, _ := os.ReadFile(tr.a)
					after = string(b)
				}
				return nil
			}}
			err := filetx.Commit(context.Background(), fsys, tr.changes)
			if err == nil || !strings.Contains(err.Error(), "a.yaml: changed since it was read") || !nothingWritten(err) {
				t.Fatalf("error %v", err)
			}
			tr.holds(t, after, oldB)
		})
	}
}

// TestCommitRenameFailsPartway: the error says exactly which files were
// written and which were not, and no temporary file is left.
func TestCommitRenameFailsPartway(t *testing.T) {
	tr := newTree(t)
	fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
		if op == "rename" && name == tr.b {
			return syscall.EIO
		}
		return nil
	}}
	err := filetx.Commit(context.Background(), fsys, tr.changes)
	var inc *filetx.IncompleteError
	if !errors.As(err, &inc) || nothingWritten(err) {
		t.Fatalf("error %v, want an IncompleteError", err)
	}
	if got := inc.Describe(); got != "written: a.yaml; not written: b.yaml" {
		t.Errorf("Describe() = %q", got)
	}
	tr.holds(t, newA, oldB)
}

// TestCommitInterruptedDuringRenames: the renames are finished, and the
// error says all were written.
func TestCommitInterruptedDuringRenames(t *testing.T) {
	tr := newTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
		if op == "rename" && name == tr.a {
			cancel()
		}
		return nil
	}}
	err := filetx.Commit(ctx, fsys, tr.changes)
	var inc *filetx.IncompleteError
	if !errors.As(err, &inc) || !strings.Contains(err.Error(), "interrupted") || inc.Describe() != "written: a.yaml, b.yaml" {
		t.Fatalf("error %v", err)
	}
	tr.holds(t, newA, newB)
}

// TestCommitDirSyncFails: written, but not known to be durable: said so.
func TestCommitDirSyncFails(t *testing.T) {
	tr := newTree(t)
	fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
		if op == "open" && name == filepath.Dir(tr.b) {
			return syscall.EIO
		}
		return nil
	}}
	err := filetx.Commit(context.Background(), fsys, tr.changes)
	var inc *filetx.IncompleteError
	if !errors.As(err, &inc) || !strings.Contains(err.Error(), "b.yaml: written, but syncing its directory failed") || len(inc.Written) != 2 {
		t.Fatalf("error %v", err)
	}
	tr.holds(t, newA, newB)
}

// TestCommitCleanupFails: a temporary file that cannot be removed is
// named, never silently left.
func TestCommitCleanupFails(t *testing.T) {
	tr := newTree(t)
	fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
		switch {
		case op == "write" && isTemp(name, "b.yaml"):
			return syscall.ENOSPC
		case op == "remove" && isTemp(name, "a.yaml"):
			return syscall.EROFS
		}
		return nil
	}}
	err := filetx.Commit(context.Background(), fsys, tr.changes)
	if err == nil || !strings.Contains(err.Error(), "temporary file left behind: remove "+filepath.Dir(tr.a)+"/.a.yaml.tmp-") {
		t.Fatalf("error %v", err)
	}
}

// TestCommitRefusesHardLinks: nothing is staged, nothing written.
func TestCommitRefusesHardLinks(t *testing.T) {
	tr := newTree(t)
	if err := os.Link(tr.b, filepath.Join(tr.dir, "other-name")); err != nil {
		t.Fatal(err)
	}
	created := 0
	fsys := &filetxtest.FaultFS{Before: func(op, name string) error {
		if op == "create" {
			created++
		}
		return nil
	}}
	err := filetx.Commit(context.Background(), fsys, tr.changes)
	if err == nil || !strings.Contains(err.Error(), "b.yaml: has 2 hard links") || created != 0 {
		t.Fatalf("error %v, %d files created", err, created)
	}
	tr.holds(t, oldA, oldB)
}

// TestWriteFile: -o's file: through a symlink, created new, or written
// into when it is a device.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.yaml"), filepath.Join(dir, "link.yaml")
	if err := os.WriteFile(real, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Fatal(err)
	}
	if err := filetx.WriteFile(context.Background(), filetx.OS{}, link, []byte("new\n"), nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	if b, _ := os.ReadFile(real); string(b) != "new\n" {
		t.Errorf("target holds %q", b)
	}
	if st, _ := os.Stat(real); st.Mode() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}

	fresh := filepath.Join(dir, "fresh.yaml")
	if err := filetx.WriteFile(context.Background(), filetx.OS{}, fresh, []byte("x\n"), nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(fresh); string(b) != "x\n" {
		t.Errorf("new file holds %q", b)
	}

	broken := filepath.Join(dir, "broken.yaml")
	if err := os.Symlink("missing/file.yaml", broken); err != nil {
		t.Fatal(err)
	}
	if err := filetx.WriteFile(context.Background(), filetx.OS{}, broken, []byte("x\n"), nil); err == nil || !strings.Contains(err.Error(), "symlink to a missing file") {
		t.Errorf("broken link: %v", err)
	}

	if err := filetx.WriteFile(context.Background(), filetx.OS{}, dir, []byte("x\n"), nil); err == nil || !strings.HasSuffix(err.Error(), ": is a directory") {
		t.Errorf("directory: %v", err)
	}

	// a device is written into, never replaced
	if err := filetx.WriteFile(context.Background(), filetx.OS{}, os.DevNull, []byte("x\n"), nil); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&fs.ModeDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st, err)
	}
}

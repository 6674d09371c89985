//go:build unix

package filetx_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx"
)

// TestCommitKeepsOwnerAndMode: as root, owner, group, permissions and the
// setuid, setgid and sticky bits survive the replacement.
func TestCommitKeepsOwnerAndMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	tr := newTree(t)
	modes := map[string]fs.FileMode{
		tr.a: 0o640 | fs.ModeSetgid,
		tr.b: 0o755 | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky,
	}
	for path, mode := range modes {
		if err := os.Chown(path, 1234, 5678); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	for i := range tr.changes { // read after the chown: same inode, same bytes
		tr.changes[i].Read.Info, _ = os.Stat(tr.changes[i].Path)
	}
	if err := filetx.Commit(context.Background(), filetx.OS{}, tr.changes); err != nil {
		t.Fatal(err)
	}
	tr.holds(t, newA, newB)
	for path, mode := range modes {
		st, _ := os.Stat(path)
		sys := st.Sys().(*syscall.Stat_t)
		if sys.Uid != 1234 || sys.Gid != 5678 || st.Mode() != mode {
			t.Errorf("%s: %d:%d %v, want 1234:5678 %v", path, sys.Uid, sys.Gid, st.Mode(), mode)
		}
	}
}

// TestCommitOwnerNotKept: when the owner cannot be kept (the kernel
// refuses the chown, as it does to anyone but root), the commit fails and
// writes nothing.
func TestCommitOwnerNotKept(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another owner needs root")
	}
	tr := newTree(t)
	if err := os.Chown(tr.b, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	tr.changes[1].Read.Info, _ = os.Stat(tr.b)
	err := filetx.Commit(context.Background(), chownRefused{filetx.OS{}}, tr.changes)
	if err == nil || !strings.Contains(err.Error(), "b.yaml: cannot keep its owner 1234:5678") || !nothingWritten(err) {
		t.Fatalf("error %v", err)
	}
	tr.holds(t, oldA, oldB)
}

// chownRefused is an FS whose files refuse Chown, as the kernel does to a
// process that is not root.
type chownRefused struct{ filetx.FS }

func (c chownRefused) OpenFile(name string, flag int, perm fs.FileMode) (filetx.File, error) {
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noChown{f}, nil
}

type noChown struct{ filetx.File }

func (noChown) Chown(int, int) error { return syscall.EPERM }

// TestCommitNewFileUmask: a file that did not exist is created 0666 less
// the umask, as any tool's output.
func TestCommitNewFileUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "out.yaml")
	if err := filetx.Commit(context.Background(), filetx.OS{}, []filetx.Change{{Name: "out.yaml", Path: path, Data: []byte("x\n")}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode())
	}
}

// TestCommitNotRegular: a pipe cannot be replaced.
func TestCommitNotRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe.yaml")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	err := filetx.Commit(context.Background(), filetx.OS{}, []filetx.Change{{Name: "pipe.yaml", Path: path, Data: []byte("x\n")}})
	if err == nil || !strings.Contains(err.Error(), "pipe.yaml: not a regular file") {
		t.Fatalf("error %v", err)
	}
}

// TestCommitDiskFullTmpfs: a real full file system (a 64 KiB tmpfs),
// where root may mount one.
func TestCommitDiskFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	defer syscall.Unmount(dir, 0)
	small, big := filepath.Join(dir, "small.yaml"), filepath.Join(dir, "big.yaml")
	bigData := strings.Repeat("x", 40<<10)
	if err := os.WriteFile(small, []byte("s: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(bigData), 0o644); err != nil {
		t.Fatal(err)
	}
	var changes []filetx.Change
	for _, c := range []struct{ path, data string }{{small, "s: 2\n"}, {big, bigData + "\n"}} {
		st, _ := os.Stat(c.path)
		old, _ := os.ReadFile(c.path)
		changes = append(changes, filetx.Change{Name: filepath.Base(c.path), Path: c.path, Data: []byte(c.data), Read: &filetx.Snapshot{old, st}})
	}
	err := filetx.Commit(context.Background(), filetx.OS{}, changes)
	if err == nil || !strings.Contains(err.Error(), "big.yaml: write") || !strings.Contains(err.Error(), "no space left on device") || !nothingWritten(err) {
		t.Fatalf("error %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
	if b, _ := os.ReadFile(small); string(b) != "s: 1\n" {
		t.Errorf("small.yaml holds %q", b)
	}
}

// TestWriteFileToPipeLink: -o /dev/stdout when stdout is a pipe: the link
// leads to "pipe:[...]", which is no path; the pipe is written into.
func TestWriteFileToPipeLink(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	name := fmt.Sprintf("/proc/self/fd/%d", w.Fd())
	if _, err := os.Stat(name); err != nil {
		t.Skipf("no %s here: %v", name, err)
	}
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	err = filetx.WriteFile(context.Background(), filetx.OS{}, name, []byte("x: 1\n"), nil)
	w.Close()
	if got := <-done; err != nil || got != "x: 1\n" {
		t.Fatalf("error %v, read %q", err, got)
	}
}

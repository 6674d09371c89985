package main

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// mountTmpfs mounts a tmpfs of the given options on dir for the test, or
// skips the test where that is not permitted.
func mountTmpfs(t *testing.T, dir, options string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, options); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// readOnlyDir makes dir unwritable for this process: by its mode, or for
// root (whom modes do not stop) by a read-only tmpfs holding its files.
func readOnlyDir(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	saved := map[string][]byte{}
	for _, f := range files {
		saved[f.Name()] = []byte(testio.ReadFile(t, dir+"/"+f.Name()))
	}
	mountTmpfs(t, dir, "size=1m")
	for name, b := range saved {
		testio.WriteFile(t, dir+"/"+name, string(b))
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=1m"); err != nil {
		t.Skipf("cannot remount read-only: %v", err)
	}
}

func owner(t *testing.T, path string) (uid, gid uint32, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return sys.Uid, sys.Gid, st.Mode()
}

// TestInPlaceKeepsOwnerAndMode: run as root, --in-place and -o keep a
// file's owner, group, permissions and setuid/setgid/sticky bits.
func TestInPlaceKeepsOwnerAndMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	inConfigDir(t, "m/setgid.yaml", "m/all-bits.yaml")
	testio.WriteFile(t, "out.yaml", "old\n")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{
		{"m/setgid.yaml", 0o640 | os.ModeSetgid},
		{"m/all-bits.yaml", 0o750 | os.ModeSetuid | os.ModeSetgid | os.ModeSticky},
		{"out.yaml", 0o600 | os.ModeSetgid},
	} {
		if err := os.Chown(f.path, 1234, 5678); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f.path, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "m", "--in-place"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "m/setgid.yaml", "-o", "out.yaml"); code != 0 {
		t.Fatalf("-o: exit %d: %s", code, stderr)
	}
	want := map[string]os.FileMode{
		"m/setgid.yaml":   0o640 | os.ModeSetgid,
		"m/all-bits.yaml": 0o750 | os.ModeSetuid | os.ModeSetgid | os.ModeSticky,
		"out.yaml":        0o600 | os.ModeSetgid,
	}
	for path, mode := range want {
		if !strings.Contains(testio.ReadFile(t, path), "sidecar-nginx") {
			t.Errorf("%s: not written", path)
		}
		if uid, gid, got := owner(t, path); uid != 1234 || gid != 5678 || got != mode {
			t.Errorf("%s: owner %d:%d mode %v, want 1234:5678 %v", path, uid, gid, got, mode)
		}
	}
}

// TestInPlaceUnwritableDir: one good file and one in a directory where no
// file can be created: no file is written, no temporary file is left, and
// the report says so truthfully.
func TestInPlaceUnwritableDir(t *testing.T) {
	dir := inConfigDir(t, "m/a/first.yaml", "m/b/second.yaml")
	readOnlyDir(t, "m/b")
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "m", "--in-place")
	for _, f := range []string{"m/a/first.yaml", "m/b/second.yaml"} {
		if testio.ReadFile(t, f) != goodDeployment {
			t.Errorf("%s was written", f)
		}
	}
	if code != 1 || !strings.Contains(stderr, "m/b/second.yaml") || !strings.HasSuffix(stderr, "sidecar-injector: nothing written\n") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	noTempFiles(t, dir)
}

// TestInPlaceDiskFull: on a full file system no file is written and no
// temporary file is left.
func TestInPlaceDiskFull(t *testing.T) {
	dir := t.TempDir()
	mountTmpfs(t, dir, "size=64k")
	t.Chdir(dir)
	testio.WriteFile(t, "config.yaml", nginxConfig)
	testio.WriteFile(t, "m/a/small.yaml", goodDeployment)
	// about 36 KiB: the file and its rewritten copy do not fit in 64 KiB
	big := goodDeployment + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + strings.Repeat("x", 36<<10) + "\n"
	testio.WriteFile(t, "m/b/big.yaml", big)
	_, stderr, code := runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "m", "--in-place")
	if code != 1 || !strings.Contains(stderr, "no space left on device") || !strings.HasSuffix(stderr, "sidecar-injector: nothing written\n") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if testio.ReadFile(t, "m/a/small.yaml") != goodDeployment || testio.ReadFile(t, "m/b/big.yaml") != big {
		t.Error("a file was written")
	}
	noTempFiles(t, dir)
}

// endlessFIFO makes a named pipe that a writer fills until the reader
// closes it.
func endlessFIFO(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		chunk := bytes.Repeat([]byte("# comment\n"), 6554)
		for {
			if _, err := f.Write(chunk); err != nil {
				return // EPIPE once the reader gave up
			}
		}
	}()
}

// TestInputLimitUnboundedSources: /dev/zero, an endless named pipe and an
// endless stdin stop at the limit with an error naming the input, and the
// memory used stays near the limit.
func TestInputLimitUnboundedSources(t *testing.T) {
	inConfigDir(t)
	endlessFIFO(t, "endless.yaml")
	for _, c := range []struct {
		args  []string
		stdin io.Reader
		name  string
	}{
		{[]string{"-f", "/dev/zero"}, nil, "/dev/zero"},
		{[]string{"-f", "endless.yaml"}, nil, "endless.yaml"},
		{[]string{"-f", "-"}, zeros{}, "stdin"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var out, errw bytes.Buffer
		code := run(append([]string{"inject", "-c", "config.yaml", "--max-input-mb", "2"}, c.args...), c.stdin, &out, &errw)
		runtime.ReadMemStats(&after)
		if code != 1 || out.Len() != 0 || !strings.Contains(errw.String(), c.name+": inputs exceed 2 MiB") {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errw.String())
		}
		// the buffer doubles up to the limit, so all it ever allocated is
		// about twice the limit (4 MiB measured, 5.6 with -race); unbounded
		// before
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 10<<20 {
			t.Errorf("%v: allocated %d MiB for a 2 MiB limit", c.args, alloc>>20)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestFIFOInputs: a named pipe given with -f is read as a stream (process
// substitution, `-f <(helm template ...)`); one met in a directory walk is
// an error rather than a hang; --in-place refuses what it cannot replace.
func TestFIFOInputs(t *testing.T) {
	inConfigDir(t)
	if err := syscall.Mkfifo("pipe.yaml", 0o644); err != nil {
		t.Fatal(err)
	}
	go func() {
		if f, err := os.OpenFile("pipe.yaml", os.O_WRONLY, 0); err == nil {
			f.WriteString(goodDeployment)
			f.Close()
		}
	}()
	stdout, stderr, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "pipe.yaml")
	if code != 0 || stdout != injected(t) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if err := os.MkdirAll("m", 0o755); err != nil {
		t.Fatal(err)
	}
	testio.WriteFile(t, "m/a.yaml", goodDeployment)
	if err := syscall.Mkfifo("m/b.yaml", 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "m")
	if code != 1 || !strings.Contains(stderr, "m/b.yaml: not a regular file (a named pipe)") {
		t.Errorf("FIFO in a directory: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "inject", "-c", "config.yaml", "-f", "/dev/zero", "--in-place")
	if code != 2 || !strings.Contains(stderr, "/dev/zero is not a regular file") {
		t.Errorf("--in-place /dev/zero: exit %d, stderr %q", code, stderr)
	}
}

// TestOutputToFIFO: -o onto something that is not a regular file (a pipe,
// /dev/stdout) writes into it rather than replacing it.
func TestOutputToFIFO(t *testing.T) {
	inConfigDir(t, "web.yaml")
	if err := syscall.Mkfifo("out.pipe", 0o644); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open("out.pipe")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	_, stderr, code := runCLI(t, nil, "inject", "-q", "-c", "config.yaml", "-f", "web.yaml", "-o", "out.pipe")
	if st, err := os.Lstat("out.pipe"); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		// unblock the reader before failing
		if f, err := os.OpenFile("out.pipe", os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		t.Fatalf("the pipe was replaced (exit %d: %s)", code, stderr)
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if s := <-got; s != injected(t) {
		t.Errorf("read from the pipe:\n%s", s)
	}
}

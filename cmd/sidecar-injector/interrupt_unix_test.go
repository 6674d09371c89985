//go:build unix

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx/filetxtest"
	"github.com/sidecar-injector/sidecar-injector/internal/testio"
)

// pauseEnv makes the test binary a helper process: the CLI, run with the
// arguments it was given, pauses before the file operation named by the
// variable ("OP NAME-PART"), says so on fd 3, and goes on when a line
// arrives on fd 4. Only this test binary knows it; the CLI has no such hook.
const pauseEnv = "SIDECAR_INJECTOR_TEST_PAUSE"

func TestMain(m *testing.M) {
	if at := os.Getenv(pauseEnv); at != "" {
		op, part, _ := strings.Cut(at, " ")
		paused, resume := os.NewFile(3, "paused"), bufio.NewReader(os.NewFile(4, "resume"))
		once := false
		writeFS = &filetxtest.FaultFS{Before: func(o, name string) error {
			if !once && o == op && strings.Contains(name, part) {
				once = true
				fmt.Fprintln(paused, "paused")
				resume.ReadString('\n')
			}
			return nil
		}}
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// helper is a CLI process paused at a file operation.
type helper struct {
	cmd    *exec.Cmd
	stderr *bufio.Scanner
	resume *os.File
	lines  []string
}

func startPaused(t *testing.T, at string, args ...string) *helper {
	t.Helper()
	pausedR, pausedW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	resumeR, resumeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), pauseEnv+"="+at)
	cmd.ExtraFiles = []*os.File{pausedW, resumeR}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pausedW.Close()
	resumeR.Close()
	h := &helper{cmd: cmd, stderr: bufio.NewScanner(stderr), resume: resumeW}
	t.Cleanup(func() {
		resumeW.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(pausedR).ReadString('\n'); line != "paused\n" {
		h.finish(t)
		t.Fatalf("the helper did not pause (%v):\n%s", err, strings.Join(h.lines, "\n"))
	}
	return h
}

// waitFor reads stderr up to a line containing s.
func (h *helper) waitFor(t *testing.T, s string) {
	t.Helper()
	for h.stderr.Scan() {
		h.lines = append(h.lines, h.stderr.Text())
		if strings.Contains(h.stderr.Text(), s) {
			return
		}
	}
	t.Fatalf("stderr ended without %q:\n%s", s, strings.Join(h.lines, "\n"))
}

// finish lets the helper go on, and returns its exit code and stderr.
func (h *helper) finish(t *testing.T) (int, string) {
	t.Helper()
	fmt.Fprintln(h.resume, "go")
	for h.stderr.Scan() {
		h.lines = append(h.lines, h.stderr.Text())
	}
	err := h.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return h.cmd.ProcessState.ExitCode(), strings.Join(h.lines, "\n") + "\n"
}

func twoFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testio.WriteFile(t, filepath.Join(dir, "config.yaml"), nginxConfig)
	testio.WriteFile(t, filepath.Join(dir, "m/a.yaml"), goodDeployment)
	testio.WriteFile(t, filepath.Join(dir, "m/b.yaml"), goodDeployment)
	return dir
}

// TestSignalBeforeRenames: SIGTERM (or SIGINT) once every temporary file
// is written but before any rename: the temporary files are removed,
// nothing is written, and the exit code is 1.
func TestSignalBeforeRenames(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := twoFiles(t)
			h := startPaused(t, "close .b.yaml.tmp-", "inject", "-c", dir+"/config.yaml", "-f", dir+"/m", "--in-place")
			if err := h.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			h.waitFor(t, "stopping at a safe point") // the signal is seen: now let it go on
			code, stderr := h.finish(t)
			if code != 1 || !strings.Contains(stderr, "error: interrupted") || !strings.HasSuffix(stderr, "sidecar-injector: nothing written\n") {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			for _, f := range []string{"m/a.yaml", "m/b.yaml"} {
				if testio.ReadFile(t, filepath.Join(dir, f)) != goodDeployment {
					t.Errorf("%s was written", f)
				}
			}
			noTempFiles(t, dir)
		})
	}
}

// TestSignalDuringRenames: a signal once the renames have begun lets them
// finish; the exit code is 1 and the message says every file was written.
func TestSignalDuringRenames(t *testing.T) {
	dir := twoFiles(t)
	h := startPaused(t, "rename m/a.yaml", "inject", "-c", dir+"/config.yaml", "-f", dir+"/m", "--in-place")
	if err := h.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "stopping at a safe point")
	code, stderr := h.finish(t)
	want := fmt.Sprintf("sidecar-injector: written: %[1]s/m/a.yaml, %[1]s/m/b.yaml\n", dir)
	if code != 1 || !strings.Contains(stderr, "during the renames, which were finished") || !strings.HasSuffix(stderr, want) {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, f := range []string{"m/a.yaml", "m/b.yaml"} {
		if testio.ReadFile(t, filepath.Join(dir, f)) != injected(t) {
			t.Errorf("%s was not written", f)
		}
	}
	noTempFiles(t, dir)
}

// TestEditedWhilePaused: a file the user saves while the run is between
// reading and renaming keeps the user's edit; nothing is written.
func TestEditedWhilePaused(t *testing.T) {
	dir := twoFiles(t)
	h := startPaused(t, "close .b.yaml.tmp-", "inject", "-c", dir+"/config.yaml", "-f", dir+"/m", "--in-place")
	edited := strings.Replace(goodDeployment, "web:1", "web:2", 1) // same size
	testio.WriteFile(t, filepath.Join(dir, "m/a.yaml"), edited)
	code, stderr := h.finish(t)
	if code != 1 || !strings.Contains(stderr, "m/a.yaml: changed since it was read") || !strings.HasSuffix(stderr, "sidecar-injector: nothing written\n") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if testio.ReadFile(t, filepath.Join(dir, "m/a.yaml")) != edited || testio.ReadFile(t, filepath.Join(dir, "m/b.yaml")) != goodDeployment {
		t.Error("a file was overwritten")
	}
	noTempFiles(t, dir)
}

// Package testio holds the small I/O helpers that the tests of several
// packages share: files written and read that fail the test on an error,
// a buffer that several goroutines may write (a server's log, read by the
// test while the server runs), and a directory laid out as the kubelet
// mounts a ConfigMap (MountedDir).
package testio

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// WriteFile writes content to path, making its directory first, and fails
// the test on an error.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadFile returns the content of path, and fails the test on an error.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Buffer is a bytes.Buffer that several goroutines may use at once.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

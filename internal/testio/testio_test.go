package testio

import (
	"path/filepath"
	"sync"
	"testing"
)

func TestWriteFileMakesItsDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "c.yaml")
	WriteFile(t, path, "x: 1\n")
	if got := ReadFile(t, path); got != "x: 1\n" {
		t.Errorf("read back %q", got)
	}
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Errorf("%d bytes, want 800", n)
	}
}

func TestMountedDirSwapsData(t *testing.T) {
	m := NewMountedDir(t, map[string][]byte{"a": []byte("1")})
	if got := ReadFile(t, m.Path("a")); got != "1" {
		t.Fatalf("read %q", got)
	}
	m.Update(map[string][]byte{"a": []byte("2")})
	if got := ReadFile(t, m.Path("a")); got != "2" {
		t.Errorf("after Update, read %q", got)
	}
}

package testio

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// MountedDir lays out files the way the kubelet mounts a ConfigMap or
// Secret: real files in a timestamped directory, a `..data` symlink to it,
// and a symlink per key through `..data`. Update swaps `..data` atomically,
// as the kubelet does when the ConfigMap changes.
type MountedDir struct {
	Dir string
	t   testing.TB
	gen int
}

// NewMountedDir mounts files in a new temporary directory.
func NewMountedDir(t testing.TB, files map[string][]byte) *MountedDir {
	t.Helper()
	m := &MountedDir{t: t, Dir: t.TempDir()}
	m.Update(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(m.Dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Path is the path of the key name, as a program reading the mount sees it.
func (m *MountedDir) Path(name string) string { return filepath.Join(m.Dir, name) }

// Update writes files into a new timestamped directory and swaps `..data`
// to it. The keys are those the mount was made with.
func (m *MountedDir) Update(files map[string][]byte) {
	m.t.Helper()
	m.gen++
	ts := fmt.Sprintf("..2026_11_22_00_00_%02d.%d", m.gen, m.gen)
	if err := os.Mkdir(filepath.Join(m.Dir, ts), 0o755); err != nil {
		m.t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(m.Dir, ts, name), data, 0o644); err != nil {
			m.t.Fatal(err)
		}
	}
	tmp := filepath.Join(m.Dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		m.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(m.Dir, "..data")); err != nil {
		m.t.Fatal(err)
	}
}

// Package filetxtest holds a file system that injects faults, for the
// tests of filetx and of its users.
package filetxtest

import (
	"io/fs"
	"os"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx"
)

// FaultFS is the OS file system with a hook before every operation: the
// hook can fail it (a full disk, a refused rename) or act at that moment
// (edit a target, cancel the context).
type FaultFS struct {
	filetx.OS
	// Before runs before each operation: "stat", "open", "create" (a new
	// file), "rename" (named by its target), "remove", and on an open file
	// "write", "sync", "close". An error it returns is the operation's.
	Before func(op, name string) error
}

func (f *FaultFS) hook(op, name string) error {
	if f.Before == nil {
		return nil
	}
	return f.Before(op, name)
}

func (f *FaultFS) Stat(name string) (fs.FileInfo, error) {
	if err := f.hook("stat", name); err != nil {
		return nil, err
	}
	return f.OS.Stat(name)
}

func (f *FaultFS) OpenFile(name string, flag int, perm fs.FileMode) (filetx.File, error) {
	op := "open"
	if flag&os.O_CREATE != 0 {
		op = "create"
	}
	if err := f.hook(op, name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	file, err := f.OS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{file, f}, nil
}

func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.hook("rename", newpath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return f.OS.Rename(oldpath, newpath)
}

func (f *FaultFS) Remove(name string) error {
	if err := f.hook("remove", name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return f.OS.Remove(name)
}

type faultFile struct {
	filetx.File
	fs *FaultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.hook("write", f.Name()); err != nil {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: err}
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if err := f.fs.hook("sync", f.Name()); err != nil {
		return &fs.PathError{Op: "sync", Path: f.Name(), Err: err}
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	if err := f.fs.hook("close", f.Name()); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

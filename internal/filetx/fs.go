package filetx

import (
	"io"
	"io/fs"
	"os"
)

// FS is the file system a transaction works on: OS in production, one that
// injects faults (a full disk, a failing rename) in tests.
type FS interface {
	Stat(name string) (fs.FileInfo, error)
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
}

// File is an open file of an FS.
type File interface {
	io.ReadWriteCloser
	Name() string
	Stat() (fs.FileInfo, error)
	Chown(uid, gid int) error
	Chmod(mode fs.FileMode) error
	Sync() error
}

// OS is the operating system's file system.
type OS struct{}

func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (OS) Rename(oldpath, newpath string) error  { return os.Rename(oldpath, newpath) }
func (OS) Remove(name string) error              { return os.Remove(name) }

func (OS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil File
	}
	return f, nil
}

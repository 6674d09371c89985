// Package inputs finds and reads the files given to the CLI: directories
// are walked, symlinks are followed only to targets inside the paths given,
// each file is taken once however it is named, and every byte read counts
// against one limit for the whole run.
package inputs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Stdin is the argument that names standard input.
const Stdin = "-"

// Input is one file to read.
type Input struct {
	// Name is how messages name it: the argument, joined with the path
	// below it for a file found in a directory; "stdin" for standard input.
	Name string
	// Path is the file to open and, with --in-place, to replace: absolute,
	// with every symlink resolved. Empty for standard input.
	Path string
	// Regular is false for standard input, pipes and devices: they are
	// read as streams, and cannot be replaced.
	Regular bool
}

// Find expands the arguments into inputs, in order. A directory gives its
// files whose names end in one of exts, recursively and in lexical order,
// skipping hidden entries (.git). A file is taken once however often it is
// reached (named twice, by two paths or hard links, or as a directory and a
// file in it), under the name it was first reached by.
//
// Symlinks: a symlink given as an argument is followed, to a file or a
// directory. In a walk, a symlink to a file or directory is followed when
// its target is inside one of the arguments (resolved); one that points
// anywhere else is an error naming both paths, so that a link in a tree
// can never make the CLI read, or rewrite, a file the user did not name. A
// directory is walked once, which ends any cycle of links.
func Find(args []string, exts []string) ([]Input, error) {
	f := &finder{exts: exts}
	// all roots first: a link in one tree may point into another
	for _, a := range args {
		if a == Stdin {
			continue
		}
		real, err := resolve(a)
		if err != nil {
			return nil, err
		}
		f.roots = append(f.roots, real)
	}
	for _, a := range args {
		if a == Stdin {
			if !f.stdin {
				f.stdin = true
				f.out = append(f.out, Input{Name: "stdin"})
			}
			continue
		}
		real, err := resolve(a)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(real)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		if st.IsDir() {
			err = f.walk(a, real, st)
		} else {
			f.add(a, real, st)
		}
		if err != nil {
			return nil, err
		}
	}
	return f.out, nil
}

type finder struct {
	exts  []string
	roots []string // the arguments, resolved
	out   []Input
	stdin bool
	files seen
	dirs  seen
}

func (f *finder) add(name, real string, st fs.FileInfo) {
	if f.files.add(st) {
		f.out = append(f.out, Input{Name: name, Path: real, Regular: st.Mode().IsRegular()})
	}
}

func (f *finder) walk(name, real string, st fs.FileInfo) error {
	if !f.dirs.add(st) {
		return nil // walked already: reached by a link, or given twice
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		childName, childReal := filepath.Join(name, e.Name()), filepath.Join(real, e.Name())
		st, err := e.Info()
		if err != nil {
			return fmt.Errorf("%s: %w", childName, err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(childReal)
			if err == nil {
				st, err = os.Stat(target)
			}
			switch {
			case err != nil && f.wanted(e.Name()):
				return fmt.Errorf("%s: %w", childName, err)
			case err != nil, !st.IsDir() && !f.wanted(e.Name()):
				continue // a broken link or a link to a file that is no manifest
			case !f.inRoots(target):
				return fmt.Errorf("%s: symlink to %s, outside the paths given with -f; give that path too, or remove the link", childName, target)
			}
			childReal = target
		}
		switch {
		case st.IsDir():
			if err := f.walk(childName, childReal, st); err != nil {
				return err
			}
		case !f.wanted(e.Name()):
		case st.Mode().IsRegular():
			f.add(childName, childReal, st)
		default:
			// reading a pipe or a device found in a tree could block or
			// never end; named with -f it is read as a stream
			return fmt.Errorf("%s: not a regular file (%s); name it with -f to read it", childName, kind(st.Mode()))
		}
	}
	return nil
}

func (f *finder) wanted(name string) bool {
	return slices.Contains(f.exts, filepath.Ext(name))
}

func (f *finder) inRoots(path string) bool {
	for _, r := range f.roots {
		if path == r || strings.HasPrefix(path, strings.TrimSuffix(r, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// kind names what a file that is not regular is.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// resolve returns the absolute path of arg with every symlink resolved.
func resolve(arg string) (string, error) {
	real, err := filepath.EvalSymlinks(arg)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%s: %w", arg, err)
	}
	return filepath.Abs(real)
}

// seen is a set of files by identity (device and inode where the system
// has them), bucketed by size and time so that os.SameFile, the portable
// comparison, runs on few candidates.
type seen map[seenKey][]fs.FileInfo

type seenKey struct {
	size    int64
	modTime int64
}

// add reports whether st was not in the set, and adds it.
func (s *seen) add(st fs.FileInfo) bool {
	if *s == nil {
		*s = seen{}
	}
	k := seenKey{st.Size(), st.ModTime().UnixNano()}
	for _, o := range (*s)[k] {
		if os.SameFile(o, st) {
			return false
		}
	}
	(*s)[k] = append((*s)[k], st)
	return true
}

// Budget is what a run may still read, in bytes, over all its inputs.
type Budget struct {
	limitMB int
	left    int64
}

// NewBudget returns a budget of limitMB MiB.
func NewBudget(limitMB int) *Budget {
	return &Budget{limitMB: limitMB, left: int64(limitMB) << 20}
}

// LimitError is an input that took the run past its budget.
type LimitError struct {
	Name    string
	LimitMB int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: inputs exceed %d MiB in total; raise --max-input-mb if this is intended", e.Name, e.LimitMB)
}

// ReadFile reads the file at path within the budget. It returns the file's
// identity as opened (from the open file, not the path), which a later
// write compares with to see whether the file changed meanwhile.
func (b *Budget) ReadFile(name, path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	var hint int64
	if st.Mode().IsRegular() {
		hint = st.Size()
	}
	data, err := b.Read(name, f, hint)
	return data, st, err
}

// Read reads r to its end within the budget, or fails with a LimitError as
// soon as it would go past it: it reads at most one byte more than the
// budget, whatever r is (a pipe, /dev/zero). The buffer doubles, so while
// it grows it holds at most about twice the budget (once, for a regular
// file whose size is right). sizeHint, the size a file reports, only sizes
// the first buffer: a file can grow, and a device reports 0.
func (b *Budget) Read(name string, r io.Reader, sizeHint int64) ([]byte, error) {
	limit := b.left + 1 // one byte more tells "over" from "exactly at" the limit
	size := int64(64 << 10)
	if sizeHint > 0 {
		size = sizeHint + 1 // + 1 to see the end without growing
	}
	buf := make([]byte, 0, min(size, limit))
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(int64(cap(buf)), limit-int64(len(buf)))))
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), limit)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > b.left {
			return nil, &LimitError{Name: name, LimitMB: b.limitMB}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	b.left -= int64(len(buf))
	return buf, nil
}

// Package filetx replaces a set of files as one transaction: either every
// file gets its new content or none does, and each keeps its identity.
//
// Commit runs in phases, and only the last one touches the targets:
//
//  1. plan: every target is checked (a regular file with one link, or a
//     new file);
//  2. stage: each new content goes to a temporary file next to its target
//     (same directory, so the rename is atomic), with the target's owner,
//     group, mode and special bits, and is synced to disk;
//  3. re-check: every target still holds what was read from it (same file,
//     same bytes), so an edit made meanwhile is never lost;
//  4. rename: the temporary files replace their targets, then each
//     directory is synced so that the renames survive a crash.
//
// A failure or an interrupt (ctx done) in phases 1-3 removes every
// temporary file and leaves the targets as they were. Once the renames have
// begun they are finished, even if ctx is done meanwhile; an error after
// that point is an *IncompleteError that says which files were written.
//
// Hard links: a target with more than one link is refused (an error, and
// nothing written). Replacing it by a rename would split the link (its
// other names keeping the old content), and writing through the inode
// instead cannot be atomic: a crash or a full disk midway would leave a
// truncated file under every name.
//
// What is not kept: ACLs and extended attributes (SELinux labels) are not
// copied; the file's inode number changes, as with any editor's save.
//
// A process killed by SIGKILL (or a power loss) during phase 2 or 3 leaves
// its hidden temporary files (.NAME.tmp-*) behind; nothing can remove them.
package filetx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Change is one file to write.
type Change struct {
	Name string // how messages name the file
	Path string // the file to replace, with symlinks resolved (the link stays a link)
	Data []byte
	// Read is what the file held when it was read; nil for a file that was
	// not read (an output file). The commit fails if the file changed since.
	Read *Snapshot
}

// Snapshot is a file as it was read.
type Snapshot struct {
	Data []byte
	Info fs.FileInfo // from the open file it was read from
}

// IncompleteError reports a commit that failed after its renames began:
// the files in Written have their new content, those in NotWritten their
// old one.
type IncompleteError struct {
	Written, NotWritten []string
	Err                 error
}

func (e *IncompleteError) Error() string { return e.Err.Error() }
func (e *IncompleteError) Unwrap() error { return e.Err }

// Describe is a one-line account of what an IncompleteError wrote.
func (e *IncompleteError) Describe() string {
	s := "written: " + strings.Join(e.Written, ", ")
	if len(e.NotWritten) > 0 {
		s += "; not written: " + strings.Join(e.NotWritten, ", ")
	}
	return s
}

// staged is a change on its way: its target's state and its temporary file.
type staged struct {
	Change
	exists bool
	mode   fs.FileMode // permissions and special bits to give the new file
	owner  owner
	tmp    string // the temporary file, once created
}

// Commit writes every change, or none. See the package comment.
func Commit(ctx context.Context, fsys FS, changes []Change) error {
	plan := make([]*staged, 0, len(changes))
	for _, c := range changes {
		s, err := planOne(fsys, c)
		if err != nil {
			return err
		}
		plan = append(plan, s)
	}
	if err := stageAll(ctx, fsys, plan); err != nil {
		return errors.Join(err, cleanup(fsys, plan))
	}
	return renameAll(ctx, fsys, plan)
}

func planOne(fsys FS, c Change) (*staged, error) {
	s := &staged{Change: c}
	st, err := fsys.Stat(c.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && c.Read == nil:
		return s, nil // a new file
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: removed since it was read", c.Name)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	case st.IsDir():
		return nil, fmt.Errorf("%s: is a directory", c.Name)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file: cannot be replaced", c.Name)
	}
	s.exists = true
	s.mode = st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	s.owner = ownerOf(st)
	if s.owner.links > 1 {
		return nil, fmt.Errorf("%s: has %d hard links; rewriting it would split them (the other names keeping the old content), so it is refused: write the result with -o, or break the link", c.Name, s.owner.links)
	}
	return s, nil
}

func stageAll(ctx context.Context, fsys FS, plan []*staged) error {
	for _, s := range plan {
		if err := interrupted(ctx); err != nil {
			return err
		}
		if err := stage(fsys, s); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	for _, s := range plan {
		if err := unchanged(fsys, s.Change); err != nil {
			return err
		}
	}
	return interrupted(ctx)
}

func interrupted(ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%v)", context.Cause(ctx))
	}
	return nil
}

// stage writes s.Data to a new temporary file next to s.Path, made to look
// like the target, and synced.
func stage(fsys FS, s *staged) error {
	// a new file gets 0666 less the umask, as any created file; an existing
	// one's copy is private until it has the target's owner and mode
	perm := fs.FileMode(0o666)
	if s.exists {
		perm = 0o600
	}
	f, err := createTemp(fsys, s.Path, perm)
	if err != nil {
		return err
	}
	s.tmp = f.Name()
	err = write(f, s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func write(f File, s *staged) error {
	if _, err := f.Write(s.Data); err != nil {
		return err
	}
	if s.exists {
		// owner first: changing it clears setuid and setgid
		if err := s.owner.apply(f); err != nil {
			return err
		}
		if err := f.Chmod(s.mode); err != nil {
			return err
		}
		// chmod drops setgid silently for a group the process is not in
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if got := st.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != s.mode {
			return fmt.Errorf("cannot keep its mode %v (got %v)", s.mode, got)
		}
	}
	return f.Sync()
}

// createTemp creates a hidden file next to path, with a name no one uses.
func createTemp(fsys FS, path string, perm fs.FileMode) (File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("cannot create a temporary file in %s", dir)
}

// unchanged fails if the file was edited, replaced or removed since it was
// read. It compares the bytes, not only the size and time, which a quick
// edit can leave as they were.
func unchanged(fsys FS, c Change) error {
	if c.Read == nil {
		return nil
	}
	changed := fmt.Errorf("%s: changed since it was read (edited meanwhile?); run again", c.Name)
	st, err := fsys.Stat(c.Path)
	if err != nil || !os.SameFile(st, c.Read.Info) || st.Size() != int64(len(c.Read.Data)) {
		return changed
	}
	f, err := fsys.OpenFile(c.Path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	defer f.Close()
	now, err := io.ReadAll(io.LimitReader(f, int64(len(c.Read.Data))+1))
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	if !bytes.Equal(now, c.Read.Data) {
		return changed
	}
	return nil
}

// renameAll puts every staged file in place. It does not stop for ctx:
// stopping midway would leave a mix of old and new files.
func renameAll(ctx context.Context, fsys FS, plan []*staged) error {
	names := make([]string, len(plan))
	for i, s := range plan {
		names[i] = s.Name
	}
	for i, s := range plan {
		if err := fsys.Rename(s.tmp, s.Path); err != nil {
			err = fmt.Errorf("%s: %w", s.Name, err)
			return &IncompleteError{Written: names[:i], NotWritten: names[i:], Err: errors.Join(err, cleanup(fsys, plan[i:]))}
		}
		s.tmp = ""
	}
	var errs []error
	synced := map[string]bool{}
	for _, s := range plan {
		if dir := filepath.Dir(s.Path); !synced[dir] {
			synced[dir] = true
			if err := syncDir(fsys, dir); err != nil {
				errs = append(errs, fmt.Errorf("%s: written, but syncing its directory failed: %w", s.Name, err))
			}
		}
	}
	if err := interrupted(ctx); err != nil {
		errs = append(errs, fmt.Errorf("%w during the renames, which were finished", err))
	}
	if len(errs) > 0 {
		return &IncompleteError{Written: names, Err: errors.Join(errs...)}
	}
	return nil
}

func syncDir(fsys FS, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// cleanup removes the temporary files of plan. A file it cannot remove is
// an error naming it: the user must not be told nothing is left.
func cleanup(fsys FS, plan []*staged) error {
	var errs []error
	for _, s := range plan {
		if s.tmp == "" {
			continue
		}
		if err := fsys.Remove(s.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("temporary file left behind: %w", err))
		}
		s.tmp = ""
	}
	return errors.Join(errs...)
}

// WriteFile writes data to the file at name as a transaction of one (see
// Commit), following a symlink to its target. A path that exists and is not
// a regular file (a pipe, a terminal, /dev/stdout) is written into instead:
// it cannot be replaced, and there is nothing to keep.
func WriteFile(ctx context.Context, fsys FS, name string, data []byte, read *Snapshot) error {
	// Stat before resolving: /dev/stdout's link leads to "pipe:[...]"
	if st, err := fsys.Stat(name); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		f, err := fsys.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	path, err := filepath.EvalSymlinks(name)
	if errors.Is(err, fs.ErrNotExist) {
		if st, lerr := os.Lstat(name); lerr == nil && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: a symlink to a missing file", name)
		}
		path, err = name, nil // a new file
	}
	if err != nil {
		return err
	}
	return Commit(ctx, fsys, []Change{{Name: name, Path: path, Data: data, Read: read}})
}

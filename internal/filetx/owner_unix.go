//go:build unix

package filetx

import (
	"fmt"
	"io/fs"
	"syscall"
)

// owner is what a replacement must copy from the file it replaces, besides
// the mode, and the link count that decides whether it may.
type owner struct {
	uid, gid int
	links    uint64
	known    bool
}

func ownerOf(st fs.FileInfo) owner {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{links: 1}
	}
	return owner{uid: int(sys.Uid), gid: int(sys.Gid), links: uint64(sys.Nlink), known: true}
}

// apply gives f the owner and group, if they differ from what it was
// created with (a process may not chown at all, but may keep its own).
func (o owner) apply(f File) error {
	if !o.known {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if now := ownerOf(st); now.uid == o.uid && now.gid == o.gid {
		return nil
	}
	if err := f.Chown(o.uid, o.gid); err != nil {
		return fmt.Errorf("cannot keep its owner %d:%d: %w", o.uid, o.gid, err)
	}
	return nil
}

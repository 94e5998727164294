// Package atomicfile is the one way Keyrite writes a file: the data goes to a temporary file
// in the same folder, which is fsynced, then put in place with one rename (or one hard link,
// when an existing file must never be replaced), and the folder is fsynced. A reader therefore
// sees either no file or the whole file, never a torn one, whatever kills the process or
// fills the disk; a failed write removes its temporary file.
//
// A kill can still leave a temporary file behind (its name starts with "." and holds
// TempMarker); RemoveStale removes them, and they are never evidence.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// TempMarker is part of the name of every temporary file this package makes.
const TempMarker = ".keyrite-tmp-"

// ErrExist is returned by Create when the file already exists.
var ErrExist = fs.ErrExist

// WriteFile writes data to path atomically, replacing a file already there. It is for
// derived files (a report, a bundle) that can always be made again.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, true, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// Create writes data to a new file at path atomically; it never replaces an existing file
// (the error then wraps ErrExist). It is for recorded outputs, which are never overwritten.
func Create(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, false, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// Write has fill write the file's contents and puts the file at path atomically: replacing a
// file already there if replace is true, refusing with ErrExist otherwise.
func Write(path string, perm os.FileMode, replace bool, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("write %s: %w", path, ErrExist)
		}
	}
	f, err := os.CreateTemp(dir, "."+base+TempMarker+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = link(tmp, path)
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}

// link puts tmp at path without ever replacing a file there: a hard link, which fails if path
// exists, then the temporary name is removed. Where the file system has no hard links (FAT
// media), it falls back to a rename after checking that path does not exist.
func link(tmp, path string) error {
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return ErrExist
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EMLINK):
		if _, serr := os.Lstat(path); serr == nil {
			return ErrExist
		}
		return os.Rename(tmp, path)
	}
	return err
}

// SyncDir fsyncs a folder, so the names created, renamed or removed in it are on disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether a file name is one of this package's temporary files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, TempMarker)
}

// RemoveStale removes the temporary files a killed process left in dir and returns their
// names. They never held anything but a copy of data not yet put in place.
func RemoveStale(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsTemp(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return removed, err
			}
			removed = append(removed, e.Name())
		}
	}
	if len(removed) > 0 {
		return removed, SyncDir(dir)
	}
	return nil, nil
}

// IsNoSpace reports whether err says the disk (or a quota) is full.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// IsReadOnly reports whether err says the media is read-only.
func IsReadOnly(err error) bool { return errors.Is(err, syscall.EROFS) }

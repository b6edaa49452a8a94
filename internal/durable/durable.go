// Package durable writes files so that a crash leaves either the old or the
// new content, and creates directories that survive a power loss: the
// primitives behind the stamp issuer's state, the spool and the lease table.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TempSuffix marks a file being written; a crash can leave one behind, and
// it never holds anything acknowledged.
const TempSuffix = ".tmp"

// ErrLocked: another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// WriteFile replaces path with data: temp file, fsync, rename, fsync of the
// directory. The rename is the commit point.
func WriteFile(path string, data []byte) error {
	tmp := path + TempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Sync(); err != nil {
		return errors.Join(err, f.Close())
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// MkdirAll creates path and any missing parents, fsyncing each new
// directory's parent: a directory created and then lost in a power cut
// would read as "never used", which for a stamp issuer means reissuing.
func MkdirAll(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s is not a directory", path)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if parent := filepath.Dir(path); parent != path {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

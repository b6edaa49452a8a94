//go:build !(linux || darwin || freebsd)

package spool

import (
	"errors"
	"fmt"
)

// statfs is not available here: the spool keeps no reserve and relies on
// the file system's ENOSPC alone.
func statfs(path string) (avail, total int64, err error) {
	return 0, 0, fmt.Errorf("statfs %s: %w", path, errors.ErrUnsupported)
}

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spool

import (
	"errors"
	"fmt"
	"os"
)

// lockDir refuses to run where flock is unavailable: two writers in one
// directory would hand out the same job IDs.
func lockDir(f *os.File) error {
	return fmt.Errorf("lock %s: %w", f.Name(), errors.ErrUnsupported)
}

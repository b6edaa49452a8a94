//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package postage

import (
	"errors"
	"fmt"
	"os"
)

// lockDir refuses to run where flock is unavailable: without the lock two
// processes could issue the same indices.
func lockDir(f *os.File) error {
	return fmt.Errorf("lock %s: %w", f.Name(), errors.ErrUnsupported)
}

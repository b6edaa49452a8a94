//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package durable

import (
	"errors"
	"fmt"
	"os"
)

// Lock refuses to run where flock is unavailable: two processes sharing
// durable state would corrupt it.
func Lock(f *os.File) error {
	return fmt.Errorf("lock %s: %w", f.Name(), errors.ErrUnsupported)
}

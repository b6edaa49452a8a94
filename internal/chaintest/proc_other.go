//go:build !linux

package chaintest

import "syscall"

// sysProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// Net.Close is the only cleanup.
func sysProcAttr() *syscall.SysProcAttr { return nil }

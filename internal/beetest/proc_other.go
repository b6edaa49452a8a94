//go:build !linux

package beetest

import "syscall"

// ChildProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// the test's own cleanup is the only one.
func ChildProcAttr() *syscall.SysProcAttr { return nil }

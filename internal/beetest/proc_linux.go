package beetest

import "syscall"

// ChildProcAttr makes the kernel kill a child when the test binary dies (a
// `go test -timeout` panic, a SIGKILL), so no geth or bee is left holding
// ports and CPU after a crashed run.
func ChildProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

package hooks

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// threadCPU reads the calling thread's id and CPU clock. Raw system
// calls: each answers in well under a microsecond, and a call through the
// scheduler could lose the goroutine's P on a busy machine and wait
// milliseconds to get one back, which is what it measures.
func threadCPU() (tid uintptr, cpu time.Duration, ok bool) {
	tid, _, _ = syscall.RawSyscall(unix.SYS_GETTID, 0, 0, 0)
	var ts unix.Timespec
	_, _, errno := syscall.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_THREAD_CPUTIME_ID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0, 0, false
	}
	return tid, time.Duration(ts.Nano()), true
}

package realnode

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Renice sets the scheduling niceness of every thread of process pid, as
// an operator's `nice -n` or systemd's Nice= would from its start: Linux
// keeps a niceness per thread, and threads started later inherit their
// creator's.
func Renice(pid, niceness int) error {
	return EachThread(pid, func(tid int) error {
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, niceness); err != nil {
			return fmt.Errorf("renice %d thread %d: %w", pid, tid, err)
		}
		return nil
	})
}

// EachThread calls fn with the id of each thread process pid has now,
// stopping at the first error. Scheduling settings (niceness, CPU
// affinity) are per thread on Linux.
func EachThread(pid int, fn func(tid int) error) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return fmt.Errorf("threads of %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := fn(tid); err != nil {
			return err
		}
	}
	return nil
}

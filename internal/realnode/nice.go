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
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return fmt.Errorf("renice %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, niceness); err != nil {
			return fmt.Errorf("renice %d thread %d: %w", pid, tid, err)
		}
	}
	return nil
}

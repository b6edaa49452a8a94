package integration_test

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/lpswarm/archiver/internal/realnode"
)

// perfPin pins the given processes to the last CPU and this test process
// (every thread it has; new threads inherit) to the others, so that Bee and
// the workers, which a deployment runs on their own machine, stop taking
// CPU from the orchestrator side being measured. The returned func gives
// every process all CPUs back.
func perfPin(pids ...int) (func(), error) {
	n := runtime.NumCPU()
	if n < 2 {
		return nil, fmt.Errorf("perf: pinning needs 2 CPUs, have %d", n)
	}
	var last, rest, all unix.CPUSet
	last.Set(n - 1)
	for i := range n {
		all.Set(i)
		if i < n-1 {
			rest.Set(i)
		}
	}
	var self []int
	if err := realnode.EachThread(os.Getpid(), func(tid int) error {
		self = append(self, tid)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	undo := func() {
		for _, tid := range self {
			_ = unix.SchedSetaffinity(tid, &all)
		}
		for _, pid := range pids {
			_ = perfPinProcess(pid, &all)
		}
	}
	for _, tid := range self {
		if err := unix.SchedSetaffinity(tid, &rest); err != nil {
			undo()
			return nil, fmt.Errorf("perf: pin thread %d: %w", tid, err)
		}
	}
	for _, pid := range pids {
		if err := perfPinProcess(pid, &last); err != nil {
			undo()
			return nil, err
		}
	}
	return undo, nil
}

// perfPinProcess pins every thread of pid.
func perfPinProcess(pid int, set *unix.CPUSet) error {
	return realnode.EachThread(pid, func(tid int) error {
		if err := unix.SchedSetaffinity(tid, set); err != nil {
			return fmt.Errorf("perf: pin %d/%d: %w", pid, tid, err)
		}
		return nil
	})
}

package integration_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
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
	threads, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("perf: list threads: %w", err)
	}
	var self []int
	for _, t := range threads {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			self = append(self, tid)
		}
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
	threads, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return fmt.Errorf("perf: list threads of %d: %w", pid, err)
	}
	for _, t := range threads {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil {
			return fmt.Errorf("perf: pin %d/%d: %w", pid, tid, err)
		}
	}
	return nil
}

//go:build linux

package hooks

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCPUOfCountsWorkNotWaiting: the CPU time cpuOf reports is the work
// done on the thread, not the time spent waiting. The goroutine is locked
// to its thread here only so that the test always has a measure.
func TestCPUOfCountsWorkNotWaiting(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, _, ok := threadCPU()
	require.True(t, ok, "the thread's CPU clock is readable here")
	busy, ok := cpuOf(func() {
		_, t0, _ := threadCPU()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if _, t1, _ := threadCPU(); t1-t0 >= 2*time.Millisecond {
				return
			}
		}
	})
	require.True(t, ok)
	require.GreaterOrEqual(t, busy, 2*time.Millisecond, "2 ms of work")
	idle, ok := cpuOf(func() { time.Sleep(50 * time.Millisecond) })
	require.True(t, ok)
	require.Less(t, idle, 10*time.Millisecond, "50 ms asleep is not work")
}

// TestHookCPUWithoutMeasure: a hook's CPU time is the sum of its parts,
// and a hook with a part that has no measure (it moved between threads) is
// timed on the wall only.
func TestHookCPUWithoutMeasure(t *testing.T) {
	m := newLiveMetrics()
	var whole cpuTime
	whole.add(time.Millisecond, true)
	whole.add(2*time.Millisecond, true)
	require.Equal(t, cpuTime{d: 3 * time.Millisecond}, whole)
	m.hook("SegmentReply", 5*time.Millisecond, whole)
	moved := whole
	moved.add(0, false)
	m.hook("SegmentReply", 5*time.Millisecond, moved)
	require.Equal(t, uint64(2), observed(t, m.inArchiver, "SegmentReply"))
	require.Equal(t, uint64(1), observed(t, m.cpu, "SegmentReply"))
}

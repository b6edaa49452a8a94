package hooks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOnThreadCountsWorkNotWaiting: the CPU time onThread reports is the
// work done, not the time spent waiting.
func TestOnThreadCountsWorkNotWaiting(t *testing.T) {
	_, ok := threadCPU()
	require.True(t, ok, "the thread's CPU clock is readable here")
	busy := onThread(func() {
		t0, _ := threadCPU()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			if t1, _ := threadCPU(); t1-t0 >= 2*time.Millisecond {
				return
			}
		}
	})
	require.GreaterOrEqual(t, busy, 2*time.Millisecond, "2 ms of work")
	idle := onThread(func() { time.Sleep(50 * time.Millisecond) })
	require.Less(t, idle, 10*time.Millisecond, "50 ms asleep is not work")
}

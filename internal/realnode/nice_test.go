package realnode

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReniceEveryThread: every thread of a running process takes the
// niceness, read back from /proc (field 19 of each thread's stat).
func TestReniceEveryThread(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.NoError(t, Renice(cmd.Process.Pid, 7))
	dir := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "task")
	tasks, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, tasks)
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		require.NoError(t, err)
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		require.Equal(t, "7", fields[16], "thread %s: niceness", task.Name()) // field 19, counted after the name
	}
	require.Error(t, Renice(-1, 7), "no such process")
}

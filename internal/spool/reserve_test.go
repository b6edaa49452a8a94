package spool_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

func TestResolveReserve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg, total int64
		want       int64
	}{
		{"default on a large disk", 0, 100 << 30, spool.DefaultMinFreeBytes},
		{"default on a small disk is an eighth", 0, 8 << 20, 1 << 20},
		{"configured", 5 << 20, 100 << 30, 5 << 20},
		{"configured above the disk is kept", 1 << 30, 8 << 20, 1 << 30},
		{"off", spool.NoReserve, 100 << 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, spool.ResolveReserve(tc.cfg, tc.total))
		})
	}
	_, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 1, MinFreeBytes: -2})
	require.ErrorIs(t, err, spool.ErrInvalidConfig)
}

// TestReserveKeepsFreeSpace: on a real (tmpfs) file system far smaller
// than MaxBytes, a burst of jobs larger than the disk is either accepted or
// refused as full for the disk's reserve; none meets ENOSPC, and the free
// space left is at least MinFreeBytes and within about a batch of jobs of
// it (the spool did fill the disk up to its reserve). Once workers free
// jobs, new ones are accepted. With NoReserve the same burst runs the disk
// out for real: the contrast shows the check is what keeps the space.
func TestReserveKeepsFreeSpace(t *testing.T) {
	const (
		diskKB  = 2048
		reserve = 512 << 10
		burst   = 40 // about 4 MiB of jobs for a 2 MiB disk
	)
	for _, tc := range []struct {
		name string
		min  int64
	}{{"reserve", reserve}, {"no reserve", spool.NoReserve}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := mountTmpfs(t, diskKB)
			s := open(t, dir, spool.Config{MaxBytes: 1 << 30, MinFreeBytes: tc.min, QueueLen: burst})
			outs := make([]<-chan archiver.Outcome, burst)
			for i := range outs {
				outs[i] = s.Submit(makeJob(alice, "disk", int64(i), 60_000)) // 105 KB
			}
			var accepted, refused, enospc int
			for _, out := range outs {
				err := (<-out).Err
				var full *spool.FullError
				switch {
				case err == nil:
					accepted++
				case errors.As(err, &full):
					require.Equal(t, spool.LimitDisk, full.Limit, "%v", err)
					require.ErrorIs(t, err, archiver.ErrSpoolFull)
					refused++
					if errors.Is(err, syscall.ENOSPC) {
						enospc++
					} else {
						require.ErrorIs(t, err, spool.ErrReserve)
					}
				default:
					t.Fatalf("job neither accepted nor refused as full: %v", err)
				}
			}
			free := freeBytes(t, dir)
			t.Logf("%s: %d accepted, %d refused (%d by ENOSPC), %d KiB free of %d KiB", tc.name, accepted, refused, enospc, free>>10, diskKB)
			require.NotZero(t, accepted)
			require.NotZero(t, refused)
			require.Equal(t, accepted, s.Stats().Jobs)
			if tc.min == spool.NoReserve {
				require.NotZero(t, enospc, "without a reserve the disk should have run out")
				require.Less(t, free, int64(reserve), "without a reserve the spool should fill past it")
				return
			}
			require.Zero(t, enospc, "a job met ENOSPC despite the reserve")
			require.GreaterOrEqual(t, free, int64(reserve), "the spool ate into its reserve")
			require.Less(t, free, int64(reserve)+4*110_000, "the spool stopped far short of its reserve")

			// Workers free the jobs: within a refresh, work is accepted again.
			require.Len(t, drain(t, s), accepted)
			require.Eventually(t, func() bool {
				return (<-s.Submit(makeJob(alice, "disk", burst, 60_000))).Err == nil
			}, 5*time.Second, 20*time.Millisecond, "no job accepted after the spool drained")
		})
	}
}

// mountTmpfs mounts a tmpfs of kb KiB on a fresh directory for the test.
// Without permission to mount the test is skipped, except in CI.
func mountTmpfs(t *testing.T, kb int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dk", kb), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	// Registered after open's Close (cleanups run last first): unmount
	// once the spool has released its files.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail) * int64(st.Bsize)
}

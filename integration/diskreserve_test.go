package integration_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
)

var (
	// Size of the orchestrator's disk in TestSpoolDiskReserve.
	drDiskKB = flag.Int("reliability.reserve-disk-kb", 1024, "TestSpoolDiskReserve: size of the tmpfs holding the orchestrator's data dir, KiB")
	// How many refused reports TestSpoolDiskFullStallsWithoutReserve
	// watches while a worker fails to free jobs from a disk filled to the
	// last byte.
	drStall = flag.Int("reliability.reserve-stall-reports", 2, "TestSpoolDiskFullStallsWithoutReserve: how many refused reports (re-dispatches) the stall is watched for")
)

// TestSpoolDiskReserve: the spool fills the orchestrator's disk (a real
// tmpfs shared by spool and bbolt index, as in production) only up to its
// free-space reserve, the default (an eighth of this small disk). Asserted:
// new work is refused SPOOL_FULL naming the reserve, uncharged, never
// FAILED and never ENOSPC; the disk still has at least the reserve free;
// a worker then drains the spool, which needs every result recorded in the
// index on that disk (Archived counts each accepted job, nothing is
// re-dispatched for a refused report); new work is accepted again; every
// accepted segment is in the final manifest, byte-identical from Bee.
func TestSpoolDiskReserve(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	started := time.Now()
	dir := dfMountTmpfs(t, *drDiskKB)
	reserve := int64(*drDiskKB) << 10 / 8 // MinFreeBytes 0: min(64 MiB, disk/8)
	o := startDFOrch(t, ctx, func(c *host.Config) { c.DataDir, c.Spool.MaxBytes = dir, 1<<30 })
	feed := newDFFeeder(t, o, common.Address{0xd7}, "dr-session", "dr-stream")
	feed.refusal = spool.ErrReserve.Error()

	for seq := int64(0); feed.refused < 3; seq++ {
		require.Less(t, seq, int64(10_000), "the spool never refused")
		feed.send(ctx, seq)
	}
	accepted := len(feed.accepted())
	require.NotZero(t, accepted)
	require.Equal(t, accepted, o.Host().SpoolStats().Jobs)
	free := drFree(t, dir)
	require.GreaterOrEqual(t, free, reserve, "the spool ate into its reserve")
	dfRequireNoTemps(t, dir)
	feed.requireBalance()

	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	startNode(t, ctx, o, rig.NodeConfig{Batch: batch, Capacity: 4})
	require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond, "the worker did not drain the spool")
	drainedIn := time.Since(started)
	m := o.Host().DispatchMetrics()
	require.Equal(t, int64(accepted), m.Archived, "results recorded in the index")
	require.Zero(t, m.Redispatched, "a report was refused (the index could not record it) and its job re-dispatched")
	later := len(feed.accepted())
	for range 5 {
		feed.send(ctx, feed.next)
	}
	require.Equal(t, later+5, len(feed.accepted()), "new work refused after the spool drained")
	feed.requireBalance()

	feed.finish(ctx)
	t.Logf("tmpfs %d KiB, reserve %d KiB: %d segments accepted, then refused SPOOL_FULL (reserve) with %d KiB free; %d refused, 0 FAILED, 0 ENOSPC; "+
		"drained by one worker after %s (%d results recorded, 0 re-dispatched); %d accepted in the end, all in the final manifest; %s in all",
		*drDiskKB, reserve>>10, accepted, free>>10, feed.refused, drainedIn.Round(time.Millisecond), m.Archived,
		len(feed.accepted()), time.Since(started).Round(time.Millisecond))
}

// TestSpoolDiskFullStallsWithoutReserve is the failure the reserve
// prevents. With the reserve off the spool fills the tmpfs until ENOSPC;
// a filler file then takes the last free bytes, as a last job that fitted
// to the byte would (a spool without a reserve may do exactly that).
// Asserted: a worker uploads, but its reports cannot be recorded (the
// index on the same disk cannot grow), so no job is freed for as long as
// it is watched; once the filler goes, the same worker drains the spool.
func TestSpoolDiskFullStallsWithoutReserve(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	dir := dfMountTmpfs(t, *dfDiskKB)
	o := startDFOrch(t, ctx, func(c *host.Config) {
		c.DataDir, c.Spool.MaxBytes, c.Spool.MinFreeBytes = dir, 1<<30, spool.NoReserve
	})
	feed := newDFFeeder(t, o, common.Address{0xd8}, "ds-session", "ds-stream")
	for seq := int64(0); feed.refused < 3; seq++ {
		require.Less(t, seq, int64(10_000), "the disk never filled")
		feed.send(ctx, seq)
	}
	accepted := len(feed.accepted())
	left := drFree(t, dir)
	filler := filepath.Join(dir, "filler")
	drFill(t, filler)
	require.Zero(t, drFree(t, dir))

	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	startNode(t, ctx, o, rig.NodeConfig{Batch: batch, Capacity: 4})
	for watched := time.Now(); o.Host().DispatchMetrics().Redispatched < int64(*drStall); time.Sleep(100 * time.Millisecond) {
		require.Less(t, time.Since(watched), 2*time.Minute, "the worker's reports are not refused")
		require.Equal(t, accepted, o.Host().SpoolStats().Jobs, "a job was freed from a full disk")
	}
	require.Equal(t, accepted, o.Host().SpoolStats().Jobs, "a job was freed from a full disk")
	m := o.Host().DispatchMetrics()
	require.Zero(t, m.Archived)
	require.Positive(t, m.Redispatched, "no report was refused: the worker never got to report")
	t.Logf("no reserve: %d accepted, %d KiB left after ENOSPC, filled: 0 results recorded, %d dispatches, %d re-dispatched (reports refused)",
		accepted, left>>10, m.Dispatched, m.Redispatched)

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond, "the spool did not drain once space freed")
}

// drFree is the space the tmpfs has left.
func drFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail) * int64(st.Bsize)
}

// drFill writes path until the file system refuses.
func drFill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	block := make([]byte, 512)
	for {
		if _, err := f.Write(block); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
			return
		}
	}
}

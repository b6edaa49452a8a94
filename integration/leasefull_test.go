package integration_test

import (
	"flag"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/postage"
)

// How many postage re-checks TestLeasedBatchFillsUp watches the worker whose
// lease is full make before the operator leases another batch.
var lfProbes = flag.Int("reliability.lease-exhausted-probes", 4,
	"TestLeasedBatchFillsUp: how many postage re-checks (1 s apart) the only worker, its leased range full, makes while the jobs wait")

// TestLeasedBatchFillsUp: "a postage batch that fills up" in leased
// client-stamping mode on a local Swarm (geth dev chain, two Bee v2.7.0
// full nodes). The orchestrator leases an immutable depth-17 batch (2
// stamps per bucket) in the smallest slot, one counter per bucket, to one
// `archiver-node node` worker; segment 0 puts one chunk in a bucket,
// segment 1 a second chunk there, so the lease is full exactly at segment
// 1. Asserted: the worker says it is out of postage and leaves; no segment
// becomes a gap; the jobs wait in the spool; while it waits the worker
// only asks for its lease (every -postageRecheck) and is never handed a
// job (no dispatch, not registered, the exhausted metric stays 1); its
// issuer state never went past its range. The operator's remedy, the
// orchestrator restarted with a lease on a new batch, lets the same worker
// drain the spool with no restart of its own; every segment reads back
// byte-identical from the other node, so no stamp index was reused, and
// each batch's issuer state stayed inside its lease.
func TestLeasedBatchFillsUp(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	began := time.Now()
	net, key, keyFile, passFile, first := localSwarm(t, ctx, 17)
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	t.Logf("local swarm up and batch bought in %s", time.Since(began).Round(time.Millisecond))

	jobs := lfJobs(t, "leased", 6)
	dir := t.TempDir()
	o := startOrch(t, ctx, func(c *host.Config) {
		c.Service.Leases = &dispatch.LeaseConfig{Batch: first, BucketCapacity: 2, Slot: 1, Path: filepath.Join(dir, "leases-1.json")}
	})
	metrics := freeAddr(t)
	logs := &lockedBuffer{}
	node := startNode(t, ctx, o, rig.NodeConfig{Bee: nodeA, Capacity: 1, Stderr: io.MultiWriter(os.Stderr, logs),
		Args: []string{"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passFile, "-metricsAddr", metrics, "-postageRecheck", "1s"}})
	datadir := node.DataDir()
	exhausted := func() bool {
		// The sample line, not the HELP text (which begins "1 while").
		return strings.Contains(scrapeMetrics(t, "http://"+metrics+"/metrics"), "\narchiver_worker_postage_exhausted 1\n")
	}

	require.NoError(t, o.Submit(ctx, jobs[:1]...)) // one stamp in the bucket: the lease's range there is used up
	require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond)
	require.NoError(t, o.Submit(ctx, jobs[1:]...))
	require.Eventually(t, exhausted, time.Minute, 200*time.Millisecond, "the worker does not report that it is out of postage")
	require.Eventually(t, func() bool { return o.Host().DispatchHeld().Workers == 0 }, 10*time.Second, 50*time.Millisecond,
		"the worker out of postage is still registered")
	exhaustedAt := time.Since(began)
	require.Contains(t, logs.String(), "level=ERROR msg=\"out of postage")

	// Waiting: nothing is dispatched to it, nothing leaves the spool, the
	// metric does not flap, no gap.
	// Until it has re-checked its postage -lease-exhausted-probes times,
	// each a moment it might wrongly take jobs again.
	dispatched := o.Host().DispatchMetrics().Dispatched
	for watched := time.Now(); strings.Count(logs.String(), "still out of postage") < *lfProbes; time.Sleep(200 * time.Millisecond) {
		require.Less(t, time.Since(watched), time.Minute, "the worker did not keep asking for a new lease")
		require.True(t, exhausted(), "the exhausted metric flapped")
		require.Zero(t, o.Host().DispatchHeld().Workers, "the worker out of postage registered again")
		require.Equal(t, dispatched, o.Host().DispatchMetrics().Dispatched, "a job was dispatched to the worker out of postage")
		require.Equal(t, len(jobs)-1, o.Host().SpoolStats().Jobs, "jobs left the spool")
	}
	require.Zero(t, o.Host().DispatchMetrics().Failed, "a segment was recorded as a gap")
	u1, err := postage.ReadUsage(filepath.Join(datadir, "issuer"), first)
	require.NoError(t, err)
	require.Positive(t, u1.Issued)
	require.LessOrEqual(t, u1.MaxBucketCount, uint32(1), "the issuer stamped past its leased range [0,1)")

	// The remedy: the operator buys another batch and restarts the
	// orchestrator leasing it; the worker, still running, takes the new
	// lease and drains the spool.
	second, err := net.BuyBatch(ctx, key.PrivateKey, 20, big.NewInt(1_000_000_000), true)
	require.NoError(t, err)
	require.NoError(t, o.Restart(ctx, func(c *host.Config) {
		c.Service.Leases = &dispatch.LeaseConfig{Batch: second, BucketCapacity: 16, Slot: 16, Path: filepath.Join(dir, "leases-2.json")}
	}))
	remedied := time.Now()
	manifests := finish(t, ctx, o, jobs)
	drained := time.Since(remedied)
	require.Zero(t, o.Host().DispatchMetrics().Failed, "a segment was recorded as a gap")
	require.False(t, exhausted(), "the worker still says it is out of postage")
	require.Equal(t, 1, strings.Count(logs.String(), "registering to take jobs"), "the worker re-registered more than once")

	c, err := bee.New(nodeB)
	require.NoError(t, err)
	bfRequireReadBack(t, ctx, c, jobs, manifests)
	u1after, err := postage.ReadUsage(filepath.Join(datadir, "issuer"), first)
	require.NoError(t, err)
	require.Equal(t, u1, u1after, "the full lease was stamped with again")
	u2, err := postage.ReadUsage(filepath.Join(datadir, "issuer"), second)
	require.NoError(t, err)
	require.Positive(t, u2.Issued)
	require.LessOrEqual(t, u2.MaxBucketCount, uint32(16), "the issuer stamped past its leased range [0,16)")
	t.Logf("lease [0,1) of a depth-17 batch full at segment 1 after %s; %d jobs held in the spool while the worker "+
		"asked for its lease %d times, 0 dispatches, 0 gaps, metric steady at 1; new lease on a second batch: drained in %s; "+
		"issuer: batch 1 %d stamps (max count %d), batch 2 %d stamps (max count %d); all %d segments read back from node B; %s in all",
		exhaustedAt.Round(time.Millisecond), len(jobs)-1, *lfProbes, drained.Round(time.Millisecond),
		u1.Issued, u1.MaxBucketCount, u2.Issued, u2.MaxBucketCount, len(jobs), time.Since(began).Round(time.Millisecond))
}

// lfJobs makes n small segments of one stream: segment 0's source is one
// chunk, segment 1's another chunk in the same bucket (bucket depth 16),
// the rest random; each has a random "lo" rendition.
func lfJobs(t *testing.T, stream string, n int) []archiver.Job {
	t.Helper()
	p := bfSameBucket(t, 2)
	jobs := make([]archiver.Job, n)
	for i := range jobs {
		src := randomBytes(t, 8_000+i*100)
		if i < 2 {
			src = p[i]
		}
		jobs[i] = archiver.Job{Sender: [20]byte{0x1f}, ManifestID: archiver.ManifestID(stream), Seq: int64(i), Source: src,
			Renditions: []archiver.Rendition{{Name: "lo", Data: randomBytes(t, 4_000)}}}
	}
	return jobs
}

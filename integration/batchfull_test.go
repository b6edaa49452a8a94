package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/rig"
)

// How many of its postage re-checks TestBatchFillsUp watches the worker that
// ran out of postage make, each a moment it might wrongly take jobs again,
// before a worker with postage comes: CI runs the default, RELIABILITY.md
// gives the long run.
var bfExhaustedProbes = flag.Int("reliability.postage-exhausted-probes", 2,
	"TestBatchFillsUp/only_batch_full: how many postage re-checks (2 s apart) the worker out of postage makes while the jobs wait")

// TestBatchFillsUp: "a postage batch that fills up: the next batch is used,
// or work is refused with a clear status; never an overwrite; nothing
// accepted is lost." On a local Swarm (geth dev chain, two Bee v2.7.0 full
// nodes) real `archiver-node node` workers stamp node-side with immutable
// depth-17 batches node A bought: two stamps per bucket. A crafted segment
// puts two chunks in one bucket, the next a third chunk there, so the
// batch is full exactly at that segment, deterministically.
func TestBatchFillsUp(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	began := time.Now()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: warnings()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	a, err := bee.New(nodeA)
	require.NoError(t, err)
	b, err := bee.New(nodeB)
	require.NoError(t, err)
	batches := make([]string, 3)
	for i := range batches {
		batches[i], err = beetest.Buy(ctx, a, big.NewInt(1_000_000_000), 17, fmt.Sprintf("full-%d", i), true)
		require.NoError(t, err)
	}
	for _, id := range batches {
		bfWaitUsable(t, ctx, a, id)
	}
	t.Logf("local swarm up, 3 batches usable after %s", time.Since(began).Round(time.Millisecond))

	// (a) Two batches: the segment that overflows the first is stored
	// again with the second, and everything after goes to the second.
	t.Run("next_batch_used", func(t *testing.T) {
		started := time.Now()
		jobs := bfJobs(t, "next", 8)
		o := startOrch(t, ctx)
		_, logs := bfStartNode(t, ctx, o, nodeA, batches[0]+","+batches[1])
		require.NoError(t, o.Submit(ctx, jobs[:1]...)) // fills the bucket of batch 0
		require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond)
		require.NoError(t, o.Submit(ctx, jobs[1:]...))
		manifests := finish(t, ctx, o, jobs)
		require.Zero(t, o.Host().DispatchMetrics().Failed, "a segment was recorded as a gap")

		first, err := a.Batch(ctx, batches[0])
		require.NoError(t, err)
		second, err := a.Batch(ctx, batches[1])
		require.NoError(t, err)
		require.EqualValues(t, 2, first.Utilization, "batch 0's fullest bucket holds its 2 stamps: full, not wrapped")
		require.Positive(t, second.Utilization, "batch 1 stamped nothing")
		bfRequireReadBack(t, ctx, b, jobs, manifests)
		require.NotContains(t, logs.String(), "out of postage", "the worker had a second batch")
		t.Logf("8 segments archived in %s; GET /stamps utilization: batch 0 %d (full), batch 1 %d; 0 gaps; all read back from node B",
			time.Since(started).Round(time.Millisecond), first.Utilization, second.Utilization)
	})

	// (b) One batch: once it is full the worker takes no more jobs and
	// says so; nothing becomes a gap; the jobs wait in the spool until a
	// worker with postage takes them.
	t.Run("only_batch_full", func(t *testing.T) {
		started := time.Now()
		jobs := bfJobs(t, "only", 6)
		o := startOrch(t, ctx)
		metrics, logs := bfStartNode(t, ctx, o, nodeA, batches[2])
		require.NoError(t, o.Submit(ctx, jobs[:1]...))
		require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond)
		require.NoError(t, o.Submit(ctx, jobs[1:]...))
		require.Eventually(t, func() bool {
			return strings.Contains(scrapeMetrics(t, "http://"+metrics+"/metrics"), "\narchiver_worker_postage_exhausted 1\n")
		}, time.Minute, 200*time.Millisecond, "the worker does not report that it is out of postage")
		exhaustedAt := time.Since(started)
		require.Contains(t, logs.String(), "level=ERROR msg=\"out of postage")

		// The exhausted worker takes nothing, however often it re-checks;
		// nothing is lost or a gap.
		require.Eventually(t, func() bool { return strings.Count(logs.String(), "still out of postage") >= *bfExhaustedProbes },
			time.Minute, 100*time.Millisecond, "the worker out of postage does not re-check its postage")
		require.Equal(t, len(jobs)-1, o.Host().SpoolStats().Jobs, "the jobs left the spool with no worker that has postage")
		require.Zero(t, o.Host().DispatchMetrics().Failed, "a segment was recorded as a gap")
		require.Zero(t, o.Host().DispatchHeld().Workers, "the worker out of postage is still registered")
		require.Contains(t, scrapeMetrics(t, "http://"+metrics+"/metrics"), "\narchiver_worker_postage_exhausted 1\n")

		// A worker with a fresh batch drains the spool.
		fresh, err := beetest.Buy(ctx, a, big.NewInt(1_000_000_000), 17, "fresh", true)
		require.NoError(t, err)
		bfWaitUsable(t, ctx, a, fresh)
		bfStartNode(t, ctx, o, nodeA, fresh)
		manifests := finish(t, ctx, o, jobs)
		require.Zero(t, o.Host().DispatchMetrics().Failed, "a segment was recorded as a gap")
		bfRequireReadBack(t, ctx, b, jobs, manifests)
		t.Logf("worker out of postage after %s; %d jobs held in the spool over %d of its re-checks, 0 gaps; drained by a fresh worker; all %d in the final manifest, read back from node B; %s in all",
			exhaustedAt.Round(time.Millisecond), len(jobs)-1, *bfExhaustedProbes, len(jobs), time.Since(started).Round(time.Millisecond))
	})
}

// TestNodeStampingRefusesAMutableBatch: with node-side stamping Bee wraps a
// full bucket of a mutable batch and overwrites the oldest chunks, so the
// worker refuses to start on one, saying why and what to use instead.
func TestNodeStampingRefusesAMutableBatch(t *testing.T) {
	ctx := testContext(t, time.Minute)
	mutable, err := beetest.Buy(ctx, dev.Client, big.NewInt(1_000_000_000), 20, "mutable", false)
	require.NoError(t, err)
	immutable, err := dev.BuyBatch(ctx, 20)
	require.NoError(t, err)
	_, stderr, err := runCLI(t, ctx, "node", "-orchAddr", "127.0.0.1:1", "-archiverSecret", "s3cret", "-bee", dev.URL,
		"-postageBatch", immutable+","+mutable, "-dataDir", t.TempDir())
	require.Error(t, err)
	require.Contains(t, stderr, "batch "+mutable+": mutable batch refused for node-side stamping")
	require.Contains(t, stderr, "immutable batch")
}

// bfWaitUsable waits until node-side stamping may use a batch just bought.
func bfWaitUsable(t *testing.T, ctx context.Context, c *bee.Client, id string) {
	t.Helper()
	require.Eventually(t, func() bool {
		b, err := c.Batch(ctx, id)
		return err == nil && b.Usable
	}, 2*time.Minute, 250*time.Millisecond, "batch %s not usable", id)
}

// bfStartNode runs a node-stamping worker with capacity 1 (segments are
// stamped in order) and returns its metrics address and its log.
func bfStartNode(t *testing.T, ctx context.Context, r *rig.Rig, beeURL, batches string) (string, *lockedBuffer) {
	t.Helper()
	metrics := freeAddr(t)
	logs := &lockedBuffer{}
	startNode(t, ctx, r, rig.NodeConfig{Bee: beeURL, Batch: batches, Capacity: 1, Stderr: io.MultiWriter(os.Stderr, logs),
		Args: []string{"-metricsAddr", metrics, "-postageRecheck", "2s"}})
	return metrics, logs
}

// bfJobs makes n segments of one stream: segment 0's source is two chunks
// in one bucket (bucket depth 16), segment 1's a third chunk in that
// bucket, the rest random; each has a random "lo" rendition.
func bfJobs(t *testing.T, stream string, n int) []archiver.Job {
	t.Helper()
	p := bfSameBucket(t, 3)
	jobs := make([]archiver.Job, n)
	for i := range jobs {
		var src []byte
		switch i {
		case 0:
			src = append(append([]byte{}, p[0]...), p[1]...)
		case 1:
			src = p[2]
		default:
			src = randomBytes(t, 50_000+i*1000)
		}
		jobs[i] = archiver.Job{Sender: [20]byte{0xbf}, ManifestID: archiver.ManifestID(stream), Seq: int64(i), Source: src,
			Renditions: []archiver.Rendition{{Name: "lo", Data: randomBytes(t, 20_000)}}}
	}
	return jobs
}

// bfSameBucket finds k full-size chunk payloads whose addresses share
// their first 16 bits (one bucket): random payloads until some bucket has
// k, about 3,000 hashes for k = 3.
func bfSameBucket(t *testing.T, k int) [][]byte {
	t.Helper()
	seen := map[uint16][][]byte{}
	for range 1 << 20 {
		p := make([]byte, swarm.ChunkSize)
		_, err := rand.Read(p)
		require.NoError(t, err)
		ch, err := cac.New(p)
		require.NoError(t, err)
		bucket := binary.BigEndian.Uint16(ch.Address().Bytes())
		seen[bucket] = append(seen[bucket], p)
		if len(seen[bucket]) == k {
			return seen[bucket]
		}
	}
	t.Fatal("no bucket collision found")
	return nil
}

// bfRequireReadBack: every file of every job reads back byte-identical
// through the given node from its stream's final manifest.
func bfRequireReadBack(t *testing.T, ctx context.Context, c *bee.Client, jobs []archiver.Job, manifests map[string]swarm.Address) {
	t.Helper()
	for _, j := range jobs {
		ref := manifests[string(j.ManifestID)]
		for _, f := range []archiver.Rendition{{Name: "source", Data: j.Source}, j.Renditions[0]} {
			require.Eventually(t, func() bool {
				got, err := c.Get(ctx, "/bzz/"+ref.String()+"/"+f.Name+"/"+itoa(int(j.Seq))+".ts", 16<<20)
				return err == nil && bytes.Equal(f.Data, got.Data)
			}, time.Minute, 500*time.Millisecond, "%s/%s/%d does not read back", j.ManifestID, f.Name, j.Seq)
		}
	}
}

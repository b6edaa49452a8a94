package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/realnode"
	"github.com/lpswarm/archiver/plugin"
)

// TestRealStreamArchived: 30 s of video with audio over RTMP into a real
// broadcaster with -archive, a real orchestrator+transcoder with -archiver
// making two renditions, two workers and a Bee dev node. Every segment the
// broadcaster ever listed, source and renditions, is in the final manifest
// byte for byte; the archive plays for the stream's duration; both nodes'
// /archive/status agree with the manifest.
func TestRealStreamArchived(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: t.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Archiver: true, Workers: 2})
	require.NoError(t, err)
	defer c.Close()
	b, err := c.Broadcaster(ctx, "broadcaster", bins.archiver, "-archive")
	require.NoError(t, err)
	dumpOnFailure(t, b, c.Orch)

	const id = "e2eStream"
	rec, stop := realnode.Record(ctx, b.HTTP, id, 500*time.Millisecond)
	require.NoError(t, realnode.Push(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+id))
	pushed := time.Now()
	bst, err := realnode.WaitFinal(ctx, b.CLI, id)
	stop()
	require.NoError(t, err)
	// The broadcaster's teardown tells the orchestrator: the final manifest
	// comes well before the 60 s idle timeout, the fallback, could fire.
	final := time.Since(pushed)
	t.Logf("final manifest %.1f s after the push ended", final.Seconds())
	assert.Less(t, final, 45*time.Second, "the end of the stream reached the orchestrator")
	require.NoError(t, b.WaitLog(ctx, "stream archived"), "the broadcaster logs the archive's URL")
	assert.Contains(t, b.Log(), bst.URL)
	assert.Contains(t, c.Orch.Log(), "archiving offchain: free", "free offchain archiving says so")

	listed := rec.Segments()
	require.Empty(t, rec.Errors())
	perRendition := map[string]int{}
	var sourceDur float64
	for _, s := range listed {
		perRendition[s.Rendition]++
		if s.Rendition == "source" {
			sourceDur += s.Duration
		}
	}
	t.Logf("broadcaster listed %v; %.1f s of source", perRendition, sourceDur)
	require.GreaterOrEqual(t, perRendition["source"], 10, "at least 20 s of the 30 s stream reaches the broadcaster's output")
	require.Len(t, perRendition, 3, "source and two renditions")

	ost, err := realnode.WaitFinal(ctx, c.Orch.CLI, id)
	require.NoError(t, err)
	assert.Equal(t, ost.Reference, bst.Reference, "both sides report the same final manifest")
	assert.Equal(t, plugin.PlayURL(c.Bee.URL, ost.Reference), bst.URL)
	assert.Equal(t, "https://"+c.Orch.Service, bst.Orchestrator)
	assert.Empty(t, bst.Gaps)
	assert.Empty(t, ost.Gaps)
	assert.ElementsMatch(t, ost.Segments, bst.Segments)

	manifest, err := realnode.CheckArchive(ctx, c.Bee.URL, bst.Reference, listed)
	require.NoError(t, err)
	archived := map[string]bool{}
	for _, s := range ost.Segments {
		assert.Equal(t, "archived", s.State)
		archived[key(s.Rendition, s.Seq)] = true
	}
	assert.Equal(t, manifest, archived, "the status lists exactly what the manifest holds")

	metrics, err := realnode.Get(ctx, "http://"+c.Orch.CLI+"/archive/metrics")
	require.NoError(t, err)
	assert.Contains(t, string(metrics), "archiver_orchestrator_reply_hold_seconds_count")
	assert.Contains(t, string(metrics), "archiver_")

	dur, err := realnode.Duration(ctx, bst.URL)
	require.NoError(t, err)
	assert.InDelta(t, sourceDur, dur.Seconds(), 2.5, "the archive plays as long as the broadcaster's output, within one segment")
}

func key(rendition string, seq int64) string { return fmt.Sprintf("%s/%d", rendition, seq) }

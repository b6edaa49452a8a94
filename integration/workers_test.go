package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/freeport"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/internal/rig"
)

// streamJobs turns three ffmpeg streams into archive jobs: the hi
// rendition's segments as sources, lo and audio as renditions.
func streamJobs(t *testing.T) []archiver.Job {
	t.Helper()
	var jobs []archiver.Job
	for i, secs := range []int{6, 8, 10} {
		dir := generate(t, hlstest.Options{Seconds: secs})
		src := readSource(t, filepath.Join(dir, "hi", "index.m3u8"))
		lo := readSource(t, filepath.Join(dir, "lo", "index.m3u8"))
		audio := readSource(t, filepath.Join(dir, "audio", "index.m3u8"))
		for seq := range src.segments {
			jobs = append(jobs, archiver.Job{
				Sender: [20]byte{byte(i + 1)}, ManifestID: archiver.ManifestID(fmt.Sprintf("stream-%d", i)), Seq: int64(seq),
				Source:     src.segments[seq],
				Renditions: []archiver.Rendition{{Name: "lo", Data: lo.segments[seq]}, {Name: "audio", Data: audio.segments[seq]}},
			})
		}
	}
	return jobs
}

// requireFinalManifests: every segment of every stream appears exactly
// once in its final manifest, in order, and reads back byte-identical.
func requireFinalManifests(t *testing.T, ctx context.Context, jobs []archiver.Job, manifests map[string]swarm.Address) {
	t.Helper()
	byStream := map[string][]archiver.Job{}
	for _, j := range jobs {
		byStream[string(j.ManifestID)] = append(byStream[string(j.ManifestID)], j)
	}
	for stream, js := range byStream {
		ref := manifests[stream]
		for fi, name := range []string{"source", "lo", "audio"} {
			pl, err := hls.ParseMedia(bytes.NewReader(getBzz(t, ctx, ref, name+"/index.m3u8", archive.PlaylistContentType)))
			require.NoError(t, err)
			require.True(t, pl.EndList, "%s/%s is not final", stream, name)
			require.Len(t, pl.Segments, len(js), "%s/%s", stream, name)
			for i, s := range pl.Segments {
				require.Equal(t, uint64(i), s.Seq)
				require.False(t, s.Gap)
				want := [][]byte{js[i].Source, js[i].Renditions[0].Data, js[i].Renditions[1].Data}[fi]
				require.Equal(t, want, getBzz(t, ctx, ref, name+"/"+s.URI, "video/mp2t"), "%s/%s/%s", stream, name, s.URI)
			}
		}
	}
}

// TestWorkersSurviveADeadAndASlowWorker: two worker processes and a slow
// one archive three streams of real segments from the durable spool. One
// worker is SIGKILLed while its upload is in flight (a gate holds it), the
// slow one misses its deadlines and reports late. Every segment of every
// stream appears exactly once in its final manifest, byte-identical, and
// the redispatch counter shows the rescue.
func TestWorkersSurviveADeadAndASlowWorker(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	jobs := streamJobs(t)
	o := startOrch(t, ctx)
	require.NoError(t, o.Submit(ctx, jobs...))

	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	hold := gate(t, o, rig.Fault{Hold: true})
	doomed := startNode(t, ctx, o, rig.NodeConfig{Bee: hold.URL(), Batch: batch, Capacity: 1})
	select {
	case <-hold.First():
	case <-ctx.Done():
		t.Fatal("the doomed worker never uploaded")
	}
	require.NoError(t, doomed.Kill()) // SIGKILL mid-transfer

	startNode(t, ctx, o, rig.NodeConfig{Bee: gate(t, o, rig.Fault{Delay: 5 * time.Second}).URL(), Batch: batch, Capacity: 1})
	metricsAddr := freeAddr(t)
	startNode(t, ctx, o, rig.NodeConfig{Batch: batch, Capacity: 2, Args: []string{"-metricsAddr", metricsAddr}})

	requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
	scrape := scrapeMetrics(t, "http://"+metricsAddr+"/metrics")
	require.Contains(t, scrape, `archiver_worker_jobs_total{result="archived"}`)
	require.Contains(t, scrape, "archiver_worker_bytes_total")
	require.Contains(t, scrape, "archiver_worker_batch_ttl_seconds{batch=")
	// A dev batch lives for ages: watched, and not expiring.
	require.Contains(t, scrape, `archiver_postage_batch_expiring{batch="`+batch+`"} 0`)
	m := o.Host().DispatchMetrics()
	// The slow worker's uploads outlast their deadlines: it either reports
	// late (ignored) or, seeing its Bee as down, gives the job back. Either
	// way the job went to another worker and was recorded once.
	require.Positive(t, m.Redispatched)
	require.Equal(t, int64(len(jobs)), m.Archived, "each job recorded once")
	t.Logf("metrics %+v", m)
}

// TestOrchestratorRestartLosesNothing: jobs accepted into the spool before
// the orchestrator stops are all archived after it restarts.
func TestOrchestratorRestartLosesNothing(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	jobs := streamJobs(t)
	o := startOrch(t, ctx)
	require.NoError(t, o.Submit(ctx, jobs...))
	require.NoError(t, o.Stop()) // no worker ever saw them

	require.NoError(t, o.Restart(ctx))
	require.Equal(t, len(jobs), o.Host().SpoolStats().Jobs, "the spool kept every job across the restart")
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	startNode(t, ctx, o, rig.NodeConfig{Batch: batch, Capacity: 3})
	requireFinalManifests(t, ctx, jobs, finish(t, ctx, o, jobs))
}

// TestNodeRefusals: a wrong secret and a zero capacity end the worker
// process with distinct messages instead of a retry loop.
func TestNodeRefusals(t *testing.T) {
	ctx := testContext(t, time.Minute)
	o := startOrch(t, ctx)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	base := []string{"node", "-orchAddr", o.Addr(), "-orchCertPin", o.Pin(), "-bee", dev.URL, "-postageBatch", batch, "-dataDir", t.TempDir()}

	_, stderr, err := runCLI(t, ctx, append(base, "-archiverSecret", "wrong", "-capacity", "1")...)
	require.Error(t, err)
	require.Contains(t, stderr, "orchestrator refused the secret")

	_, stderr, err = runCLI(t, ctx, append(base, "-archiverSecret", testSecret, "-capacity", "0")...)
	require.Error(t, err)
	require.Contains(t, stderr, "-capacity must be at least 1")

	_, stderr, err = runCLI(t, ctx, append(base[:len(base)-2], "-archiverSecret", testSecret, "-orchCertPin", strings.Repeat("00", 32))...)
	require.Error(t, err)
	require.Contains(t, stderr, "does not match -orchCertPin")
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	a, err := freeport.Addr()
	require.NoError(tb, err)
	return a
}

func scrapeMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// TestSIGTERMDrainsInFlightJobs: SIGTERM lets the upload in flight finish
// and be reported before the worker exits; nothing is re-dispatched.
func TestSIGTERMDrainsInFlightJobs(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	jobs := streamJobs(t)[:1]
	o := startOrch(t, ctx)
	require.NoError(t, o.Submit(ctx, jobs...))
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	slow := gate(t, o, rig.Fault{Delay: 500 * time.Millisecond}) // three uploads stay within the 3 s deadline
	node := startNode(t, ctx, o, rig.NodeConfig{Bee: slow.URL(), Batch: batch, Capacity: 1, Args: []string{"-drain", "20s"}})
	select {
	case <-slow.First(): // the upload is in flight
	case <-ctx.Done():
		t.Fatal("no upload started")
	}
	require.NoError(t, node.Signal(syscall.SIGTERM))
	require.NoError(t, node.Wait(), "the worker must exit cleanly after draining")
	require.Equal(t, int64(1), o.Host().DispatchMetrics().Archived, "the in-flight job was reported before exit")
	require.Zero(t, o.Host().DispatchMetrics().Redispatched)
}

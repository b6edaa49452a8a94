package integration_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/postage"
)

// How long node A stays down in TestBeeRestartMidStream: CI runs the
// defaults, RELIABILITY.md gives the long run.
var (
	beeStopDown = flag.Duration("reliability.bee-stop-down", 7*time.Second, "TestBeeRestartMidStream: node A down after a graceful stop")
	beeKillDown = flag.Duration("reliability.bee-kill-down", 3*time.Second, "TestBeeRestartMidStream: node A down after SIGKILL")
)

// TestBeeRestartMidStream: "A Bee node restarted mid-stream: archiving
// resumes, nothing lost." A live stream's one-second segments arrive at
// the real orchestrator side in real time; one `archiver-node node` process stamps
// them client-side with the operator's key on a batch bought on chain and
// uploads them to Bee node A of a local Swarm. Mid-stream node A is stopped
// (SIGINT) and held down while segments keep arriving, longer than the
// attempts a failing job gets, then started again; later it is killed
// (SIGKILL) and started again. Every segment the orchestrator accepted is
// in the final manifest without a gap and reads back byte-identical from
// node B and from the restarted node A; a reused stamp index would have
// made Bee replace an earlier chunk, whose segment would then not read
// back. The worker process rode both outages out (it is still running and
// stops cleanly on SIGTERM), and its log and metrics show them.
func TestBeeRestartMidStream(t *testing.T) {
	const (
		every  = time.Second // a one-second segment arrives
		after  = 4           // segments that arrive once node A is back
		stream = "live"
		// A job gets 2 attempts of 3 s here: the first outage outlasts them.
		attempts = 2
	)
	outages := []struct {
		mode chaintest.StopMode
		down time.Duration // before the restart, which adds up to ~5 s
	}{{chaintest.Graceful, *beeStopDown}, {chaintest.Crash, *beeKillDown}}
	down := *beeStopDown + *beeKillDown
	ctx := testContext(t, 3*time.Minute+2*down)
	began := time.Now()
	jobs := liveJobs(t, stream, 50+int(down/every))
	net, _, keyFile, passFile, id := localSwarm(t, ctx, 20)
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	t.Logf("local swarm up and batch bought in %s", time.Since(began).Round(time.Millisecond))

	o := startOrch(t, ctx, func(c *host.Config) {
		c.Service.Leases = &dispatch.LeaseConfig{Batch: id, BucketCapacity: 16, Slot: 16, Path: filepath.Join(t.TempDir(), "leases.json")}
		c.Service.MaxAttempts = attempts
	})
	metricsAddr := freeAddr(t)
	var logs lockedBuffer
	worker := startNode(t, ctx, o, rig.NodeConfig{Bee: nodeA, Capacity: 2, Stderr: io.MultiWriter(os.Stderr, &logs),
		Args: []string{"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passFile, "-metricsAddr", metricsAddr}})
	requireRunning := func(when string) {
		t.Helper()
		select {
		case <-worker.Exited():
			t.Fatalf("the worker exited %s: %v", when, worker.Wait())
		default:
		}
	}

	// The live stream: one segment a second, each accepted (durably
	// spooled) by the orchestrator, until told to stop.
	var sent atomic.Int64
	stopFeed := make(chan struct{})
	fed := make(chan error, 1)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		in := o.Host().Archiver()
		for _, j := range jobs {
			if err := (<-in.Submit(j)).Err; err != nil {
				fed <- fmt.Errorf("segment %d not accepted: %w", j.Seq, err)
				return
			}
			sent.Add(1)
			select {
			case <-stopFeed:
				fed <- nil
				return
			case <-ctx.Done():
				fed <- ctx.Err()
				return
			case <-tick.C:
			}
		}
		fed <- fmt.Errorf("ran out of the %d segments made for the stream", len(jobs))
	}()

	// Take node A down once the pipeline demonstrably works, and again
	// after it has caught up a little.
	require.Eventually(t, func() bool { return o.Host().DispatchMetrics().Archived >= 2 }, 30*time.Second, 50*time.Millisecond,
		"nothing archived before the first outage")
	for _, out := range outages {
		stopping := time.Now()
		before := sent.Load()
		require.NoError(t, net.StopNode(0, out.mode))
		stopped := time.Now()
		time.Sleep(out.down)
		restarting := time.Now()
		require.NoError(t, net.StartNode(ctx, 0))
		during := sent.Load() - before
		t.Logf("%s stop took %s, node A down %s, its restart %s; %d segments accepted before, %d meanwhile",
			out.mode, stopped.Sub(stopping).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond),
			time.Since(restarting).Round(time.Millisecond), before, during)
		require.GreaterOrEqual(t, during, int64(out.down/every/2), "too few segments arrived during the outage")
		requireRunning("while its Bee node was down")
		back := sent.Load()
		require.Eventually(t, func() bool { return sent.Load() >= back+after }, time.Minute, 50*time.Millisecond)
	}
	close(stopFeed)
	require.NoError(t, <-fed)
	accepted := jobs[:sent.Load()]

	manifests := finish(t, ctx, o, accepted)
	m := o.Host().DispatchMetrics()
	t.Logf("%d segments accepted, all archived and the stream finished %s into the test; orchestrator %+v",
		len(accepted), time.Since(began).Round(time.Millisecond), m)
	require.Zero(t, m.Failed, "a segment was given up on (recorded as a gap)")
	require.Positive(t, m.Redispatched, "the outages re-dispatched nothing: they were not exercised")

	// Everything reads back from the restarted node A, which stored it
	// (what it pushed on already comes back from B), and from node B (what
	// A has not pushed yet comes from A).
	for _, u := range []string{nodeA, nodeB} {
		read := time.Now()
		c, err := bee.New(u)
		require.NoError(t, err)
		requireLiveManifest(t, ctx, c, accepted, manifests[stream], time.Minute)
		t.Logf("everything read back from %s in %s", u, time.Since(read).Round(time.Millisecond))
	}

	// The worker is still the process started before the outages, noticed
	// them, and stops cleanly.
	requireRunning("after the outages")
	scrape := scrapeMetrics(t, "http://"+metricsAddr+"/metrics")
	require.Regexp(t, `archiver_worker_errors_total\{kind="upload"\} [1-9]`, scrape, "the outages left no trace in the worker's metrics")
	require.Contains(t, logs.String(), "Bee is unreachable", "the worker did not log the outages")
	require.NoError(t, worker.Signal(syscall.SIGTERM))
	select {
	case <-worker.Exited():
		require.NoError(t, worker.Wait(), "the worker did not exit cleanly")
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop on SIGTERM")
	}
	// It stamped everything with the operator's key on the leased batch.
	u, err := postage.ReadUsage(filepath.Join(worker.DataDir(), "issuer"), id)
	require.NoError(t, err)
	require.Positive(t, u.Issued)
	t.Logf("stamp indices issued: %d, fullest bucket %d of 16; whole test %s", u.Issued, u.MaxBucketCount,
		time.Since(began).Round(time.Millisecond))
}

// liveJobs makes n one-second segments of an ffmpeg stream into jobs of one
// stream: hi as the source, lo and audio as renditions.
func liveJobs(t *testing.T, stream string, n int) []archiver.Job {
	t.Helper()
	dir := generate(t, hlstest.Options{Seconds: n, SegmentSeconds: 1})
	src := readSource(t, filepath.Join(dir, "hi", "index.m3u8"))
	lo := readSource(t, filepath.Join(dir, "lo", "index.m3u8"))
	audio := readSource(t, filepath.Join(dir, "audio", "index.m3u8"))
	require.Len(t, src.segments, n)
	var jobs []archiver.Job
	for seq := range src.segments {
		jobs = append(jobs, archiver.Job{Sender: [20]byte{0x11}, ManifestID: archiver.ManifestID(stream), Seq: int64(seq),
			Source:     src.segments[seq],
			Renditions: []archiver.Rendition{{Name: "lo", Data: lo.segments[seq]}, {Name: "audio", Data: audio.segments[seq]}}})
	}
	return jobs
}

// requireLiveManifest: the final manifest lists every job of the stream in
// each rendition, in order and without a gap, and every file reads back
// from c byte-identical. A file is retried for up to wait: a node that
// does not hold a chunk fetches it from the other, and between two Bee
// nodes without SWAP that is throttled (about 15 chunks/s, shared with the
// uploader's pushes), so files are read in parallel.
func requireLiveManifest(t *testing.T, ctx context.Context, c *bee.Client, jobs []archiver.Job, ref swarm.Address, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	get := func(path string) (bee.Content, error) {
		for {
			got, err := c.Get(ctx, "/bzz/"+ref.String()+"/"+path, 16<<20)
			if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				if err != nil {
					err = fmt.Errorf("%s from %s: %w", path, c.URL(""), err)
				}
				return got, err
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	type file struct {
		path string
		want []byte
	}
	var files []file
	for fi, name := range []string{"source", "lo", "audio"} {
		pl, err := get(name + "/index.m3u8")
		require.NoError(t, err)
		media, err := hls.ParseMedia(bytes.NewReader(pl.Data))
		require.NoError(t, err)
		require.True(t, media.EndList, "%s is not final", name)
		require.Len(t, media.Segments, len(jobs), "%s lists another number of segments than were accepted", name)
		for i, s := range media.Segments {
			require.Equal(t, uint64(i), s.Seq, name)
			require.False(t, s.Gap, "%s/%d is a gap", name, i)
			require.Equal(t, ".ts", path.Ext(s.URI))
			want := [][]byte{jobs[i].Source, jobs[i].Renditions[0].Data, jobs[i].Renditions[1].Data}[fi]
			files = append(files, file{name + "/" + s.URI, want})
		}
	}
	var g errgroup.Group
	g.SetLimit(8)
	for _, f := range files {
		g.Go(func() error {
			got, err := get(f.path)
			switch {
			case err != nil:
				return err
			case got.ContentType != archive.ContentType(f.path):
				return fmt.Errorf("%s from %s: content type %q", f.path, c.URL(""), got.ContentType)
			case !bytes.Equal(f.want, got.Data):
				return fmt.Errorf("%s from %s differs from what was sent", f.path, c.URL(""))
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

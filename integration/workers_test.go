package integration_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/internal/testbed"
)

// selfSigned makes a TLS certificate for 127.0.0.1, as go-livepeer
// orchestrators present, and returns it with its pin.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	cert, pin, err := testbed.SelfSigned()
	require.NoError(t, err)
	return cert, pin
}

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

func startNode(t *testing.T, ctx context.Context, addr, pin, beeURL, batch string, capacity int, extra ...string) *exec.Cmd {
	t.Helper()
	args := append([]string{"node", "-orchAddr", addr, "-archiverSecret", "s3cret", "-orchCertPin", pin,
		"-capacity", fmt.Sprint(capacity), "-bee", beeURL, "-postageBatch", batch, "-redundancy", "0", "-dataDir", t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, archiverNode(t), args...)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// orch is the orchestrator side as go-livepeer hosts it (package host),
// serving the workers on TLS.
type orch struct {
	*host.Host
	g    *grpc.Server
	addr string
}

// startOrch opens (or reopens) an orchestrator on dir, listening on addr
// ("127.0.0.1:0" the first time).
func startOrch(t *testing.T, dir, addr string, cert tls.Certificate, pin string) *orch {
	t.Helper()
	return startOrchWith(t, dir, addr, cert, pin, nil)
}

// startOrchWith also leases a batch to client-stamping workers; opts may
// change the configuration further.
func startOrchWith(t *testing.T, dir, addr string, cert tls.Certificate, _ string, leases *dispatch.LeaseConfig,
	opts ...func(*host.Config)) *orch {
	t.Helper()
	cfg := host.Config{
		DataDir: dir,
		Spool:   spool.Config{MaxBytes: 256 << 20},
		Service: grpcsvc.Config{Secret: "s3cret", BaseTimeout: 3 * time.Second, MinThroughput: 1 << 30, Leases: leases},
		Streams: streams.Config{PublishEvery: 3, PublishInterval: time.Second, IdleTimeout: time.Hour},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := host.Open(cfg)
	require.NoError(t, err)
	require.NoError(t, h.Start(context.Background()))
	o := &orch{Host: h, g: grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))}
	h.Register(o.g)
	lis, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	o.addr = lis.Addr().String()
	go func() { _ = o.g.Serve(lis) }()
	t.Cleanup(o.stop)
	return o
}

func (o *orch) stop() {
	o.g.Stop()
	_ = o.Close()
}

// submit spools jobs as the decorator does and waits for acceptance.
func (o *orch) submit(t *testing.T, jobs []archiver.Job) {
	t.Helper()
	in := o.Archiver()
	for _, j := range jobs {
		require.NoError(t, (<-in.Submit(j)).Err)
	}
}

// finish ends every stream and returns their final manifests.
func (o *orch) finish(t *testing.T, ctx context.Context, jobs []archiver.Job) map[string]swarm.Address {
	t.Helper()
	require.Eventually(t, func() bool { return o.SpoolStats().Jobs == 0 }, 2*time.Minute, 100*time.Millisecond, "jobs left in the spool")
	ids := map[catalog.StreamID]bool{}
	for _, j := range jobs {
		ids[catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender}] = true
	}
	out := map[string]swarm.Address{}
	for id := range ids {
		o.EndStream(id)
	}
	require.Eventually(t, func() bool {
		for id := range ids {
			info, err := o.StreamInfo(id)
			if err != nil || info.State != catalog.Ended || !info.Published.Final {
				return false
			}
			out[id.ManifestID] = info.Published.Reference
		}
		return true
	}, time.Minute, 100*time.Millisecond, "final manifests not published")
	return out
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
// worker is SIGKILLed while its upload is in flight (a proxy holds it), the
// slow one misses its deadlines and reports late. Every segment of every
// stream appears exactly once in its final manifest, byte-identical, and
// the redispatch counter shows the rescue.
func TestWorkersSurviveADeadAndASlowWorker(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	jobs := streamJobs(t)
	cert, pin := selfSigned(t)
	o := startOrch(t, t.TempDir(), "127.0.0.1:0", cert, pin)
	o.submit(t, jobs)

	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	hold := newBeeGate(t, 0, true)
	doomed := startNode(t, ctx, o.addr, pin, hold.URL, batch, 1)
	select {
	case <-hold.First():
	case <-ctx.Done():
		t.Fatal("the doomed worker never uploaded")
	}
	require.NoError(t, doomed.Process.Kill()) // SIGKILL mid-transfer

	startNode(t, ctx, o.addr, pin, newBeeGate(t, 5*time.Second, false).URL, batch, 1)
	metricsAddr := freeAddr(t)
	startNode(t, ctx, o.addr, pin, dev.URL, batch, 2, "-metricsAddr", metricsAddr)

	requireFinalManifests(t, ctx, jobs, o.finish(t, ctx, jobs))
	scrape := scrapeMetrics(t, "http://"+metricsAddr+"/metrics")
	require.Contains(t, scrape, `archiver_worker_jobs_total{result="archived"}`)
	require.Contains(t, scrape, "archiver_worker_bytes_total")
	require.Contains(t, scrape, "archiver_worker_batch_ttl_seconds{batch=")
	// A dev batch lives for ages: watched, and not expiring.
	require.Contains(t, scrape, `archiver_postage_batch_expiring{batch="`+batch+`"} 0`)
	m := o.DispatchMetrics()
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
	cert, pin := selfSigned(t)
	dir := t.TempDir()
	first := startOrch(t, dir, "127.0.0.1:0", cert, pin)
	first.submit(t, jobs)
	addr := first.addr
	first.stop() // no worker ever saw them

	second := startOrch(t, dir, addr, cert, pin)
	require.Equal(t, len(jobs), second.SpoolStats().Jobs, "the spool kept every job across the restart")
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	startNode(t, ctx, second.addr, pin, dev.URL, batch, 3)
	requireFinalManifests(t, ctx, jobs, second.finish(t, ctx, jobs))
}

// TestNodeRefusals: a wrong secret and a zero capacity end the worker
// process with distinct messages instead of a retry loop.
func TestNodeRefusals(t *testing.T) {
	ctx := testContext(t, time.Minute)
	cert, pin := selfSigned(t)
	o := startOrch(t, t.TempDir(), "127.0.0.1:0", cert, pin)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	base := []string{"node", "-orchAddr", o.addr, "-orchCertPin", pin, "-bee", dev.URL, "-postageBatch", batch, "-dataDir", t.TempDir()}

	_, stderr, err := runCLI(t, ctx, append(base, "-archiverSecret", "wrong", "-capacity", "1")...)
	require.Error(t, err)
	require.Contains(t, stderr, "orchestrator refused the secret")

	_, stderr, err = runCLI(t, ctx, append(base, "-archiverSecret", "s3cret", "-capacity", "0")...)
	require.Error(t, err)
	require.Contains(t, stderr, "-capacity must be at least 1")

	_, stderr, err = runCLI(t, ctx, append(base[:len(base)-2], "-archiverSecret", "s3cret", "-orchCertPin", strings.Repeat("00", 32))...)
	require.Error(t, err)
	require.Contains(t, stderr, "does not match -orchCertPin")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
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
	cert, pin := selfSigned(t)
	o := startOrch(t, t.TempDir(), "127.0.0.1:0", cert, pin)
	o.submit(t, jobs)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	slow := newBeeGate(t, 500*time.Millisecond, false) // three uploads stay within the 3 s deadline
	node := startNode(t, ctx, o.addr, pin, slow.URL, batch, 1, "-drain", "20s")
	select {
	case <-slow.First(): // the upload is in flight
	case <-ctx.Done():
		t.Fatal("no upload started")
	}
	require.NoError(t, node.Process.Signal(syscall.SIGTERM))
	require.NoError(t, node.Wait(), "the worker must exit cleanly after draining")
	require.Equal(t, int64(1), o.DispatchMetrics().Archived, "the in-flight job was reported before exit")
	require.Zero(t, o.DispatchMetrics().Redispatched)
}

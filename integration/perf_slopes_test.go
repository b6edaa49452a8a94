package integration_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/worker"
)

// The memory benchmarks' points and sizes. Set once by
// flag.Parse, read-only afterwards; BENCHMARKS.md has the commands.
var (
	slopeStreams   = flag.String("slope.streams", "0,250,1000", "BenchmarkMemoryPerLiveStream: live stream counts the heap is read at")
	slopeStreamKiB = flag.Int("slope.stream-kib", 4, "BenchmarkMemoryPerLiveStream: source size of a stream's one segment (KiB; renditions ½ and ¼)")
	slopeSpooled   = flag.String("slope.spooled", "0,100,400", "BenchmarkMemoryPerSpooledSegment: segments waiting in the spool the heap is read at")
	slopeSpoolKiB  = flag.Int("slope.spool-kib", 256, "BenchmarkMemoryPerSpooledSegment: source size of a waiting segment (KiB; renditions ½ and ¼)")
	slopeInflight  = flag.String("slope.inflight", "0,1,4,16", "BenchmarkMemoryPerInflightJob: jobs held in flight the heaps are read at (the worker's -capacity is the largest)")
	slopeJobKiB    = flag.Int("slope.job-kib", 1024, "BenchmarkMemoryPerInflightJob: source size of a job (KiB; renditions ½ and ¼)")
	slopeBin       = flag.String("slope.bin", "", "BenchmarkMemoryPerInflightJob: run this archiver-node binary (e.g. an older build, for a before/after figure) instead of building ../cmd/archiver-node")
	slopeProfiles  = flag.String("slope.profiles", "", "write heap profiles (orchestrator, and the worker's for BenchmarkMemoryPerInflightJob) at the largest point into this directory")
)

// slopeInts parses a comma-separated list of counts, ascending.
func slopeInts(tb testing.TB, s string) []int {
	tb.Helper()
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		require.NoError(tb, err, "list %q", s)
		require.GreaterOrEqual(tb, n, 0, "list %q", s)
		out = append(out, n)
	}
	slices.Sort(out)
	require.GreaterOrEqual(tb, len(slices.Compact(slices.Clone(out))), 2, "list %q: a slope needs two distinct points", s)
	return out
}

// slopePoint is one reading: x units held, heap bytes after GC.
type slopePoint struct {
	x    int
	heap float64
}

// slopeFit is the least-squares line through the points: bytes per unit
// and the heap at zero.
func slopeFit(ps []slopePoint) (slope, at0 float64) {
	var sx, sy, sxx, sxy float64
	n := float64(len(ps))
	for _, p := range ps {
		x := float64(p.x)
		sx, sy, sxx, sxy = sx+x, sy+p.heap, sxx+x*x, sxy+x*p.heap
	}
	slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	return slope, (sy - slope*sx) / n
}

func (p slopePoint) String() string { return fmt.Sprintf("%d: %.2f MiB", p.x, p.heap/(1<<20)) }

// slopeRigConfig is what the memory benchmarks change in the perf rig:
// streams and sessions that outlive the run, a job deadline no stall
// reaches, TLS for archiver-node processes.
type slopeRigConfig struct {
	workers int // in-process workers (plain gRPC)
	tls     bool
	nodeBin string // the archiver-node of a TLS rig; empty builds it
	streams streams.Config
	// acceptWait is the decorator's AcceptWait: with a wait, every
	// receipt is final in its own reply.
	acceptWait time.Duration
}

// slopeRig is a perfRig (so perfSend, endStream and heapAfterGC apply)
// built with slopeRigConfig.
type slopeRig struct{ perfRig }

func startSlopeRig(tb testing.TB, ctx context.Context, batch string, cfg slopeRigConfig) slopeRig {
	tb.Helper()
	return slopeRig{perfRig{startRig(tb, ctx, rig.Config{
		TLS: cfg.tls,
		Host: host.Config{
			Spool:   spool.Config{MaxBytes: 8 << 30, QueueLen: 4096},
			Service: grpcsvc.Config{BaseTimeout: 10 * time.Minute},
			Streams: cfg.streams,
		},
		Bee:        rig.Bee{Batch: batch},
		Workers:    cfg.workers,
		Worker:     worker.Config{ID: "slope", Capacity: 8},
		NodeBin:    cfg.nodeBin,
		Decorator:  &orchestrator.Config{SessionTTL: time.Hour, AcceptWait: cfg.acceptWait},
		Transcoder: perfTranscoder(rand.New(rand.NewPCG(5, 6))),
	})}}
}

// heap is the median of three heap-after-GC readings.
func (r slopeRig) heap() float64 {
	hs := []uint64{heapAfterGC(r.Rig), heapAfterGC(r.Rig), heapAfterGC(r.Rig)}
	slices.Sort(hs)
	return float64(hs[1])
}

// sendAll plays segment i of [from, to) (stream and seq by streamOf)
// through the decorator, conc at a time, and counts the ACCEPTED receipts
// of the replies; every other receipt must be PENDING (the spool's write
// not done yet: its outcome comes with a later reply, see takeAccepted).
// A send waits while conc segments await their durable write, and with
// paced while 2 × conc jobs or conc publishes await a worker: each of
// those is a goroutine or more (a reply that does not wait for the write,
// AcceptWait 0, leaves one awaiting the outcome; a publish waits for its
// worker), and an unpaced burst of them would leave their descriptors,
// which the runtime keeps for reuse (some 0.5 KB each), in the heap as a
// high-water mark.
func (r slopeRig) sendAll(ctx context.Context, streamOf func(i int) (int, int64), from, to, sourceBytes, conc int, paced bool) (int, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	var mu sync.Mutex
	accepted := 0
	busy := func() bool {
		st, held := r.Host().SpoolStats(), r.Host().DispatchHeld()
		return st.Pending >= conc || (paced && (st.Jobs >= 2*conc || held.Publications >= conc))
	}
	for i := from; i < to; i++ {
		g.Go(func() error {
			for busy() {
				select {
				case <-gctx.Done():
					return gctx.Err()
				case <-time.After(time.Millisecond):
				}
			}
			stream, seq := streamOf(i)
			rng := rand.New(rand.NewPCG(uint64(stream), uint64(seq)))
			receipts, err := r.perfSend(gctx, stream, seq, perfSegmentData(rng, sourceBytes))
			if err != nil {
				return err
			}
			n, err := slopeAccepted(receipts)
			mu.Lock()
			accepted += n
			mu.Unlock()
			return err
		})
	}
	return accepted, g.Wait()
}

// slopeAccepted counts ACCEPTED receipts; anything but PENDING is an error.
func slopeAccepted(receipts []*archiverpb.ArchiveReceipt) (int, error) {
	n := 0
	for _, rc := range receipts {
		switch s := rc.GetStatus(); s {
		case archiverpb.ArchiveReceipt_ACCEPTED:
			n++
		case archiverpb.ArchiveReceipt_PENDING:
		default:
			return n, fmt.Errorf("seq %d: receipt %s %s: %s", rc.GetSeq(), s, rc.GetReason(), rc.GetDetail())
		}
	}
	return n, nil
}

// takeAccepted takes the receipts the streams' next replies would carry
// (late outcomes) and counts the ACCEPTED ones. A benchmark sends faster
// than a live stream's one segment per period, so without this the late
// receipts would pile up in the decorator's sessions and be counted as
// the spool's.
func (r slopeRig) takeAccepted(tb testing.TB, streams int) int {
	tb.Helper()
	n := 0
	for s := range streams {
		c, err := slopeAccepted(r.Decorator().TakeReceipts(archiver.ManifestID(fmt.Sprintf("perf-session-%06d", s))).GetReceipts())
		require.NoError(tb, err, "stream %d", s)
		n += c
	}
	return n
}

// requireArchived checks the index: every file of segments [0, segs) of
// the stream is archived.
func (r slopeRig) requireArchived(tb testing.TB, stream, segs int) {
	tb.Helper()
	id := catalog.StreamID{ManifestID: fmt.Sprintf("perf-%06d", stream), Sender: churnSender(stream)}
	recs, err := r.Host().StreamRecords(id)
	require.NoError(tb, err, id.String())
	require.Len(tb, recs, 3*segs, "%s: files recorded", id)
	for _, rec := range recs {
		require.Equal(tb, catalog.Archived, rec.State, "%s seq %d %s", id, rec.Seq, rec.Rendition)
	}
}

// slopeProfileAt writes this process's heap profile (after a GC) as
// -slope.profiles/<name>-<x>.pb.gz at the first and the last point, when
// asked to: go tool pprof -diff_base first last shows what the units hold
// (run with -test.memprofilerate=1 to see every allocation).
func slopeProfileAt(tb testing.TB, name string, x int, xs []int) {
	tb.Helper()
	if *slopeProfiles == "" || (x != xs[0] && x != xs[len(xs)-1]) {
		return
	}
	name = fmt.Sprintf("%s-%d", name, x)
	require.NoError(tb, os.MkdirAll(*slopeProfiles, 0o755))
	f, err := os.Create(filepath.Join(*slopeProfiles, name+".pb.gz"))
	require.NoError(tb, err)
	defer f.Close()
	runtime.GC()
	require.NoError(tb, pprof.Lookup("heap").WriteTo(f, 0))
	tb.Logf("heap profile: %s", f.Name())
}

// BenchmarkMemoryPerLiveStream is the orchestrator side's heap per live
// stream: the decorator, the host (spool, index, stream
// keeper, workers' service) and two in-process workers archiving into the
// dev Bee. A live stream has sent one segment (a -slope.stream-kib KiB
// source and renditions of ½ and ¼), which is archived and published
// (PublishEvery 1), and stays open: its decorator session, its keeper
// entry, its worker affinity and its index records stay. The heap after
// GC is read at each -slope.streams count (beyond 8 opened first, as a
// warm-up) once every job and publish is
// done (spool empty, nothing assigned), so no segment in flight is in it;
// the figure is the least-squares slope. Sends are paced (see sendAll) so
// that a burst of goroutines does not leave its descriptors behind as
// per-stream heap. The decorator runs with its default AcceptWait (0), so
// each session also holds its segment's late receipt, as a live stream's
// does between two replies. The run checks that the streams were live
// (sessions, keeper entries, affinities, index) and every file archived.
func BenchmarkMemoryPerLiveStream(b *testing.B) {
	counts := slopeInts(b, *slopeStreams)
	for b.Loop() {
		slopeLiveStreams(b, counts)
	}
}

func slopeLiveStreams(b *testing.B, counts []int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(b, err)
	r := startSlopeRig(b, ctx, batch, slopeRigConfig{workers: 2,
		streams: streams.Config{PublishEvery: 1, PublishInterval: time.Hour, IdleTimeout: time.Hour, TeardownGrace: time.Hour}})
	defer r.Close()

	load := perfLoadavg()
	var points []slopePoint
	live := 0
	for _, n := range append([]int{-1}, counts...) {
		start := time.Now()
		target := slopeWarmStreams + max(n, 0)
		_, err := r.sendAll(ctx, func(i int) (int, int64) { return i, 0 }, live, target, *slopeStreamKiB<<10, 16, true)
		require.NoError(b, err)
		live = target
		// Steady state: every job archived, every stream published once.
		require.Eventually(b, func() bool {
			st, held := r.Host().SpoolStats(), r.Host().DispatchHeld()
			return st.Jobs == 0 && st.Pending == 0 && held.Assigned == 0 && held.Publications == 0 &&
				r.Host().DispatchMetrics().Archived == int64(live) && slopePublished(r, live) == live
		}, 10*time.Minute, 20*time.Millisecond, "not drained: spool %+v, held %+v", r.Host().SpoolStats(), r.Host().DispatchHeld())
		settled := time.Since(start)
		require.Equal(b, live, r.Host().OpenStreams(), "streams held by the keeper")
		require.Len(b, r.Decorator().Sessions(), live, "decorator sessions")
		require.Equal(b, live, r.Host().DispatchHeld().Affinities, "worker affinities")
		if n < 0 {
			continue // the warm-up
		}
		p := slopePoint{n, r.heap()}
		points = append(points, p)
		slopeProfileAt(b, "orch-livestreams", n, counts)
		b.Logf("%d live streams (opened and settled in %v): heap after GC %.2f MiB, %d goroutines",
			live, settled.Round(time.Millisecond), p.heap/(1<<20), runtime.NumGoroutine())
	}
	loadAfter := perfLoadavg()
	for i := range live {
		info, err := r.Host().StreamInfo(catalog.StreamID{ManifestID: fmt.Sprintf("perf-%06d", i), Sender: churnSender(i)})
		require.NoError(b, err)
		require.Equal(b, catalog.Live, info.State)
		r.requireArchived(b, i, 1)
	}
	slope, at0 := slopeFit(points)
	b.ReportMetric(slope, "B/stream")
	b.ReportMetric(at0/(1<<20), "MiB-at-0")
	b.Logf("points %v; %.0f B per live stream, %.2f MiB at none; loadavg %s before, %s after", points, slope, at0/(1<<20), load, loadAfter)
}

// slopeWarmStreams live streams are opened, archived and published
// before the first reading, so that it is not a cold start (first
// connections to Bee, first publish, the index's first pages): the
// -slope.streams counts are streams beyond these.
const slopeWarmStreams = 8

// slopePublished counts the streams [0, n) with a published manifest.
func slopePublished(r slopeRig, n int) int {
	c := 0
	for i := range n {
		info, err := r.Host().StreamInfo(catalog.StreamID{ManifestID: fmt.Sprintf("perf-%06d", i), Sender: churnSender(i)})
		if err == nil && !info.Published.Reference.IsZero() {
			c++
		}
	}
	return c
}

// slopeSpoolStreams is how many streams the spooled segments are spread
// over (seq 0, 1, ... in each, in turn); their first segments are in the
// baseline, so the slope is per segment, not per stream.
const slopeSpoolStreams = 4

// BenchmarkMemoryPerSpooledSegment is the orchestrator side's heap per
// segment waiting in the spool: no worker is connected,
// segments (-slope.spool-kib KiB sources, renditions of ½ and ¼) are
// accepted through the decorator into 4 live streams, and the heap after
// GC is read at each -slope.spooled count of waiting segments once the
// spool has written them all (none pending in memory). The spool keeps a
// segment's bytes on disk, so the slope is its bookkeeping. Then two
// workers connect and every segment must be archived.
func BenchmarkMemoryPerSpooledSegment(b *testing.B) {
	counts := slopeInts(b, *slopeSpooled)
	for b.Loop() {
		slopeSpooledSegments(b, counts)
	}
}

func slopeSpooledSegments(b *testing.B, counts []int) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(b, err)
	r := startSlopeRig(b, ctx, batch, slopeRigConfig{acceptWait: time.Minute,
		streams: streams.Config{PublishEvery: 1 << 20, PublishInterval: time.Hour, IdleTimeout: time.Hour, TeardownGrace: time.Hour}})
	defer r.Close()
	source := *slopeSpoolKiB << 10
	segBytes := source + source>>1 + source>>2
	streamOf := func(i int) (int, int64) { return i % slopeSpoolStreams, int64(i / slopeSpoolStreams) }

	load := perfLoadavg()
	var points []slopePoint
	sent, accepted := 0, 0
	for _, k := range counts {
		total := slopeSpoolStreams + k
		n, err := r.sendAll(ctx, streamOf, sent, total, source, 8, false)
		require.NoError(b, err)
		accepted += n
		sent = total
		// The dispatcher leases the next job and waits with it for a
		// worker: one job's bytes, whatever the count.
		require.Eventually(b, func() bool {
			st := r.Host().SpoolStats()
			return st.Pending == 0 && st.Jobs == sent && st.Leased == 1
		}, 5*time.Minute, 10*time.Millisecond, "spool %+v", r.Host().SpoolStats())
		require.Eventually(b, func() bool {
			accepted += r.takeAccepted(b, slopeSpoolStreams)
			return accepted == sent
		}, time.Minute, 10*time.Millisecond, "segments ACCEPTED")
		st := r.Host().SpoolStats()
		// The job files: the segment's bytes and a small header each.
		require.GreaterOrEqual(b, st.Bytes, int64(sent)*int64(segBytes), "bytes spooled")
		require.Less(b, st.Bytes, int64(sent)*int64(segBytes+4096), "bytes spooled")
		require.Zero(b, r.Host().DispatchHeld().Assigned)
		p := slopePoint{k, r.heap()}
		points = append(points, p)
		slopeProfileAt(b, "orch-spooled", k, counts)
		b.Logf("%d segments waiting (+%d): spool %.1f MiB on disk, heap after GC %.2f MiB", sent, k, float64(st.Bytes)/(1<<20), p.heap/(1<<20))
	}
	loadAfter := perfLoadavg()
	slope, at0 := slopeFit(points)

	// Nothing lost: workers come and archive everything.
	require.NoError(b, r.AddWorkers(ctx, 2))
	require.Eventually(b, func() bool { st := r.Host().SpoolStats(); return st.Jobs == 0 && st.Pending == 0 },
		10*time.Minute, 50*time.Millisecond, "spool %+v", r.Host().SpoolStats())
	require.Equal(b, int64(sent), r.Host().DispatchMetrics().Archived)
	for s := range slopeSpoolStreams {
		r.requireArchived(b, s, (sent-s+slopeSpoolStreams-1)/slopeSpoolStreams)
	}
	b.ReportMetric(slope, "B/segment")
	b.ReportMetric(slope/float64(segBytes), "x-segment-bytes")
	b.Logf("points %v; %.0f B per waiting segment of %d B (%.5f×), %.2f MiB at none; loadavg %s before, %s after",
		points, slope, segBytes, slope/float64(segBytes), at0/(1<<20), load, loadAfter)
}

// slopeWorkerHeap is an archiver-node process's heap after GC, read from
// its -pprof endpoint: the heap profile with gc=1 collects first, and its
// debug=1 text ends with runtime.MemStats. The second of two readings
// counts (a sync.Pool is emptied by its second GC).
func slopeWorkerHeap(tb testing.TB, addr string) float64 {
	tb.Helper()
	var heap float64
	for range 2 {
		res, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1&debug=1")
		require.NoError(tb, err)
		found := false
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
				heap, err = strconv.ParseFloat(v, 64)
				require.NoError(tb, err)
				found = true
			}
		}
		_ = res.Body.Close()
		require.True(tb, found, "no HeapAlloc in the worker's heap profile")
	}
	return heap
}

// slopeSaveWorkerProfile saves the worker's heap profile, when asked to.
func slopeSaveWorkerProfile(tb testing.TB, addr, name string) {
	tb.Helper()
	if *slopeProfiles == "" {
		return
	}
	res, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1")
	require.NoError(tb, err)
	defer res.Body.Close()
	require.NoError(tb, os.MkdirAll(*slopeProfiles, 0o755))
	f, err := os.Create(filepath.Join(*slopeProfiles, name+".pb.gz"))
	require.NoError(tb, err)
	defer f.Close()
	_, err = io.Copy(f, res.Body)
	require.NoError(tb, err)
	tb.Logf("worker heap profile: %s", f.Name())
}

// BenchmarkMemoryPerInflightJob is the heap per archive job in flight
// on both sides: one archiver-node worker process
// (-capacity the largest of -slope.inflight, -pprof) uploads to the dev
// Bee through a proxy that holds every upload, so the jobs stay in flight:
// fetched by the worker, assigned in the orchestrator's workers' service.
// Jobs are a -slope.job-kib KiB source with renditions of ½ and ¼. At each
// -slope.inflight count (the proxy holding that many uploads, the service
// that many assignments) the orchestrator's heap after GC (this process;
// the proxy's few KB per held request included) and the worker's (its
// /debug/pprof/heap?gc=1) are read; the slopes are bytes per job in flight
// and their ratio to the job's bytes. Then the proxy lets the uploads
// through and every file must be archived. Sub-benchmarks: the worker's
// offline reference check (-verify) on and off.
func BenchmarkMemoryPerInflightJob(b *testing.B) {
	counts := slopeInts(b, *slopeInflight)
	bin := *slopeBin
	if bin == "" {
		bin = archiverNode(b)
	}
	for _, verify := range []bool{true, false} {
		b.Run(fmt.Sprintf("verify=%v", verify), func(b *testing.B) {
			for b.Loop() {
				slopeInflightJobs(b, bin, counts, verify)
			}
		})
	}
}

func slopeInflightJobs(b *testing.B, bin string, counts []int, verify bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(b, err)
	r := startSlopeRig(b, ctx, batch, slopeRigConfig{tls: true, nodeBin: bin, acceptWait: time.Minute,
		streams: streams.Config{PublishEvery: 1 << 20, PublishInterval: time.Hour, IdleTimeout: time.Hour, TeardownGrace: time.Hour}})
	defer r.Close()
	stall := gate(b, r.Rig, rig.Fault{}) // holds every upload until released
	capacity := slices.Max(counts)
	metrics := freeAddr(b)
	startNode(b, ctx, r.Rig, rig.NodeConfig{Bee: stall.URL(), Capacity: capacity,
		Args: []string{"-metricsAddr", metrics, "-pprof", fmt.Sprintf("-verify=%v", verify)}})
	require.NoError(b, r.WaitWorkers(ctx, 1, 30*time.Second))

	source := *slopeJobKiB << 10
	jobBytes := source + source>>1 + source>>2
	const streamsN = 4
	streamOf := func(i int) (int, int64) { return i % streamsN, int64(i / streamsN) }
	load := perfLoadavg()
	var orch, work []slopePoint
	sent, accepted := 0, 0
	for _, k := range counts {
		n, err := r.sendAll(ctx, streamOf, sent, k, source, 4, false)
		require.NoError(b, err)
		accepted += n
		sent = max(sent, k)
		require.Eventually(b, func() bool {
			st := r.Host().SpoolStats()
			// Each job's three files are uploaded at once: 3k held uploads.
			return st.Pending == 0 && st.Leased == k && r.Host().DispatchHeld().Assigned == k && stall.Holding() == 3*k
		}, 2*time.Minute, 10*time.Millisecond, "spool %+v, held %+v, proxy holding %d", r.Host().SpoolStats(), r.Host().DispatchHeld(), stall.Holding())
		require.Eventually(b, func() bool {
			accepted += r.takeAccepted(b, streamsN)
			return accepted == sent
		}, time.Minute, 10*time.Millisecond, "segments ACCEPTED")
		o, w := slopePoint{k, r.heap()}, slopePoint{k, slopeWorkerHeap(b, metrics)}
		orch, work = append(orch, o), append(work, w)
		slopeProfileAt(b, fmt.Sprintf("orch-inflight-verify=%v", verify), k, counts)
		if k == counts[0] || k == counts[len(counts)-1] {
			slopeSaveWorkerProfile(b, metrics, fmt.Sprintf("worker-inflight-verify=%v-%d", verify, k))
		}
		b.Logf("%d jobs in flight: orchestrator heap %.2f MiB, worker heap %.2f MiB", k, o.heap/(1<<20), w.heap/(1<<20))
	}
	loadAfter := perfLoadavg()
	so, o0 := slopeFit(orch)
	sw, w0 := slopeFit(work)

	// Nothing lost: the uploads go through, every file is archived.
	stall.Release()
	require.Eventually(b, func() bool { st := r.Host().SpoolStats(); return st.Jobs == 0 && st.Pending == 0 },
		5*time.Minute, 20*time.Millisecond, "spool %+v", r.Host().SpoolStats())
	require.Equal(b, int64(sent), r.Host().DispatchMetrics().Archived)
	require.Zero(b, r.Host().DispatchMetrics().Redispatched, "a job went back: the stall outlived a deadline or the worker")
	for s := range min(streamsN, sent) {
		r.requireArchived(b, s, (sent-s+streamsN-1)/streamsN)
	}
	b.ReportMetric(so, "orch-B/job")
	b.ReportMetric(so/float64(jobBytes), "orch-x-job-bytes")
	b.ReportMetric(sw, "worker-B/job")
	b.ReportMetric(sw/float64(jobBytes), "worker-x-job-bytes")
	b.Logf("job: %d B (source %d + ½ + ¼); worker -capacity %d -verify=%v", jobBytes, source, capacity, verify)
	b.Logf("orchestrator: points %v; %.0f B per job in flight (%.2f× the job's bytes), %.2f MiB at none", orch, so, so/float64(jobBytes), o0/(1<<20))
	b.Logf("worker:       points %v; %.0f B per job in flight (%.2f× the job's bytes), %.2f MiB at none", work, sw, sw/float64(jobBytes), w0/(1<<20))
	b.Logf("loadavg %s before, %s after", load, loadAfter)
}

package integration_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

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

// TestSoak's load and length. Set once by flag.Parse, read-only afterwards.
// The defaults are the CI run; BENCHMARKS.md has the 10-minute command.
var (
	soakDuration = flag.Duration("soak.duration", 20*time.Second, "TestSoak: how long the load runs (the heap is compared between its halves)")
	soakStreams  = flag.Int("soak.streams", 8, "TestSoak: live streams at once; set to 80% of the ramp's maximum")
	soakKbps     = flag.Int("soak.kbps", 1500, "TestSoak: bits per second of one stream, source plus renditions (kbit/s)")
	soakLife     = flag.Int("soak.segments", 3, "TestSoak: segments a stream lives for before it ends and another starts")
	soakSegment  = flag.Duration("soak.segment", 2*time.Second, "TestSoak: segment duration: each stream sends one segment per period")
	soakHeapMiB  = flag.Float64("soak.heap-growth-mib", 8, "TestSoak: bound on the heap-after-GC growth between the halves (MiB)")
)

// startPerfRig is TestSoak's rig: any number of workers (none leaves every
// job in flight), sessions and streams that end seconds after their last
// segment.
func startPerfRig(tb testing.TB, ctx context.Context, batch string, workers int) perfRig {
	tb.Helper()
	return perfRig{startRig(tb, ctx, rig.Config{
		Host: host.Config{
			Spool:   spool.Config{MaxBytes: 4 << 30, QueueLen: 1024},
			Service: grpcsvc.Config{BaseTimeout: 30 * time.Second},
			Streams: streams.Config{PublishEvery: 15, PublishInterval: 2 * time.Second, IdleTimeout: 4 * time.Second},
		},
		Bee:        rig.Bee{Batch: batch},
		Workers:    workers,
		Worker:     worker.Config{ID: "perf", Capacity: 8},
		Decorator:  &orchestrator.Config{SessionTTL: 4 * time.Second},
		Transcoder: perfTranscoder(rand.New(rand.NewPCG(3, 4))),
	})}
}

// soakSample is one heap-after-GC reading.
type soakSample struct {
	at         time.Duration
	heap       uint64
	goroutines int
}

// TestSoak runs live streams at a fixed load through the decorator, the
// orchestrator side and two real workers into the dev Bee:
// -soak.streams streams at once, each sending one segment (source
// plus renditions of half and a quarter of it, -soak.kbps in all) per
// -soak.segment and ending after -soak.segments segments, when another
// takes its place. The heap after GC is read every second. After a warm-up
// (the first fifth of the run) the floor (least reading) of the second
// half may exceed the first's by at most -soak.heap-growth-mib: the floor
// is what stays, the rest is segments in flight (up to 16 worker slots of
// them), which the medians and maxima logged show. Every segment
// is accepted, none refused, and once the load stops every stream ends
// with every file of every segment archived (the index's records, written
// after the workers' checked reports). The CI run is short; the soak
// proper is BENCHMARKS.md's command.
func TestSoak(t *testing.T) {
	period, life, nStreams := *soakSegment, *soakLife, *soakStreams
	require.Positive(t, nStreams)
	require.Positive(t, life)
	ctx := testContext(t, *soakDuration+5*time.Minute)
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(t, err)
	r := startPerfRig(t, ctx, batch, 2)

	segBytes := int(int64(*soakKbps) * 1000 / 8 * int64(period) / int64(time.Second))
	sourceBytes := segBytes * 4 / 7 // source + 1/2 + 1/4 of it
	require.Greater(t, sourceBytes, 188)

	start := time.Now()
	load := perfLoadavg()
	var mu sync.Mutex
	var samples []soakSample
	sctx, stopSampling := context.WithCancel(ctx)
	sdone := make(chan struct{})
	go func() {
		defer close(sdone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-tick.C:
			}
			h := heapAfterGC(r.Rig)
			mu.Lock()
			samples = append(samples, soakSample{time.Since(start), h, runtime.NumGoroutine()})
			mu.Unlock()
		}
	}()

	// Each slot plays streams one after another, its segments one period
	// apart; the slots start spread over one period.
	type tally struct{ streams, segments, accepted, pending int }
	tallies := make([]tally, nStreams)
	deadline := start.Add(*soakDuration)
	g, gctx := errgroup.WithContext(ctx)
	for slot := range nStreams {
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(slot), 9))
			tk := &tallies[slot]
			next := start.Add(period * time.Duration(slot) / time.Duration(nStreams))
			for k := 0; time.Now().Before(deadline); k++ {
				stream := slot + k*nStreams
				tk.streams++
				for seq := int64(0); seq < int64(life) && time.Now().Before(deadline); seq++ {
					select {
					case <-gctx.Done():
						return gctx.Err()
					case <-time.After(time.Until(next)):
					}
					next = next.Add(period)
					receipts, err := r.perfSend(gctx, stream, seq, perfSegmentData(rng, sourceBytes))
					if err != nil {
						return err
					}
					tk.segments++
					for _, rc := range receipts {
						switch rc.GetStatus() {
						case archiverpb.ArchiveReceipt_ACCEPTED:
							tk.accepted++
						case archiverpb.ArchiveReceipt_PENDING:
							tk.pending++
						default:
							return fmt.Errorf("stream %d seq %d: receipt %s %s: %s", stream, rc.GetSeq(), rc.GetStatus(), rc.GetReason(), rc.GetDetail())
						}
					}
				}
				r.endStream(stream)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
	loaded := time.Since(start)
	stopSampling()
	<-sdone
	loadAfter := perfLoadavg()

	var total tally
	for _, tk := range tallies {
		total.streams += tk.streams
		total.segments += tk.segments
		total.accepted += tk.accepted
		total.pending += tk.pending
	}

	// The heap: medians of the halves after the warm-up.
	var first, second []uint64
	var peakG int
	for _, s := range samples {
		peakG = max(peakG, s.goroutines)
		switch warm := loaded / 5; {
		case s.at < warm:
		case s.at < warm+(loaded-warm)/2:
			first = append(first, s.heap)
		default:
			second = append(second, s.heap)
		}
	}
	require.NotEmpty(t, first, "no heap sample in the first half: run longer")
	require.NotEmpty(t, second, "no heap sample in the second half: run longer")
	median := func(v []uint64) uint64 { s := slices.Sorted(slices.Values(v)); return s[len(s)/2] }
	mib := func(v uint64) float64 { return float64(v) / (1 << 20) }
	m1, m2 := median(first), median(second)
	f1, f2 := slices.Min(first), slices.Min(second)
	growth := float64(int64(f2)-int64(f1)) / (1 << 20)
	rate := float64(total.segments) * float64(segBytes) * 8 / loaded.Seconds() / 1e6
	t.Logf("load: %d streams × %d kbit/s (%d B segments every %v, %d segments a stream): %.1f Mbit/s for %v; %d streams, %d segments",
		nStreams, *soakKbps, segBytes, period, life, rate, loaded.Round(time.Second), total.streams, total.segments)
	t.Logf("loadavg %s before, %s after", load, loadAfter)
	t.Logf("heap after GC, first half / second half: floor %.1f / %.1f MiB (%+.2f MiB, bound %.0f), median %.1f / %.1f MiB, max %.1f / %.1f MiB; %d / %d readings; goroutines at most %d",
		mib(f1), mib(f2), growth, *soakHeapMiB, mib(m1), mib(m2), mib(slices.Max(first)), mib(slices.Max(second)), len(first), len(second), peakG)
	t.Logf("receipts in the replies: %d ACCEPTED (a segment's own or an earlier one's), %d PENDING (the outcome came later)", total.accepted, total.pending)
	require.Less(t, growth, *soakHeapMiB, "the heap grows under a steady load")

	// Nothing lost: every stream ends with every file archived.
	settled := time.Now()
	require.Eventually(t, func() bool {
		st := r.Host().SpoolStats()
		return st.Jobs == 0 && st.Pending == 0 && r.Host().OpenStreams() == 0
	}, 3*time.Minute, 50*time.Millisecond, "the spool never drained: %+v", r.Host().SpoolStats())
	t.Logf("backlog archived and every stream ended %v after the load stopped", time.Since(settled).Round(time.Millisecond))
	var archived int
	for slot := range nStreams {
		for k := range tallies[slot].streams {
			stream := slot + k*nStreams
			id := catalog.StreamID{ManifestID: fmt.Sprintf("perf-%06d", stream), Sender: churnSender(stream)}
			info, err := r.Host().StreamInfo(id)
			if err != nil {
				continue // ended before its first segment
			}
			require.Equal(t, catalog.Ended, info.State, id.String())
			recs, err := r.Host().StreamRecords(id)
			require.NoError(t, err)
			for _, rec := range recs {
				require.Equal(t, catalog.Archived, rec.State, "%s: a file not archived", id)
				archived++
			}
		}
	}
	require.Equal(t, 3*total.segments, archived, "files archived")
}

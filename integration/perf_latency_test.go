package integration_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/internal/testbed"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// BenchmarkSegmentLatency's knobs. Set once by flag.Parse, read-only
// afterwards; BENCHMARKS.md has the commands.
var (
	perfBacklog = flag.Int("perf.backlog", 16, "BenchmarkSegmentLatency: archive jobs the spool may hold before the next pair waits for the workers")
	perfWorkers = flag.Int("perf.workers", 2, "BenchmarkSegmentLatency: archiver-node worker processes archiving into the dev Bee")
	perfPinCPU  = flag.Bool("perf.pin", false, "BenchmarkSegmentLatency: pin Bee and the workers to the last CPU and the orchestrator side to the others, as on separate machines")
)

const (
	// perfWarmup pairs are sent before the clock starts: TLS sessions,
	// ticket sessions, the index's first pages.
	perfWarmup = 10
	// perfSources distinct sources, 250 KB to 1 MB, are cycled through.
	perfSources = 16
)

// perfPool is the bytes every source and rendition is cut from: the
// instant transcoder allocates nothing, so the figures are the
// orchestrator's own.
func perfPool(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, 2<<20)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// perfInstant is a transcoder that answers at once with renditions of half
// and a quarter of the source's size, cut from pool: what go-livepeer's
// transcoder hands back, minus the transcoding.
func perfInstant(pool []byte) testbed.Transcoder {
	return func(_ context.Context, md *orchestrator.SegTranscodingMetadata, source []byte) (*orchestrator.TranscodeData, error) {
		td := &orchestrator.TranscodeData{}
		for i := range md.Profiles {
			n := len(source) >> (i + 1)
			td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: pool[len(pool)-n:], Pixels: int64(n)})
			td.Pixels += int64(n)
		}
		return td, nil
	}
}

// perfSourcesOf are the sources, 250 KB to 1 MB, cut from pool.
func perfSourcesOf(pool []byte) []testbed.Segment {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]testbed.Segment, perfSources)
	for i := range out {
		n := 250_000 + r.IntN(750_001)
		off := r.IntN(len(pool) - n)
		out[i] = testbed.Segment{Data: pool[off : off+n], Duration: 2 * time.Second}
	}
	return out
}

// perfLoadavg is the first three fields of /proc/loadavg.
func perfLoadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// perfQuantiles are p50, p90, p99 and max.
type perfQuantiles struct{ p50, p90, p99, max time.Duration }

func perfQuantilesOf(ds []time.Duration) perfQuantiles {
	s := slices.Sorted(slices.Values(ds))
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return perfQuantiles{at(0.50), at(0.90), at(0.99), s[len(s)-1]}
}

func (q perfQuantiles) String() string {
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }
	return fmt.Sprintf("p50 %s / p90 %s / p99 %s / max %s µs", us(q.p50), us(q.p90), us(q.p99), us(q.max))
}

// BenchmarkSegmentLatency times go-livepeer's /segment round trip
// through the testbed orchestrator, over HTTPS with PM tickets,
// for segments that ask for archiving and segments that do not, sent
// alternately (on, off, off, on, ...) on one orchestrator, so that both
// see the same machine. The transcoder answers at once with pre-made
// renditions, so the difference is the archiver's share of the reply:
// the decorator, the index record and the spool's durable write it waits
// for (AcceptWait). Real archiver-node workers archive the "on" segments
// into the dev Bee meanwhile; the next pair waits while more than
// -perf.backlog jobs are spooled, so the run goes at the archive rate.
// One iteration is one pair; -benchtime 500x sends 500 of each.
//
// Sub-benchmarks: wait=none is the decorator's default (the reply does
// not wait for the spool: it says PENDING and a later one carries the
// outcome); wait=250ms is -archiveAcceptWait=250ms (the reply waits for
// the durable write and carries ACCEPTED); archiving=none sends both
// streams without the Archive bit, so nothing is archived at all: the
// live path's own spread on this machine, without archiving's load.
//
// Besides the round trips, it reads the decorator's reply hold histogram
// (archiver_orchestrator_reply_hold_seconds): the time each "on" reply
// spent in the decorator, i.e. exactly what archiving added to it,
// without the round trip's noise.
func BenchmarkSegmentLatency(b *testing.B) {
	for _, bc := range []struct {
		name    string
		wait    time.Duration
		archive bool
	}{{"wait=none", 0, true}, {"wait=250ms", 250 * time.Millisecond, true}, {"archiving=none", 0, false}} {
		b.Run(bc.name, func(b *testing.B) { perfSegmentLatency(b, bc.wait, bc.archive) })
	}
}

func perfSegmentLatency(b *testing.B, wait time.Duration, archive bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(b, err)
	pool := perfPool(7)
	sources := perfSourcesOf(pool)
	r := startRig(b, ctx, rig.Config{
		Host: host.Config{Logger: slog.New(slog.DiscardHandler)}, // the testbed's quiet default, not stderr
		Testbed: &testbed.OrchestratorConfig{
			TranscodePrice: &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 100},
			ArchivePrice:   &lpnet.PriceInfo{PricePerUnit: 3, PixelsPerUnit: 1000},
			TicketEV:       big.NewInt(1_000_000_000_000),
			Streams:        streams.Config{PublishEvery: 30, PublishInterval: 2 * time.Second, IdleTimeout: time.Hour},
			AcceptWait:     wait,
		},
		Transcoder: perfInstant(pool),
		Bee:        rig.Bee{Batch: batch},
		Nodes:      *perfWorkers, // Start waits until they registered
		Node:       rig.NodeConfig{Capacity: 4},
	})
	o := r.Testbed()
	pids := []int{dev.Pid()}
	for _, n := range r.Nodes() {
		pids = append(pids, n.Pid())
	}
	if *perfPinCPU {
		unpin, err := perfPin(pids...)
		require.NoError(b, err)
		b.Cleanup(unpin)
	}

	bc, err := o.NewBroadcaster()
	require.NoError(b, err)
	on, err := bc.Open(ctx, o.RPCAddr, archive)
	require.NoError(b, err)
	off, err := bc.Open(ctx, o.RPCAddr, false)
	require.NoError(b, err)

	var onT, offT, diff []time.Duration
	var accepted, pending int
	send := func(s *testbed.Session, seq int64, archive bool) time.Duration {
		mid := "perf-off"
		if s == on {
			mid = "perf-on"
		}
		req, err := s.Build(mid, seq, sources[int(seq)%len(sources)], -1)
		require.NoError(b, err)
		rep, err := s.Post(ctx, req)
		require.NoError(b, err)
		require.Equal(b, 200, rep.Status, rep.Text)
		for _, r := range rep.Receipts.GetReceipts() {
			switch r.GetStatus() {
			case archiverpb.ArchiveReceipt_ACCEPTED:
				accepted++
			case archiverpb.ArchiveReceipt_PENDING:
				pending++
			default:
				b.Fatalf("seq %d: receipt %s %s: %s", r.GetSeq(), r.GetStatus(), r.GetReason(), r.GetDetail())
			}
		}
		if !archive {
			require.Empty(b, rep.Receipts.GetReceipts(), "a stock segment got a receipt")
		}
		return rep.Elapsed
	}
	pace := func() {
		for st := r.Host().SpoolStats(); st.Jobs+st.Pending > *perfBacklog; st = r.Host().SpoolStats() {
			select {
			case <-ctx.Done():
				b.Fatal(ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	seq := int64(0)
	pair := func(record bool) {
		pace()
		var tOn, tOff time.Duration
		if seq%2 == 0 { // alternate which goes first
			tOn, tOff = send(on, seq, archive), send(off, seq, false)
		} else {
			tOff, tOn = send(off, seq, false), send(on, seq, archive)
		}
		seq++
		if record {
			onT, offT, diff = append(onT, tOn), append(offT, tOff), append(diff, tOn-tOff)
		}
	}
	for range perfWarmup {
		pair(false)
	}
	holdBefore := perfHold(b, r)
	load := perfLoadavg()
	b.ResetTimer()
	for b.Loop() {
		pair(true)
	}
	b.StopTimer()
	hold := perfHold(b, r).since(holdBefore)
	if archive {
		require.Equal(b, uint64(len(onT)), hold.count, "one hold sample per archived reply")
	} else {
		require.Zero(b, hold.count, "nothing asked for archiving")
	}
	qOn, qOff, qDiff := perfQuantilesOf(onT), perfQuantilesOf(offT), perfQuantilesOf(diff)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(qOn.p50), "on-p50-µs")
	b.ReportMetric(us(qOn.p99), "on-p99-µs")
	b.ReportMetric(us(qOff.p50), "off-p50-µs")
	b.ReportMetric(us(qOff.p99), "off-p99-µs")
	b.ReportMetric(us(qOn.p50-qOff.p50), "added-p50-µs")
	b.ReportMetric(us(qOn.p99-qOff.p99), "added-p99-µs")
	b.ReportMetric(us(hold.quantile(0.50)), "hold-p50-µs≤")
	b.ReportMetric(us(hold.quantile(0.99)), "hold-p99-µs≤")
	m := r.Host().DispatchMetrics()
	b.Logf("%d pairs, sources 250 KB-1 MB + renditions of 1/2 and 1/4, %d workers, backlog ≤ %d; loadavg %s before, %s after",
		len(onT), *perfWorkers, *perfBacklog, load, perfLoadavg())
	b.Logf("archiving on:  %s", qOn)
	b.Logf("archiving off: %s", qOff)
	b.Logf("on - off, pair by pair: %s", qDiff)
	b.Logf("decorator hold (histogram bucket bounds): p50 ≤ %.0f µs, p99 ≤ %.0f µs, max ≤ %.0f µs; %.1f%% ≤ 1 ms; mean %.0f µs; CPUs pinned: %v",
		us(hold.quantile(0.5)), us(hold.quantile(0.99)), us(hold.quantile(1)), 100*hold.fractionWithin(time.Millisecond), us(hold.mean()), *perfPinCPU)
	b.Logf("receipts: %d accepted, %d pending (outcome in a later reply); jobs archived meanwhile %d", accepted, pending, m.Archived)
}

// perfHoldSnapshot is the decorator's reply hold histogram at one moment.
type perfHoldSnapshot struct {
	count  uint64
	sum    float64
	bounds []float64 // seconds, ascending; +Inf is implicit
	counts []uint64  // cumulative, per bound
}

func perfHold(tb testing.TB, r *rig.Rig) perfHoldSnapshot {
	tb.Helper()
	var m dto.Metric
	require.NoError(tb, r.Decorator().Collector().(prometheus.Histogram).Write(&m))
	h := m.GetHistogram()
	s := perfHoldSnapshot{count: h.GetSampleCount(), sum: h.GetSampleSum()}
	for _, bk := range h.GetBucket() {
		s.bounds = append(s.bounds, bk.GetUpperBound())
		s.counts = append(s.counts, bk.GetCumulativeCount())
	}
	return s
}

// since is the histogram of the samples taken after before.
func (s perfHoldSnapshot) since(before perfHoldSnapshot) perfHoldSnapshot {
	out := perfHoldSnapshot{count: s.count - before.count, sum: s.sum - before.sum, bounds: s.bounds}
	for i := range s.counts {
		out.counts = append(out.counts, s.counts[i]-before.counts[i])
	}
	return out
}

// quantile is the upper bound of the bucket holding the q-th sample: the
// q-quantile is at most this. Past the last bound it is +Inf.
func (s perfHoldSnapshot) quantile(q float64) time.Duration {
	need := uint64(math.Ceil(q * float64(s.count)))
	for i, c := range s.counts {
		if c >= need {
			return time.Duration(s.bounds[i] * float64(time.Second))
		}
	}
	return time.Duration(math.MaxInt64)
}

// fractionWithin is the share of samples at most d, d being a bucket bound.
func (s perfHoldSnapshot) fractionWithin(d time.Duration) float64 {
	for i, bound := range s.bounds {
		if math.Abs(bound-d.Seconds()) < 1e-12 && s.count > 0 {
			return float64(s.counts[i]) / float64(s.count)
		}
	}
	return math.NaN()
}

func (s perfHoldSnapshot) mean() time.Duration {
	if s.count == 0 {
		return 0
	}
	return time.Duration(s.sum / float64(s.count) * float64(time.Second))
}

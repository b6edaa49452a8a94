package integration_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/worker"
)

const (
	churnWorkers  = 2
	churnCapacity = 16
	// churnIdleTimeout is streams.Config.IdleTimeout; the keeper sweeps
	// every min(PublishInterval, 1 s) = churnSweep.
	churnIdleTimeout = 2 * time.Second
	churnSweep       = time.Second
	// churnSessionTTL is orchestrator.Config.SessionTTL, checked every
	// TTL/4.
	churnSessionTTL = 2 * time.Second
	// churnSlack absorbs scheduling and one bbolt commit on a busy
	// two-core machine.
	churnSlack = time.Second
	// churnHeapPerStream bounds heap growth per stream. One stream moves
	// 15 KB of segments and runs some 30 goroutines: keeping either shows
	// far above it. The small per-stream entries (keeper, decorator
	// session, affinity) are checked exactly, by the maps' sizes. What
	// remains is noise: the runtime keeps the descriptors of the most
	// goroutines ever alive at once (worker publishes fan out to one
	// goroutine and upload per manifest node), and bbolt's free list grows
	// with the index.
	churnHeapPerStream = 2048
)

var churnProfiles = []string{"360p", "240p"}

// churnFiles are the archive's rendition folders, in job order.
var churnFiles = append([]string{"source"}, churnProfiles...)

// churnData is the content of one file of one segment: distinct for every
// (stream, seq, file), regenerated for the read-back instead of kept.
// Each fits one Swarm chunk.
func churnData(manifestID string, seq int64, file int) []byte {
	h := fnv.New64a()
	h.Write([]byte(manifestID))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(seq)<<8|uint64(file)))
	b := make([]byte, []int{3000, 1500, 700}[file]+r.IntN(64))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0x47 // MPEG-TS sync byte
	return b
}

func churnManifest(i int) string { return fmt.Sprintf("churn-%05d", i) }

func churnSender(i int) common.Address { return common.Address{0xc0, byte(i % 8)} }

// churnTranscoder is what the rig's stand-in for go-livepeer's core
// transcodes with: the renditions churnData makes (ffmpeg is TestEndToEnd's
// business; here the session churn is).
func churnTranscoder(_ context.Context, md *orchestrator.SegTranscodingMetadata, _ []byte) (*orchestrator.TranscodeData, error) {
	td := &orchestrator.TranscodeData{}
	for i := range churnProfiles {
		td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: churnData(string(md.ManifestID), md.Seq, i+1), Pixels: 1000})
		td.Pixels += 1000
	}
	return td, nil
}

// churnStream is what the test keeps about one stream while it runs: fixed
// size, allocated before the heap baseline.
type churnStream struct {
	idle     bool
	lastSend atomic.Int64  // UnixNano the last segment was handed to the decorator
	lastUse  atomic.Int64  // UnixNano before the last reply's TakeReceipts
	expired  atomic.Int64  // UnixNano the decorator was seen without the session
	accepted atomic.Uint64 // bit seq: an ACCEPTED receipt came back
	pending  atomic.Uint64 // bit seq: the reply said PENDING
}

// churnRig is the orchestrator side as go-livepeer hosts it (host, the
// decorator over the rig's stand-in core, the workers' gRPC service) plus
// in-process workers archiving into the shared Bee dev node.
type churnRig struct {
	*rig.Rig
	streams []churnStream
	peak    atomic.Int64 // most goroutines seen at once
}

func startChurnRig(t *testing.T, ctx context.Context, batch string, total int) *churnRig {
	t.Helper()
	r := &churnRig{streams: make([]churnStream, total)}
	r.Rig = startRig(t, ctx, rig.Config{
		Host: host.Config{
			// The hand-off queue holds what the live streams may send beyond
			// churnBacklog, so the spool never refuses for want of it (its
			// refusals are tested in package spool).
			Spool:   spool.Config{MaxBytes: 256 << 20, QueueLen: 1024},
			Service: grpcsvc.Config{BaseTimeout: 10 * time.Second},
			// Segments never reach PublishEvery: a stream is published at the
			// interval while live, and once more, final, at its end.
			Streams: streams.Config{PublishEvery: 100, PublishInterval: churnSweep, IdleTimeout: churnIdleTimeout},
		},
		Bee:     rig.Bee{Batch: batch},
		Workers: churnWorkers,
		Worker:  worker.Config{ID: "churn", Capacity: churnCapacity},
		Decorator: &orchestrator.Config{
			SessionTTL: churnSessionTTL,
			// The churn submits as fast as the rig can, far above live rates.
			// Without a wait nothing throttles it: some 4,500 segments were in
			// flight at once, and the Go runtime keeps every goroutine
			// descriptor it ever made (about 2 KB per stream of heap after
			// GC, a high-water mark rather than a leak). Waiting for each
			// durable write, as a broadcaster's pace does, keeps the heap
			// figure about what ended streams leave behind.
			AcceptWait: 5 * time.Second,
		},
		Transcoder: churnTranscoder,
	})
	return r
}

// run plays stream i as go-livepeer's ServeSegment drives the decorator,
// segment by segment: payment, transcode (the decorator archives), fee
// debit, receipts for the reply. A stopped stream then ends as the hook
// does when go-livepeer drops the session; an idle one just goes quiet.
func (r *churnRig) run(ctx context.Context, i, segments int) error {
	st := &r.streams[i]
	mid, sender := churnManifest(i), churnSender(i)
	session := archiver.ManifestID(fmt.Sprintf("session-%05d", i))
	caps := capability.Request(r.Core().Capabilities(), capability.DefaultArchiveID)
	dec := r.Decorator()
	if err := r.pace(ctx); err != nil {
		return err
	}
	for seq := range int64(segments) {
		if err := dec.ProcessPayment(ctx, &lpnet.Payment{Sender: sender.Bytes()}, session); err != nil {
			return fmt.Errorf("%s seq %d: payment: %w", mid, seq, err)
		}
		st.lastSend.Store(time.Now().UnixNano())
		md := &orchestrator.SegTranscodingMetadata{ManifestID: archiver.ManifestID(mid), Seq: seq, Duration: 2 * time.Second,
			Caps: caps, Profiles: churnProfiles, AuthToken: &lpnet.AuthToken{SessionId: string(session)}}
		res, err := dec.TranscodeSeg(ctx, md, &orchestrator.HLSSegment{SeqNo: uint64(seq), Data: churnData(mid, seq, 0), Duration: 2})
		if err == nil && res.Err != nil {
			err = res.Err
		}
		if err != nil {
			return fmt.Errorf("%s seq %d: transcode: %w", mid, seq, err)
		}
		dec.DebitFees(sender, session, &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}, res.TranscodeData.Pixels)
		st.lastUse.Store(time.Now().UnixNano())
		for _, rc := range dec.TakeReceipts(session).GetReceipts() {
			switch rc.GetStatus() {
			case archiverpb.ArchiveReceipt_ACCEPTED:
				st.accepted.Or(1 << rc.GetSeq())
			case archiverpb.ArchiveReceipt_PENDING:
				st.pending.Or(1 << rc.GetSeq())
			default:
				return fmt.Errorf("%s seq %d: receipt %s %s: %s", mid, rc.GetSeq(), rc.GetStatus(), rc.GetReason(), rc.GetDetail())
			}
		}
	}
	if !st.idle {
		dec.EndSession(sender, session)
		r.Host().EndStream(catalog.StreamID{ManifestID: mid, Sender: sender})
		r.Core().Forget(sender, session)
	}
	return nil
}

// churnBacklog: a stream starts only while fewer jobs than this wait in
// the spool, so the test runs at the rate the orchestrator sustains on the
// machine at hand (fsynced index commits bound it) instead of measuring a
// growing backlog. A live stream is never held back: a pause between its
// segments longer than the idle timeout would rightly end it.
const churnBacklog = 4 * churnWorkers * churnCapacity

// pace waits until the spool has room for another stream.
func (r *churnRig) pace(ctx context.Context) error {
	for st := r.Host().SpoolStats(); st.Jobs+st.Pending >= churnBacklog; st = r.Host().SpoolStats() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// churn runs streams [from, to) with at most concurrency live at once.
func (r *churnRig) churn(ctx context.Context, from, to, concurrency, segments int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	for i := from; i < to; i++ {
		g.Go(func() error { return r.run(gctx, i, segments) })
	}
	return g.Wait()
}

// watchExpiry notes when each idle stream's decorator session disappears
// (and drops its balance in the stand-in core, as go-livepeer's TTL
// would), and the most goroutines alive at once, until ctx ends. With -v
// it logs progress every 10 s.
func (r *churnRig) watchExpiry(ctx context.Context, t *testing.T) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	live := map[archiver.ManifestID]bool{}
	lastLog := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.peak.Store(max(r.peak.Load(), int64(runtime.NumGoroutine())))
		if testing.Verbose() && time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			m := r.Host().DispatchMetrics()
			t.Logf("progress: %s; jobs archived %d, re-dispatched %d; goroutines %d", r.held(), m.Archived, m.Redispatched, runtime.NumGoroutine())
		}
		clear(live)
		for _, id := range r.Decorator().Sessions() {
			live[id] = true
		}
		now := time.Now().UnixNano()
		for i := range r.streams {
			st := &r.streams[i]
			if !st.idle || st.lastUse.Load() == 0 || st.expired.Load() != 0 {
				continue
			}
			session := archiver.ManifestID(fmt.Sprintf("session-%05d", i))
			if !live[session] {
				st.expired.Store(now)
				r.Core().Forget(churnSender(i), session)
			}
		}
	}
}

// held describes the per-stream and per-session state still in memory.
func (r *churnRig) held() string {
	st := r.Host().SpoolStats()
	return fmt.Sprintf("streams %d, decorator sessions %d, service %+v, spool jobs %d pending %d",
		r.Host().OpenStreams(), len(r.Decorator().Sessions()), r.Host().DispatchHeld(), st.Jobs, st.Pending)
}

// waitSettled waits until every stream has ended and all per-stream and
// per-session state is gone, or fails with what is left.
func (r *churnRig) waitSettled(t *testing.T, ctx context.Context, after string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !r.settled() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			var open []string
			for i := range r.streams {
				id := catalog.StreamID{ManifestID: churnManifest(i), Sender: churnSender(i)}
				info, err := r.Host().StreamInfo(id)
				if errors.Is(err, catalog.ErrUnknownStream) {
					continue // not run yet
				}
				pending, _ := r.Host().PendingRecords(id)
				if err != nil || info.State != catalog.Ended || !info.Published.Final || len(pending) > 0 {
					open = append(open, fmt.Sprintf("%s (idle %v): state %v final %v pending %d err %v",
						id.ManifestID, r.streams[i].idle, info.State, info.Published.Final, len(pending), err))
				}
			}
			t.Fatalf("state left %s: %s; sessions %v; streams not finished: %d %v", after, r.held(), r.Decorator().Sessions(),
				len(open), open[:min(len(open), 10)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *churnRig) settled() bool {
	st := r.Host().SpoolStats()
	return r.Host().OpenStreams() == 0 && len(r.Decorator().Sessions()) == 0 && st.Jobs == 0 && st.Pending == 0 &&
		r.Host().DispatchHeld() == grpcsvc.Held{Workers: churnWorkers}
}

// steadyGoroutines waits until the goroutine count stops changing (idle
// connections to Bee closed first) and returns it.
func (r *churnRig) steadyGoroutines(limit int) int {
	deadline := time.Now().Add(10 * time.Second)
	n := runtime.NumGoroutine()
	for time.Now().Before(deadline) {
		r.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n && (limit == 0 || m <= limit) {
			return m
		}
		n = m
	}
	return n
}

// TestChurn's size. Set once by flag.Parse, read-only afterwards. The
// defaults are what CI runs; RELIABILITY.md has the long run's command.
var (
	churnStreams     = flag.Int("churn.streams", 1000, "TestChurn: streams started and stopped (after a warm-up of 4 × concurrency)")
	churnSegments    = flag.Int("churn.segments", 3, "TestChurn: segments per stream")
	churnConcurrency = flag.Int("churn.concurrency", 24, "TestChurn: streams live at once")
	churnIdleEvery   = flag.Int("churn.idle-every", 10, "TestChurn: every n-th stream goes idle instead of being stopped")
)

// TestChurn is the churn RELIABILITY.md reports: streams start and stop, by
// the thousand, through the orchestrator decorator and the archiver's
// orchestrator side, with real workers archiving into a real Bee. Every
// tenth stream does not stop but goes quiet and must be ended by the idle
// timeout, its decorator session by the session TTL; a last batch of idle
// streams, with nothing else running, measures both against their stated
// bounds. At the end every stream's final manifest, read back from Bee,
// holds every segment of every rendition byte for byte; every per-stream
// and per-session map is empty; the running process has no more goroutines
// than after the warm-up and none is left once it is shut down; heap growth
// per stream is bounded.
func TestChurn(t *testing.T) {
	n, segments, concurrency, idleEvery := *churnStreams, *churnSegments, *churnConcurrency, *churnIdleEvery
	require.Positive(t, n)
	require.Positive(t, segments)
	require.LessOrEqual(t, segments, 64, "receipts are tracked in a 64-bit mask")
	const quiet = 20 // idle streams of the last, quiet phase
	warm := 4 * concurrency
	churnEnd := warm + n
	total := churnEnd + quiet
	ctx := testContext(t, 5*time.Minute+time.Duration(total)*100*time.Millisecond)
	batch, err := dev.BuyBatch(ctx, 24)
	require.NoError(t, err)

	baseline := runtime.NumGoroutine()
	leakBase := goleak.IgnoreCurrent()
	r := startChurnRig(t, ctx, batch, total) // closed after a failure; a pass closes it below
	for i := range r.streams {
		r.streams[i].idle = i >= churnEnd || (idleEvery > 0 && i%idleEvery == idleEvery-1)
	}
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() { defer close(wdone); r.watchExpiry(wctx, t) }()
	stopWatch := func() { wcancel(); <-wdone }
	t.Cleanup(stopWatch) // before the rig's Close: it reads the rig

	// Warm-up: pools, connections, the index's first pages, the runtime's
	// goroutine descriptors.
	require.NoError(t, r.churn(ctx, 0, warm, concurrency, segments))
	r.waitSettled(t, ctx, "after the warm-up")
	warmGoroutines := r.steadyGoroutines(0)
	heapBefore := heapAfterGC(r.Rig)

	started := time.Now()
	require.NoError(t, r.churn(ctx, warm, churnEnd, concurrency, segments))
	churned := time.Since(started)
	r.waitSettled(t, ctx, "after the churn")
	settled := time.Since(started)
	heapAfter := heapAfterGC(r.Rig)
	runningGoroutines := r.steadyGoroutines(warmGoroutines)
	growth := int64(heapAfter) - int64(heapBefore)
	t.Logf("%d streams × %d segments (3 files each), %d live at once, every %dth idle: submitted in %v, all ended and cleaned up after %v",
		n, segments, concurrency, idleEvery, churned.Round(time.Millisecond), settled.Round(time.Millisecond))
	t.Logf("heap after GC: %.2f MiB after the warm-up, %.2f MiB after the churn: %+d B per stream (bound %d B)",
		float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20), growth/int64(n), churnHeapPerStream)
	t.Logf("goroutines: %d before the rig, %d running after the warm-up, %d running after the churn, %d at the peak",
		baseline, warmGoroutines, runningGoroutines, r.peak.Load())
	require.LessOrEqual(t, runningGoroutines, warmGoroutines, "goroutines left behind by ended streams")
	require.Less(t, growth, int64(n)*churnHeapPerStream, "heap grows with the number of streams ended")

	// Quiet phase: idle streams with nothing else running, for the
	// timeouts' own figures.
	require.NoError(t, r.churn(ctx, churnEnd, total, quiet, segments))
	r.waitSettled(t, ctx, "after the idle streams")
	stopWatch()

	// go-livepeer drops those sessions only later (after 70 s without a
	// segment) and the hook ends them then: nothing comes back, nothing is
	// published again.
	published := map[int]time.Time{}
	for i := churnEnd; i < total; i++ {
		info, err := r.Host().StreamInfo(catalog.StreamID{ManifestID: churnManifest(i), Sender: churnSender(i)})
		require.NoError(t, err)
		published[i] = info.Published.At
		session := archiver.ManifestID(fmt.Sprintf("session-%05d", i))
		r.Decorator().EndSession(churnSender(i), session)
		r.Host().EndStream(catalog.StreamID{ManifestID: churnManifest(i), Sender: churnSender(i)})
	}
	// What the next ticks would do, now: a sweep of the streams, and of
	// the decorator's idle sessions.
	r.Host().Sweep(ctx)
	r.Decorator().Expire(time.Now())
	require.True(t, r.settled(), "a late end brought state back: %s", r.held())
	for i, at := range published {
		info, err := r.Host().StreamInfo(catalog.StreamID{ManifestID: churnManifest(i), Sender: churnSender(i)})
		require.NoError(t, err)
		require.True(t, at.Equal(info.Published.At), "%s published again", churnManifest(i))
	}

	// Every stream ended with a final manifest of all its segments, and
	// every segment had a receipt, none a refusal.
	var accepted, late, unseen int
	all := uint64(1)<<segments - 1
	final := make(map[int]swarm.Address, total)
	idleFigures := map[bool]*idleTimes{false: {}, true: {}} // by quiet phase
	for i := range r.streams {
		st := &r.streams[i]
		acc, pend := st.accepted.Load(), st.pending.Load()
		require.Equal(t, all, acc|pend, "%s: a segment without a receipt", churnManifest(i))
		accepted += bits.OnesCount64(acc &^ pend)
		late += bits.OnesCount64(acc & pend)
		unseen += bits.OnesCount64(pend &^ acc)
		id := catalog.StreamID{ManifestID: churnManifest(i), Sender: churnSender(i)}
		info, err := r.Host().StreamInfo(id)
		require.NoError(t, err)
		require.Equal(t, catalog.Ended, info.State, id.String())
		require.True(t, info.Published.Final, id.String())
		require.Equal(t, len(churnFiles)*segments, info.Published.Segments, "%s: final manifest's segments", id)
		final[i] = info.Published.Reference
		if st.idle {
			recs, err := r.Host().StreamRecords(id)
			require.NoError(t, err)
			idleFigures[i >= churnEnd].add(t, st, info, recs)
		}
	}
	t.Logf("receipts: %d segments accepted in their own reply, %d pending then accepted in a later one, %d pending when the session ended",
		accepted, late, unseen)

	// The keeper ends a stream IdleTimeout after its last activity (a
	// segment accepted or archived) at its next sweep, and finishes it
	// once nothing is pending: at least IdleTimeout after the last segment
	// was sent, at most IdleTimeout plus one sweep after the last one was
	// archived (the index's record times). The decorator forgets a session
	// SessionTTL after its last use, at its next check (every TTL/4).
	for _, quietPhase := range []bool{false, true} {
		f := idleFigures[quietPhase]
		if len(f.sinceSent) == 0 {
			continue // -churn.idle-every=0
		}
		phase := "during the churn"
		if quietPhase {
			phase = "quiet"
		}
		t.Logf("%d idle streams (%s) ended %s after their last segment was sent, %s after it was archived (IdleTimeout %v, sweep %v)",
			len(f.sinceSent), phase, spread(f.sinceSent), spread(f.sinceArchived), churnIdleTimeout, churnSweep)
		t.Logf("their decorator sessions expired %s after their last reply (SessionTTL %v, checked every %v)",
			spread(f.expiry), churnSessionTTL, churnSessionTTL/4)
		require.GreaterOrEqual(t, slices.Min(f.sinceSent), churnIdleTimeout, "an idle stream ended early (%s)", phase)
		require.GreaterOrEqual(t, slices.Min(f.expiry), churnSessionTTL, "a decorator session expired early (%s)", phase)
		if quietPhase { // under the churn's load, an index commit may take seconds
			require.LessOrEqual(t, slices.Max(f.sinceArchived), churnIdleTimeout+churnSweep+churnSlack, "an idle stream ended late")
			require.LessOrEqual(t, slices.Max(f.expiry), churnSessionTTL+churnSessionTTL/4+churnSlack, "a decorator session expired late")
		}
	}

	// Shut down: no goroutine of the rig may survive it. The in-process
	// workers drain and stop without an error.
	require.NoError(t, r.Close())
	require.NoError(t, goleak.Find(leakBase), "goroutines left after shutdown")
	t.Logf("goroutines after shutdown: %d (%d before the rig)", runtime.NumGoroutine(), baseline)

	// Nothing lost: every final manifest, read back from Bee, lists every
	// segment of every rendition, in order and without gaps, as a VOD, and
	// serves each one byte for byte.
	readStarted := time.Now()
	require.NoError(t, verifyChurn(ctx, final, segments))
	t.Logf("%d final manifests (%d playlists, %d segments) read back from Bee in %v", total, len(churnFiles)*total,
		len(churnFiles)*total*segments, time.Since(readStarted).Round(time.Millisecond))
}

// idleTimes are the measured teardowns of idle streams.
type idleTimes struct{ sinceSent, sinceArchived, expiry []time.Duration }

func (f *idleTimes) add(t *testing.T, st *churnStream, info catalog.StreamInfo, recs []catalog.Record) {
	t.Helper()
	var last time.Time
	for _, rec := range recs {
		require.Equal(t, catalog.Archived, rec.State)
		if rec.UpdatedAt.After(last) {
			last = rec.UpdatedAt
		}
	}
	require.NotZero(t, st.expired.Load(), "%s: decorator session never expired", info.ID)
	f.sinceSent = append(f.sinceSent, info.Ended.Sub(time.Unix(0, st.lastSend.Load())))
	f.sinceArchived = append(f.sinceArchived, info.Ended.Sub(last))
	f.expiry = append(f.expiry, time.Duration(st.expired.Load()-st.lastUse.Load()))
}

// spread formats durations as "min … / median … / max …".
func spread(ds []time.Duration) string {
	s := slices.Sorted(slices.Values(ds))
	return fmt.Sprintf("min %v / median %v / max %v", s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond),
		s[len(s)-1].Round(time.Millisecond))
}

// verifyChurn reads every final manifest back through /bzz.
func verifyChurn(ctx context.Context, final map[int]swarm.Address, segments int) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	defer tr.CloseIdleConnections()
	client, err := bee.New(dev.URL, bee.WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}))
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, ref := range final {
		g.Go(func() error { return verifyChurnStream(gctx, client, churnManifest(i), ref, segments) })
	}
	return g.Wait()
}

func verifyChurnStream(ctx context.Context, client *bee.Client, mid string, ref swarm.Address, segments int) error {
	get := func(path, contentType string) ([]byte, error) {
		c, err := client.Get(ctx, "/bzz/"+ref.String()+"/"+path, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", mid, path, err)
		}
		if c.ContentType != contentType {
			return nil, fmt.Errorf("%s: %s: content type %q, want %q", mid, path, c.ContentType, contentType)
		}
		return c.Data, nil
	}
	for file, name := range churnFiles {
		data, err := get(name+"/index.m3u8", archive.PlaylistContentType)
		if err != nil {
			return err
		}
		pl, err := hls.ParseMedia(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %s playlist: %w", mid, name, err)
		}
		if !pl.EndList || pl.PlaylistType != "VOD" || len(pl.Segments) != segments {
			return fmt.Errorf("%s: %s playlist: endlist %v, type %q, %d segments, want a VOD of %d", mid, name, pl.EndList,
				pl.PlaylistType, len(pl.Segments), segments)
		}
		for seq, s := range pl.Segments {
			if s.Seq != uint64(seq) || s.Gap || s.Duration != "2.000" {
				return fmt.Errorf("%s: %s: segment %d is seq %d, gap %v, EXTINF %q", mid, name, seq, s.Seq, s.Gap, s.Duration)
			}
			got, err := get(name+"/"+s.URI, "video/mp2t")
			if err != nil {
				return err
			}
			if !bytes.Equal(got, churnData(mid, int64(seq), file)) {
				return fmt.Errorf("%s: %s/%s differs from what was sent", mid, name, s.URI)
			}
		}
	}
	return nil
}

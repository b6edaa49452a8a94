package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/streams"
)

// archiveOne accepts and archives one segment of stream "m".
func archiveOne(t *testing.T, s *streams.Streams, seq int64) {
	t.Helper()
	require.NoError(t, (<-s.Intake(spoolNow{}).Submit(job(seq))).Err)
	require.NoError(t, s.Archived(context.Background(), job(seq), results(t, job(seq))))
}

func (p *publisher) endedStreams() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.ended...)
}

func (p *publisher) count() int {
	_, _, n := p.last()
	return n
}

// TestEndedStreamsAreForgotten: after its final publish a stream leaves
// the keeper's memory and the publisher is told; a later End (go-livepeer
// dropping the session after the idle timeout already ended it) publishes
// nothing and brings nothing back.
func TestEndedStreamsAreForgotten(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _, p := setup(t, streams.Config{PublishEvery: 100, PublishInterval: 50 * time.Millisecond, IdleTimeout: time.Hour})
	go func() { _ = s.Run(ctx) }()
	archiveOne(t, s, 0)
	require.Equal(t, 1, s.Len())
	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}
	s.End(id)
	require.Eventually(t, func() bool { return s.Len() == 0 }, 5*time.Second, time.Millisecond)
	_, final, n := p.last()
	require.True(t, final)
	require.Equal(t, []string{"m"}, p.endedStreams())

	s.End(id)
	s.Sweep(ctx)
	s.Sweep(ctx)
	require.Zero(t, s.Len())
	require.Equal(t, n, p.count(), "an ended stream is not published again")
}

// TestLateReportBringsNothingBack: a worker's report may land just after
// the teardown it unblocked has published the final manifest and
// forgotten the stream (a duplicate, or the report whose record let the
// teardown finish). It used to bring the stream back to memory as a live
// one, which only the idle timeout removed.
func TestLateReportBringsNothingBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _, p := setup(t, streams.Config{PublishEvery: 100, PublishInterval: 50 * time.Millisecond, IdleTimeout: time.Hour})
	go func() { _ = s.Run(ctx) }()
	archiveOne(t, s, 0)
	s.End(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	require.Eventually(t, func() bool { return s.Len() == 0 }, 5*time.Second, time.Millisecond)
	n := p.count()

	require.NoError(t, s.Archived(ctx, job(0), results(t, job(0))))
	require.NoError(t, s.Failed(ctx, job(0), "late"))
	require.Zero(t, s.Len(), "a report after the final publish brought the stream back")
	s.Sweep(ctx)
	s.Sweep(ctx)
	require.Equal(t, n, p.count(), "an ended stream is not published again")
}

// TestEndOfUnknownStreamIsForgotten: go-livepeer ends sessions that never
// archived; such a stream used to stay in memory for good and log an error
// at every sweep. It is now forgotten, quietly, IdleTimeout after End.
func TestEndOfUnknownStreamIsForgotten(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _, p := setup(t, streams.Config{PublishInterval: 50 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	go func() { _ = s.Run(ctx) }()
	s.End(catalog.StreamID{ManifestID: "never archived", Sender: common.Address{2}})
	require.Equal(t, 1, s.Len())
	require.Eventually(t, func() bool { return s.Len() == 0 }, 5*time.Second, time.Millisecond)
	require.Zero(t, p.count())
}

// TestEndBeforeTheFirstRecord: the intake records a segment after Submit
// returns, so go-livepeer may end the session before the index knows the
// stream. The End still counts: the stream is finished as soon as its
// segment is archived, not at the idle timeout.
func TestEndBeforeTheFirstRecord(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, _, p := setup(t, streams.Config{PublishEvery: 100, PublishInterval: 50 * time.Millisecond, IdleTimeout: time.Hour})
	go func() { _ = s.Run(ctx) }()
	s.End(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	s.Sweep(ctx) // finds no such stream yet
	s.Sweep(ctx)
	archiveOne(t, s, 0)
	require.Eventually(t, func() bool { _, final, _ := p.last(); return final }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return s.Len() == 0 }, 5*time.Second, time.Millisecond)
}

// TestIdleStreamIsEndedAndForgotten: a stream without a new segment for
// IdleTimeout gets its final publish within one sweep (PublishInterval, at
// most 1 s) and leaves memory.
func TestIdleStreamIsEndedAndForgotten(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const idle, sweep = 300 * time.Millisecond, 100 * time.Millisecond
	s, ix, p := setup(t, streams.Config{PublishEvery: 100, PublishInterval: sweep, IdleTimeout: idle})
	go func() { _ = s.Run(ctx) }()
	before := time.Now()
	archiveOne(t, s, 0)
	require.Eventually(t, func() bool { return s.Len() == 0 }, 5*time.Second, time.Millisecond)
	info, err := ix.StreamInfo(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	require.NoError(t, err)
	require.Equal(t, catalog.Ended, info.State)
	require.True(t, info.Published.Final)
	took := info.Ended.Sub(before)
	t.Logf("idle stream ended %v after its last segment (timeout %v, sweep %v)", took, idle, sweep)
	require.GreaterOrEqual(t, took, idle)
	require.Less(t, took, idle+sweep+500*time.Millisecond) // slack for a busy machine
	require.Equal(t, []string{"m"}, p.endedStreams())
}

// TestRestartFinishesAnInterruptedTeardown: a stream ended in the index
// whose final publish a crash interrupted gets it after a restart.
func TestRestartFinishesAnInterruptedTeardown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, ix, p := setup(t, streams.Config{PublishEvery: 100, PublishInterval: 50 * time.Millisecond, IdleTimeout: time.Hour})
	archiveOne(t, s, 0)
	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}
	require.NoError(t, ix.End(ctx, id)) // the crash came right after this

	restarted := streams.New(ix, p, streams.Config{PublishEvery: 100, PublishInterval: 50 * time.Millisecond, IdleTimeout: time.Hour})
	go func() { _ = restarted.Run(ctx) }()
	require.Eventually(t, func() bool { _, final, _ := p.last(); return final }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return restarted.Len() == 0 }, 5*time.Second, time.Millisecond)
	info, err := ix.StreamInfo(id)
	require.NoError(t, err)
	require.True(t, info.Published.Final)
	require.Equal(t, 2, info.Published.Segments)
}

// TestEndRightAfterSubmitLosesNothing: Submit returns before the segment
// is in the index, and go-livepeer may end the session right after the
// reply. A teardown sweeping in between used to find nothing pending, end
// the stream, and the index then refused the segment as arriving after the
// end: it was lost, and with the session gone nobody was told.
func TestEndRightAfterSubmitLosesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, ix, _ := setup(t, streams.Config{PublishEvery: 100, PublishInterval: time.Millisecond, IdleTimeout: time.Hour})
	go func() { _ = s.Run(ctx) }()
	in := s.Intake(spoolNow{})
	const n = 50
	var outcomes []<-chan archiver.Outcome
	var jobs []archiver.Job
	for i := range n {
		j := job(0)
		j.ManifestID = archiver.ManifestID(fmt.Sprintf("m%d", i))
		jobs = append(jobs, j)
		outcomes = append(outcomes, in.Submit(j))
		s.End(catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender})
	}
	for i, o := range outcomes {
		require.NoError(t, (<-o).Err, "stream %d", i)
	}
	for _, j := range jobs {
		require.NoError(t, s.Archived(ctx, j, results(t, j)))
	}
	require.Eventually(t, func() bool { return s.Len() == 0 }, 10*time.Second, time.Millisecond)
	for _, j := range jobs {
		info, err := ix.StreamInfo(catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender})
		require.NoError(t, err)
		require.True(t, info.Published.Final)
		require.Equal(t, 2, info.Published.Segments, "%s: the final manifest lacks the segment", j.ManifestID)
	}
}

// TestOneTeardownAtATime: while a stream waits for its pending segments,
// every sweep used to start another teardown goroutine, whether or not the
// last one had finished; with more ending streams than one sweep serves
// (or a slow index) they piled up without bound. At most one runs per
// stream.
func TestOneTeardownAtATime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 200
	s, _, _ := setup(t, streams.Config{PublishEvery: 100, PublishInterval: time.Millisecond, IdleTimeout: time.Hour})
	in := s.Intake(spoolNow{})
	for i := range n {
		j := job(0)
		j.ManifestID = archiver.ManifestID(fmt.Sprintf("m%d", i))
		require.NoError(t, (<-in.Submit(j)).Err) // pending until archived, which never comes
		s.End(catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender})
	}
	go func() { _ = s.Run(ctx) }()
	peak := 0
	for range 100 { // some 500 sweeps
		time.Sleep(5 * time.Millisecond)
		peak = max(peak, inTeardown(t))
	}
	t.Logf("teardowns running at once: at most %d for %d ending streams", peak, n)
	require.GreaterOrEqual(t, peak, n/2, "most teardowns never ran at once: the count is not measuring them")
	require.LessOrEqual(t, peak, n, "teardown goroutines pile up")
}

// inTeardown counts the goroutines inside Streams.teardown. Counting every
// goroutine instead also counts those that finished a teardown and have
// not exited yet, which a loaded machine leaves around for a while.
func inTeardown(t *testing.T) int {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&buf, 2))
	return strings.Count(buf.String(), "streams.(*Streams).teardown(")
}

package streams_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/streams"
)

// publisher records publishes; the real one dispatches to workers and is
// tested with them in the integration tests. With an owner it "updates"
// feeds; fail makes the next publish fail.
type publisher struct {
	mu    sync.Mutex
	specs []archive.Spec
	final []bool
	feeds []*dispatch.FeedTarget
	owner *common.Address
	fail  bool
	ended []string // StreamEnded calls
}

func (p *publisher) Publish(_ context.Context, req dispatch.PublishRequest) (dispatch.Published, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.feeds = append(p.feeds, req.Feed)
	if p.fail {
		p.fail = false
		return dispatch.Published{}, errors.New("no worker")
	}
	p.specs, p.final = append(p.specs, req.Spec), append(p.final, req.Final)
	ref := make([]byte, 32)
	ref[0] = byte(len(p.specs))
	out := dispatch.Published{Reference: swarm.NewAddress(ref)}
	if req.Feed != nil {
		out.Feed = &feed.Stored{Manifest: swarm.NewAddress(bytes.Repeat([]byte{0xfe}, 32)), Index: req.Feed.Index}
	}
	return out, nil
}

func (p *publisher) FeedOwner() (common.Address, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.owner == nil {
		return common.Address{}, false
	}
	return *p.owner, true
}

func (p *publisher) StreamEnded(manifestID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = append(p.ended, manifestID)
}

func (p *publisher) last() (archive.Spec, bool, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.specs) == 0 {
		return archive.Spec{}, false, 0
	}
	return p.specs[len(p.specs)-1], p.final[len(p.final)-1], len(p.specs)
}

// spoolNow accepts everything at once.
type spoolNow struct{}

func (spoolNow) Submit(archiver.Job) <-chan archiver.Outcome {
	ch := make(chan archiver.Outcome, 1)
	ch <- archiver.Outcome{}
	return ch
}

func job(seq int64) archiver.Job {
	return archiver.Job{Sender: common.Address{1}, ManifestID: "m", Seq: seq, Duration: 2 * time.Second,
		Source: []byte{byte(seq), 1}, Renditions: []archiver.Rendition{{Name: "360p", Data: []byte{byte(seq), 2}}}}
}

func results(t *testing.T, j archiver.Job) []archiver.FileResult {
	t.Helper()
	var out []archiver.FileResult
	for _, d := range [][]byte{j.Source, j.Renditions[0].Data} {
		ref, err := chunker.Reference(context.Background(), d, redundancy.NONE)
		require.NoError(t, err)
		out = append(out, archiver.FileResult{Reference: ref.Bytes(), Bytes: uint64(len(d))})
	}
	return out
}

func setup(t *testing.T, cfg streams.Config) (*streams.Streams, *catalog.Index, *publisher) {
	t.Helper()
	ix, err := catalog.Open(filepath.Join(t.TempDir(), "index.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	p := &publisher{}
	return streams.New(ix, p, cfg), ix, p
}

// TestCadenceAndTeardown: a publish after PublishEvery segments, none
// while segments are pending at teardown, then a final VOD with all.
func TestCadenceAndTeardown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, ix, p := setup(t, streams.Config{PublishEvery: 2, PublishInterval: time.Hour, IdleTimeout: time.Hour})
	in := s.Intake(spoolNow{})
	for seq := range int64(3) {
		require.NoError(t, (<-in.Submit(job(seq))).Err)
	}
	for seq := range int64(2) {
		require.NoError(t, s.Archived(ctx, job(seq), results(t, job(seq))))
	}
	require.Eventually(t, func() bool { _, _, n := p.last(); return n == 1 }, 5*time.Second, time.Millisecond)

	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}
	s.End(id)
	s.Sweep(ctx) // seq 2 is still pending
	s.Sweep(ctx)
	_, final, _ := p.last()
	require.False(t, final, "finished over a pending segment")
	go func() { _ = s.Run(ctx) }()

	require.NoError(t, s.Archived(ctx, job(2), results(t, job(2))))
	require.Eventually(t, func() bool { _, f, _ := p.last(); return f }, 5*time.Second, 10*time.Millisecond)
	spec, _, _ := p.last()
	require.Len(t, spec.Renditions, 2)
	require.Len(t, spec.Renditions[0].Segments, 3)
	info, err := ix.StreamInfo(id)
	require.NoError(t, err)
	require.Equal(t, catalog.Ended, info.State)

	// A segment arriving after the end is refused at intake.
	require.Error(t, (<-in.Submit(job(9))).Err)
}

// TestIntakeRefusesConflictingRepeat: the same seq with other bytes is
// refused before it reaches the spool.
func TestIntakeRefusesConflictingRepeat(t *testing.T) {
	s, _, _ := setup(t, streams.Config{})
	in := s.Intake(spoolNow{})
	require.NoError(t, (<-in.Submit(job(1))).Err)
	require.NoError(t, (<-in.Submit(job(1))).Err, "an identical repeat is fine")
	other := job(1)
	other.Source = []byte("different")
	err := (<-in.Submit(other)).Err
	require.ErrorIs(t, err, catalog.ErrConflict)
}

// spoolFull refuses everything.
type spoolFull struct{}

func (spoolFull) Submit(archiver.Job) <-chan archiver.Outcome {
	ch := make(chan archiver.Outcome, 1)
	ch <- archiver.Outcome{Err: archiver.ErrSpoolFull}
	return ch
}

// TestUnspooledIsAGapNotPending: a job the spool refused never blocks the
// stream's end.
func TestUnspooledIsAGapNotPending(t *testing.T) {
	s, ix, _ := setup(t, streams.Config{})
	err := (<-s.Intake(spoolFull{}).Submit(job(4))).Err
	require.True(t, errors.Is(err, archiver.ErrSpoolFull))
	pending, err := ix.Pending(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	require.NoError(t, err)
	require.Empty(t, pending)
}

// spoolGate holds every job until release is closed.
type spoolGate struct{ release chan struct{} }

func (g spoolGate) Submit(archiver.Job) <-chan archiver.Outcome {
	ch := make(chan archiver.Outcome, 1)
	go func() { <-g.release; ch <- archiver.Outcome{} }()
	return ch
}

// TestIntakeBoundsWhatWaits: segments the spool has not confirmed yet are
// bounded in bytes: past MaxIntakeBytes a segment is refused at once as
// SPOOL_FULL and leaves nothing in the index, the ones waiting are still
// accepted, and room comes back as they are spooled.
func TestIntakeBoundsWhatWaits(t *testing.T) {
	per := job(0).Bytes()
	s, ix, _ := setup(t, streams.Config{MaxIntakeBytes: 2 * per})
	gate := spoolGate{release: make(chan struct{})}
	in := s.Intake(gate)
	first, second := in.Submit(job(1)), in.Submit(job(2))
	refused := <-in.Submit(job(3))
	require.ErrorIs(t, refused.Err, archiver.ErrSpoolFull)
	close(gate.release)
	require.NoError(t, (<-first).Err)
	require.NoError(t, (<-second).Err)
	require.NoError(t, (<-in.Submit(job(3))).Err, "room again once the waiting ones are spooled")
	recs, err := ix.Records(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	require.NoError(t, err)
	require.Len(t, recs, 6, "segments 1, 2 and 3 (after the refusal), two files each")
}

// TestStopIntakeWaitsThenRefuses: StopIntake returns only once an earlier
// submit has its spool's outcome, and later submits are refused with
// ErrClosed, recording nothing.
func TestStopIntakeWaitsThenRefuses(t *testing.T) {
	s, ix, _ := setup(t, streams.Config{IdleTimeout: time.Hour})
	gate := spoolGate{release: make(chan struct{})}
	in := s.Intake(gate)
	first := in.Submit(job(0))

	stopped := make(chan struct{})
	go func() {
		s.StopIntake()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("StopIntake returned while a submit waited for the spool")
	case <-time.After(50 * time.Millisecond):
	}
	close(gate.release)
	require.NoError(t, (<-first).Err)
	<-stopped

	require.ErrorIs(t, (<-in.Submit(job(1))).Err, streams.ErrClosed)
	pending, err := ix.Pending(catalog.StreamID{ManifestID: "m", Sender: common.Address{1}})
	require.NoError(t, err)
	require.NotEmpty(t, pending, "the first segment is recorded, waiting for its archive")
	for _, f := range pending {
		require.Equal(t, uint64(0), f.Seq, "only the first segment is recorded")
	}
}

package streams

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
)

// Defaults of Config, stated in the package documentation.
const (
	DefaultPublishEvery    = 10
	DefaultPublishInterval = 30 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultTeardownGrace   = 2 * time.Minute
	DefaultMaxIntakeBytes  = 256 << 20
)

// Publisher stores a stream's manifest and updates its feed;
// grpcsvc.Server implements it.
type Publisher interface {
	Publish(ctx context.Context, req dispatch.PublishRequest) (dispatch.Published, error)
	// FeedOwner is the owner of the feeds publishes update; false when
	// streams get no feed.
	FeedOwner() (common.Address, bool)
	// StreamEnded tells the publisher a stream's final manifest is
	// published, so it can drop what it keeps per stream (grpcsvc: the
	// stream's worker affinity).
	StreamEnded(manifestID string)
}

// Config tunes the cadence and teardown.
type Config struct {
	PublishEvery    int
	PublishInterval time.Duration
	IdleTimeout     time.Duration
	TeardownGrace   time.Duration
	// MaxIntakeBytes bounds the bytes of segments handed to the intake
	// and not yet durably spooled (or refused). The reply does not wait
	// for them, so under an overload they would pile up in memory; past
	// the bound a segment is refused at once with
	// archiver.ErrSpoolFull (REFUSED SPOOL_FULL, not charged).
	MaxIntakeBytes int64
	Logger         *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PublishEvery <= 0 {
		c.PublishEvery = DefaultPublishEvery
	}
	if c.PublishInterval <= 0 {
		c.PublishInterval = DefaultPublishInterval
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.TeardownGrace <= 0 {
		c.TeardownGrace = DefaultTeardownGrace
	}
	if c.MaxIntakeBytes <= 0 {
		c.MaxIntakeBytes = DefaultMaxIntakeBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Streams implements archiver.Results and wraps the spool for the decorator.
type Streams struct {
	ix  *catalog.Index
	pub Publisher
	cfg Config
	log *slog.Logger

	intakeBytes atomic.Int64 // bytes submitted and not yet spooled or refused

	mu      sync.Mutex
	state   map[catalog.StreamID]*stream
	intakes int        // Intake submits without their outcome yet
	closing bool       // StopIntake was called: Intake refuses
	idle    *sync.Cond // on mu: intakes fell to zero
}

// stream is the in-memory side of a stream; the index holds the rest.
type stream struct {
	fresh      int       // segments recorded since the last publish
	dirty      bool      // something changed since the last publish
	active     time.Time // last segment accepted or reported
	publishing bool
	due        time.Time // when an interval publish is due, if dirty
	ending     time.Time // zero unless teardown started
	arriving   int       // jobs submitted and not yet recorded
	tearing    bool      // a teardown of the stream is running
}

var _ archiver.Results = (*Streams)(nil)

// New returns the stream keeper over an open index.
func New(ix *catalog.Index, pub Publisher, cfg Config) *Streams {
	cfg = cfg.withDefaults()
	s := &Streams{ix: ix, pub: pub, cfg: cfg, log: cfg.Logger, state: map[catalog.StreamID]*stream{}}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// Len is the number of streams held in memory: live ones, and ending ones
// until their final publish. A stream leaves once its final manifest is
// published, so Len returns to zero when every stream has ended; it exists
// for metrics and leak checks (integration/churn_test.go).
func (s *Streams) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.state)
}

func streamID(j archiver.Job) catalog.StreamID {
	return catalog.StreamID{ManifestID: string(j.ManifestID), Sender: j.Sender}
}

// files lists a job's files as the index names them.
func files(j archiver.Job) []archiver.Rendition {
	return append([]archiver.Rendition{{Name: "source", Data: j.Source}}, j.Renditions...)
}

// extinf is the EXTINF text of a segment duration.
func extinf(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// segmentFiles are a job's files as the index records them.
func segmentFiles(j archiver.Job) []catalog.SegmentFile {
	return segmentFilesKnown(j, nil)
}

// segmentFilesKnown is segmentFiles taking each file's content hash from
// results where the orchestrator gave it, hashing only the others.
func segmentFilesKnown(j archiver.Job, results []archiver.FileResult) []catalog.SegmentFile {
	fs := files(j)
	recs := make([]catalog.SegmentFile, len(fs))
	for i, f := range fs {
		var sum [sha256.Size]byte
		if i < len(results) && results[i].SHA256 != ([sha256.Size]byte{}) {
			sum = results[i].SHA256
		} else {
			sum = sha256.Sum256(f.Data)
		}
		recs[i] = catalog.SegmentFile{Rendition: f.Name, ContentHash: sum, Size: int64(len(f.Data))}
	}
	return recs
}

// record writes a job's files into the index as pending.
func (s *Streams) record(ctx context.Context, j archiver.Job) error {
	id := streamID(j)
	recs := segmentFiles(j)
	// One transaction, one fsync, for the whole segment: the decorator's
	// reply waits for it.
	if err := s.ix.AcceptSegment(ctx, id, uint64(j.Seq), extinf(j.Duration), ".ts", recs); err != nil {
		return err
	}
	s.touch(id, false)
	return nil
}

// touch notes activity; archived counts a segment towards the cadence.
func (s *Streams) touch(id catalog.StreamID, archived bool) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[id]
	if st == nil {
		st = &stream{due: time.Now().Add(s.phase(id))}
		s.state[id] = st
	}
	st.active = time.Now()
	if archived {
		st.fresh++
		st.dirty = true
	}
	return st
}

// phase is when a new stream's first interval publish falls: between half
// an interval and one, by the stream's id, so that streams started
// together do not all publish at the same tick, and keep apart after.
func (s *Streams) phase(id catalog.StreamID) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id.ManifestID))
	_, _ = h.Write(id.Sender[:])
	half := s.cfg.PublishInterval / 2
	return half + time.Duration(h.Sum64()%uint64(max(half, 1)))
}

// arriving notes a job submitted to the intake and not yet recorded.
func (s *Streams) arriving(id catalog.StreamID) *stream {
	st := s.touch(id, false)
	s.mu.Lock()
	defer s.mu.Unlock()
	st.arriving++
	return st
}

// arrived notes that a job's record is written (or refused).
func (s *Streams) arrived(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.arriving--
}

// Archived records a job's references (archiver.Results). Recording is
// idempotent: a late duplicate report changes nothing.
func (s *Streams) Archived(ctx context.Context, j archiver.Job, results []archiver.FileResult) error {
	id := streamID(j)
	// Accepting again is idempotent, and it covers a job spooled before a
	// crash kept it from the index. One transaction for the segment; the
	// dispatcher's hashes of the bytes, when given, are not computed again.
	recs := segmentFilesKnown(j, results)
	refs := make([]swarm.Address, len(recs))
	for i := range recs {
		refs[i] = swarm.NewAddress(results[i].Reference)
	}
	if err := s.ix.CompleteSegment(ctx, id, uint64(j.Seq), extinf(j.Duration), ".ts", recs, refs); err != nil {
		return s.refused(id, j, err)
	}
	st := s.reported(id)
	if st == nil {
		return nil
	}
	s.mu.Lock()
	due := st.fresh >= s.cfg.PublishEvery
	s.mu.Unlock()
	if due {
		go func() { _ = s.publish(context.WithoutCancel(ctx), id, false) }()
	}
	return nil
}

// refused logs an index policy refusal (a conflicting repeat, a segment of
// an ended stream) and finishes the job: retrying cannot change the answer.
func (s *Streams) refused(id catalog.StreamID, j archiver.Job, err error) error {
	if errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrEnded) || errors.Is(err, catalog.ErrReferenceMismatch) {
		s.log.Warn("segment not recorded", "stream", id.String(), "seq", j.Seq, "error", err)
		return nil
	}
	return fmt.Errorf("streams: %s seq %d: %w", id, j.Seq, err)
}

// Failed records a job no worker could archive: a gap in every rendition.
func (s *Streams) Failed(ctx context.Context, j archiver.Job, reason string) error {
	id := streamID(j)
	// Not s.record: that notes an arrival, and this is a report.
	err := s.ix.AcceptSegment(ctx, id, uint64(j.Seq), extinf(j.Duration), ".ts", segmentFiles(j))
	if err != nil && !errors.Is(err, catalog.ErrConflict) {
		return s.refused(id, j, err)
	}
	for _, f := range files(j) {
		if err := s.ix.Fail(ctx, id, f.Name, uint64(j.Seq), reason, true); err != nil {
			return s.refused(id, j, err)
		}
	}
	s.reported(id)
	return nil
}

// reported notes a worker's report, counting it towards the cadence. A
// report can land just after the teardown it unblocked published the final
// manifest and forgot the stream: that stream stays forgotten (nil), or it
// would come back as a live one that only the idle timeout removes.
func (s *Streams) reported(id catalog.StreamID) *stream {
	s.mu.Lock()
	known := s.state[id] != nil
	s.mu.Unlock()
	if !known {
		// Only a teardown that has ended the stream in the index removes
		// it from memory, and nothing re-opens an ended stream.
		if info, err := s.ix.StreamInfo(id); err == nil && info.State == catalog.Ended {
			return nil
		}
	}
	return s.touch(id, true)
}

// Package archiver is the domain every part of the archiver shares, free of
// any transport: a segment to archive (Job) and the interfaces between the
// parts that take it off go-livepeer's live path, queue it and archive it.
// The orchestrator seam, the spool, the stream keeper and the dispatcher all
// speak these types; none of them is needed to read them.
//
// A segment's way through the parts is drawn in docs/design.md.
package archiver

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// ManifestID names a stream (go-livepeer's core.ManifestID). go-livepeer
// also keys session balances by a ManifestID: the session id.
type ManifestID string

// Archiver takes archive work off the live path. Submit must not block on
// network or disk: it returns at once, and the outcome arrives on the
// channel exactly once, when the job is durably spooled (accepted) or
// turned away. The spool implements it.
type Archiver interface {
	Submit(job Job) <-chan Outcome
}

// Checker is implemented by an Archiver that can tell at once, without
// I/O, that it would turn a job away whatever its state: a manifest id or
// rendition name it cannot store. The orchestrator seam asks before
// reserving the fee, so such a job is refused with the reason instead of
// failing after a trip through the archiver.
type Checker interface {
	Check(job Job) error
}

// Job is one segment to archive: the source and every rendition.
type Job struct {
	Sender     common.Address
	ManifestID ManifestID
	Seq        int64
	// Duration is the segment's, from SegData; it becomes the EXTINF of
	// the archived playlists.
	Duration   time.Duration
	Source     []byte
	Renditions []Rendition
}

// Rendition is one transcoded rendition of a segment.
type Rendition struct {
	Name string
	Data []byte
}

// Bytes is what the archive fee is charged on: source plus renditions.
func (j Job) Bytes() int64 {
	n := int64(len(j.Source))
	for _, r := range j.Renditions {
		n += int64(len(r.Data))
	}
	return n
}

// Outcome is the archiver's answer to a Submit.
type Outcome struct {
	// Err is nil when the job was durably accepted. ErrSpoolFull refuses
	// it; any other error means it failed.
	Err error
}

// ErrEmptySegment: a segment whose source is 0 bytes. It is recorded as a
// gap, never archived; a 0-byte rendition of a segment with a source is a
// gap of that rendition alone.
var ErrEmptySegment = errors.New("empty segment: 0 bytes")

// ErrSpoolFull: the archiver's spool (or the sender's quota in it) has no
// room; old work is kept, new work is refused.
var ErrSpoolFull = errors.New("archive spool full")

// Queue is where accepted jobs wait for a worker: the orchestrator's
// durable spool, read by the dispatcher.
type Queue interface {
	// Next blocks until a job is available and leases it.
	Next(ctx context.Context) (QueuedJob, error)
	// Done removes a job for good once its result is recorded.
	Done(id string) error
	// Release returns a leased job to the queue.
	Release(id string) error
}

// QueuedJob is a leased job.
type QueuedJob struct {
	ID  string
	Job Job
	// Attempts counts the job's returns to the queue, for any reason
	// (logs and operators); the gap decision counts reported failures only.
	Attempts int
}

// FileResult is the Swarm reference of one file of a job.
type FileResult struct {
	Name      string
	Reference []byte
	Bytes     uint64
	Chunks    uint64
	// SHA256 is the file's content hash as the orchestrator computed it
	// from the bytes it dispatched, once it has checked the report against
	// them; zero when not known (the recorder then hashes the bytes).
	SHA256 [32]byte
}

// Results records what workers report: the stream keeper, into the
// archive's catalog.
type Results interface {
	// Archived records a job's references; it must be idempotent, since
	// a job re-dispatched after a timeout may be reported twice.
	Archived(ctx context.Context, job Job, files []FileResult) error
	// Failed records a job the workers could not archive after all
	// attempts; the stream keeps a gap.
	Failed(ctx context.Context, job Job, reason string) error
}

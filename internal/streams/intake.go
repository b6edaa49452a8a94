package streams

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
)

// Intake returns the Archiver the decorator submits to: each job is
// recorded in the index as pending, then spooled by next. Submit returns at
// once; the outcome is the spool's, or an error when the index refuses the
// job (a conflicting repeat, a segment of an ended stream). Recording first
// lets a teardown wait for every job still in the spool.
func (s *Streams) Intake(next archiver.Archiver) archiver.Archiver {
	return intake{s: s, next: next}
}

type intake struct {
	s    *Streams
	next archiver.Archiver
}

// Submit counts the job as on its way into the stream before it returns,
// so before the decorator's reply and before go-livepeer can end the
// session: a teardown waits for it (see teardown), and a segment accepted
// before End is never refused as arriving after it.
func (in intake) Submit(job archiver.Job) <-chan archiver.Outcome {
	out := make(chan archiver.Outcome, 1)
	if err := in.Check(job); err != nil {
		out <- archiver.Outcome{Err: fmt.Errorf("refused %q seq %d: %w", job.ManifestID, job.Seq, err)}
		return out
	}
	n := job.Bytes()
	if waiting := in.s.intakeBytes.Add(n); waiting > in.s.cfg.MaxIntakeBytes && waiting != n {
		in.s.intakeBytes.Add(-n)
		out <- archiver.Outcome{Err: fmt.Errorf("streams: %w: %d bytes of segments wait to be recorded (limit %d)",
			archiver.ErrSpoolFull, waiting-n, in.s.cfg.MaxIntakeBytes)}
		return out
	}
	if !in.s.enterIntake() {
		in.s.intakeBytes.Add(-n)
		out <- archiver.Outcome{Err: fmt.Errorf("refused %q seq %d: %w", job.ManifestID, job.Seq, ErrClosed)}
		return out
	}
	st := in.s.arriving(streamID(job))
	go func() {
		defer in.s.leaveIntake()
		defer in.s.intakeBytes.Add(-n)
		defer in.s.arrived(st)
		if err := in.s.record(context.Background(), job); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
				// The disk under the index is full: a refusal the
				// broadcaster understands (SPOOL_FULL, not charged).
				err = fmt.Errorf("%w: disk full: %w", archiver.ErrSpoolFull, err)
			}
			out <- archiver.Outcome{Err: fmt.Errorf("streams: index refused %s seq %d: %w", job.ManifestID, job.Seq, err)}
			return
		}
		job, ok := in.s.dropEmpty(job)
		if !ok {
			out <- archiver.Outcome{Err: fmt.Errorf("streams: %s seq %d: %w", job.ManifestID, job.Seq, archiver.ErrEmptySegment)}
			return
		}
		o := <-in.next.Submit(job)
		if o.Err != nil {
			in.s.unspooled(job, o.Err)
		}
		out <- o
	}()
	return out
}

// ErrClosed: the host is closing and takes no more segments.
var ErrClosed = errors.New("streams: closing")

// enterIntake counts a submit on its way to the spool, or reports false
// once StopIntake was called.
func (s *Streams) enterIntake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.intakes++
	return true
}

func (s *Streams) leaveIntake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intakes--
	if s.intakes == 0 {
		s.idle.Broadcast()
	}
}

// StopIntake refuses further submits and waits until every earlier one has
// its outcome: recorded and spooled, or refused. A host calls it before it
// stops the spool's writer, so a segment submitted just before the host
// closes is spooled rather than failed for finding the spool gone. It
// waits as long as those writes take.
func (s *Streams) StopIntake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for s.intakes > 0 {
		s.idle.Wait()
	}
}

// dropEmpty records a job's 0-byte files as gaps, which nothing could play,
// and returns the job without them. A job whose source is empty is a gap
// in every rendition and is not archived at all (false).
func (s *Streams) dropEmpty(job archiver.Job) (archiver.Job, bool) {
	id := streamID(job)
	gap := func(name string) {
		if err := s.ix.Fail(context.Background(), id, name, uint64(job.Seq), archiver.ErrEmptySegment.Error(), true); err != nil {
			s.log.Error("record empty segment", "stream", id.String(), "seq", job.Seq, "rendition", name, "error", err)
		}
		s.log.Warn("empty segment recorded as a gap", "stream", id.String(), "seq", job.Seq, "rendition", name)
	}
	if len(job.Source) == 0 {
		for _, f := range files(job) {
			gap(f.Name)
		}
		return job, false
	}
	kept := job.Renditions[:0:0]
	for _, r := range job.Renditions {
		if len(r.Data) == 0 {
			gap(r.Name)
			continue
		}
		kept = append(kept, r)
	}
	job.Renditions = kept
	return job, true
}

// unspooled marks a job the spool turned away: never acknowledged, never
// charged, so a gap rather than a pending segment.
func (s *Streams) unspooled(job archiver.Job, why error) {
	id := streamID(job)
	for _, f := range files(job) {
		if err := s.ix.Fail(context.Background(), id, f.Name, uint64(job.Seq), "not spooled: "+why.Error(), true); err != nil {
			s.log.Error("record unspooled segment", "stream", id.String(), "seq", job.Seq, "error", err)
		}
	}
}

// checkNames refuses, before anything is recorded, a job whose file names
// the index would refuse part way: the files recorded before the refusal
// would stay pending for good, and the stream could never finish.
// Rendition names are the broadcaster's profile names.
func checkNames(job archiver.Job) error {
	seen := make(map[string]bool)
	for _, f := range files(job) {
		if err := hls.ValidName(f.Name); err != nil {
			return fmt.Errorf("%w: %w", catalog.ErrInvalid, err)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: two files named %q", catalog.ErrInvalid, f.Name)
		}
		seen[f.Name] = true
	}
	return nil
}
